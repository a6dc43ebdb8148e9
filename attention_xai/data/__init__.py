"""MNIST loading, splits and batches."""

from attention_xai.data.batches import DigitBatches, EpochShuffle, Splits, split, to_model_input
from attention_xai.data.images import load_digit_images
from attention_xai.data.mnist import OFFICIAL_TEST_COUNTS, OFFICIAL_TRAIN_COUNTS, Mnist, load_mnist

__all__ = ["DigitBatches", "EpochShuffle", "Mnist", "OFFICIAL_TEST_COUNTS", "OFFICIAL_TRAIN_COUNTS", "Splits",
           "load_digit_images", "load_mnist", "split", "to_model_input"]
