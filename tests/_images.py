"""Reference-image comparison for the 3-D view tests (committed PNGs, tolerant of GL noise)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from _requirements import in_ci
from PIL import Image


def compare_with_reference(img: np.ndarray, ref_path: Path, *, max_share: float = 0.03) -> float:
    """Compare ``img`` with the committed reference; return the share of pixels that differ.

    A missing reference (or FACTORY_TWIN_RESET_IMAGES) writes it and skips outside CI; under
    CI the reference must be committed, so that fails.
    """
    img = np.ascontiguousarray(img[..., :3])
    reset = os.environ.get("FACTORY_TWIN_RESET_IMAGES")
    if reset or not ref_path.exists():
        if in_ci():  # CI compares with the committed image; it never writes one
            why = "FACTORY_TWIN_RESET_IMAGES is set" if reset else f"{ref_path} is missing"
            pytest.fail(f"reference image: {why} (under CI the reference must be committed)")
        Image.fromarray(img).save(ref_path)
        pytest.skip(f"wrote reference image {ref_path}")
    ref = np.asarray(Image.open(ref_path).convert("RGB")).astype(int)
    assert ref.shape == img.shape, (ref.shape, img.shape)
    diff = np.abs(ref - img.astype(int)).sum(-1)
    share = float((diff > 60).mean())
    assert share < max_share, f"{ref_path.name}: {share:.3%} of pixels differ"
    return share
