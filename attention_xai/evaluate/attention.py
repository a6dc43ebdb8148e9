"""Does an attention map say anything? Its dynamic range and its entropy.

A sigmoid gate that saturates (CBAM's spatial map of the committed quick model sat in
[0.92, 1.00]) weighs every position alike: its "map" is a picture of padding artefacts,
and correlating it with attribution maps measures nothing. These pure functions say when
a map is like that, so the report can flag it instead of quoting numbers.
"""

from __future__ import annotations

import numpy as np

from attention_xai.evaluate.statistics import shannon_entropy

RANGE_THRESHOLD = 0.1
"""A map whose relative dynamic range (max - min) / max is below this is "uninformative":
no position gets more than 10% more weight than the least-weighted one."""


def informativeness(maps) -> dict[str, np.ndarray]:
    """Per map (N, h, w) of non-negative weights:

    * dynamic_range: (max - min) / max, in [0, 1] (0 for an all-zero map);
    * entropy: Shannon entropy of the map normalised to sum 1, divided by log(h * w):
      1 for a uniform map, 0 for all weight on one position;
    * informative: dynamic_range >= RANGE_THRESHOLD.
    """
    maps = np.asarray(maps, dtype=np.float64).reshape(len(maps), -1)
    top, low = maps.max(axis=1), maps.min(axis=1)
    dynamic_range = np.where(top > 0, (top - low) / np.where(top > 0, top, 1.0), 0.0)
    entropy = shannon_entropy(maps) / np.log(maps.shape[1])
    return {"dynamic_range": dynamic_range, "entropy": entropy, "informative": dynamic_range >= RANGE_THRESHOLD}
