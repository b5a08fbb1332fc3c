"""digitlib.set_seed: the same seed gives the same weights and the same training."""

from __future__ import annotations

import numpy as np
import pytest

import digitlib


def _train_a_little(seed):
    digitlib.set_seed(seed)
    x = np.random.default_rng(1).random((256, 28, 28, 1), dtype=np.float32)
    y = digitlib.data.one_hot(np.arange(256) % 10)
    model = digitlib.simple_convnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=True, verbose=0)
    return model.get_weights(), history.history["loss"][0]


def test_same_seed_same_training():
    weights_a, loss_a = _train_a_little(7)
    weights_b, loss_b = _train_a_little(7)
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_different_seed_different_initial_weights():
    digitlib.set_seed(1)
    first = digitlib.simple_convnet().get_weights()[0]
    digitlib.set_seed(2)
    second = digitlib.simple_convnet().get_weights()[0]
    assert not np.array_equal(first, second)


def test_seed_also_fixes_numpy_and_python_random():
    import random

    digitlib.set_seed(3)
    drawn = (np.random.rand(), random.random())
    digitlib.set_seed(3)
    assert (np.random.rand(), random.random()) == drawn


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        digitlib.set_seed(seed)
