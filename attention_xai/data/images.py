"""A user's own digit images (PNG, JPG, ... of any size) turned into MNIST-like digits.

The rules, those MNIST itself was made with where they apply:
1. read the file and convert it to 8-bit grayscale;
2. if the background is light (mean above 127), invert, so the digit is white on black;
3. crop to the box of pixels brighter than 10% of the maximum (an empty image is refused);
4. scale that box so its longer side is 20 pixels, keeping the aspect ratio;
5. paste it into a black 28x28 canvas so that its centre of mass is at the centre;
6. divide by 255: float32 in [0, 1], shape (28, 28, 1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from attention_xai.errors import DataError, first_line

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def to_mnist_digit(gray: np.ndarray) -> np.ndarray:
    """A 2-D uint8 grayscale image -> (28, 28, 1) float32 digit in [0, 1] (rules 2-6)."""
    from PIL import Image

    gray = np.asarray(gray, dtype=np.float32)
    if gray.mean() > 127:
        gray = 255.0 - gray
    if gray.max() <= 0:
        raise ValueError("the image is empty (one flat colour)")
    rows, cols = np.nonzero(gray > 0.1 * gray.max())
    box = gray[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    small = np.asarray(Image.fromarray(box.astype(np.uint8)).resize(size, Image.LANCZOS), dtype=np.float32)
    canvas = np.zeros((28, 28), np.float32)
    total = small.sum()
    cy = (small.sum(axis=1) * np.arange(small.shape[0])).sum() / total
    cx = (small.sum(axis=0) * np.arange(small.shape[1])).sum() / total
    top = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
    return (np.clip(canvas, 0, 255) / 255.0)[..., None]


def load_digit_images(folder: str | Path) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
    """Every image file in `folder` as an MNIST-like digit, sorted by name.

    Returns:
        (digits (N, 28, 28, 1) float32, file names, [(file name, reason)] of skipped files).

    Raises:
        DataError: the folder does not exist or holds no readable image.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    digits, names, skipped = [], [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            with Image.open(path) as image:
                digits.append(to_mnist_digit(np.asarray(image.convert("L"))))
            names.append(path.name)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            skipped.append((path.name, first_line(exc)))
            log.warning("skipping %s: %s", path.name, first_line(exc))
    if not digits:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or f"no files ending in {', '.join(IMAGE_SUFFIXES)}"
        raise DataError(f"no readable digit image in {folder} ({reasons})")
    return np.stack(digits).astype(np.float32), names, skipped
