"""One call that makes a chapter's randomness repeatable."""

from __future__ import annotations

import keras

from digitlib._checks import checked_int


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow (through Keras).

    On a CPU that is all it takes: the same code then gives the same weights, batches and
    results on every run on the same machine and library versions (the tests check it).
    TensorFlow's ``enable_op_determinism`` is deliberately not used: on a CPU it changes
    nothing for these models, and it makes TensorFlow log a spurious error line whenever
    Keras feeds NumPy arrays to a model. On a GPU some kernels are not deterministic, so
    runs there (as in Colab) can differ in the last digits.
    """
    seed = checked_int(seed, "seed", low=0, high=2**32 - 1)
    keras.utils.set_random_seed(seed)  # seeds Python's random, NumPy and TensorFlow
