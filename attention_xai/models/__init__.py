"""Classifier building blocks: backbones, attention modules, preprocessing layers."""

from attention_xai.models.attention import (ATTENTION, ATTENTION_CHOICES, AttentionBlock, Cbam, GlobalContext,
                                            PositionAttention, SqueezeExcitation)
from attention_xai.models.augmentation import DigitAugmentation
from attention_xai.models.backbones import SMALL_CNN, available_backbones, resolve_backbone
from attention_xai.models.classifier import (attention_layers, attention_maps, backbone_layers, build_classifier,
                                              build_prepared_classifier,
                                              check_classifier, check_model_config, count_params, load_classifier,
                                              set_trainable)
from attention_xai.models.preprocessing import BackboneNormalization, DigitResize, GrayscaleToRGB

__all__ = [
    "ATTENTION", "ATTENTION_CHOICES", "AttentionBlock", "BackboneNormalization", "Cbam", "DigitAugmentation",
    "DigitResize", "GlobalContext", "GrayscaleToRGB", "PositionAttention", "SMALL_CNN", "SqueezeExcitation",
    "attention_layers", "attention_maps", "available_backbones", "backbone_layers", "build_classifier",
    "build_prepared_classifier", "check_classifier", "check_model_config", "count_params", "load_classifier",
    "resolve_backbone", "set_trainable",
]
