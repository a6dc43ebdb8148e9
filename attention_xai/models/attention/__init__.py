"""Attention modules as Keras layers: SE, CBAM, PAM (DANet position attention), GC."""

# Imported in the order of the papers, which is the order the registry lists them in.
from attention_xai.models.attention.base import ATTENTION, AttentionBlock  # noqa: I001
from attention_xai.models.attention.se import SqueezeExcitation
from attention_xai.models.attention.cbam import Cbam
from attention_xai.models.attention.pam import PositionAttention
from attention_xai.models.attention.gc import GlobalContext

ATTENTION_CHOICES = ["none", *ATTENTION.names()]
"""Every valid `ModelConfig.attention` value."""

__all__ = ["ATTENTION", "ATTENTION_CHOICES", "AttentionBlock", "Cbam", "GlobalContext", "PositionAttention",
           "SqueezeExcitation"]
