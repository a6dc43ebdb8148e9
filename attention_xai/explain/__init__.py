"""Explanations: attribution maps behind one interface and one registry."""

from attention_xai.explain import attribution  # noqa: F401  (fills ATTRIBUTIONS)
from attention_xai.explain.base import (ATTRIBUTIONS, Attribution, Explanation, Passes, check_images, check_targets,
                                        normalize_maps)

__all__ = ["ATTRIBUTIONS", "Attribution", "Explanation", "Passes", "check_images", "check_targets", "normalize_maps"]
