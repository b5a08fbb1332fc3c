"""One call that makes a chapter's randomness repeatable."""

from __future__ import annotations

import keras

from digitlib._tensorflow import enable_op_determinism


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic.

    After this call, the same code gives the same weights, batches and results on
    every run on the same machine and library versions.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in 0..2**32-1, got {seed!r}")
    enable_op_determinism()
    keras.utils.set_random_seed(seed)  # seeds Python's random, NumPy and TensorFlow
