"""digitlib.DrawingPad: the book's model, its weights and the preparation's constants written into
one self-contained piece of HTML. The page itself is tried in a browser in test_browser.py."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
from keras import layers

import digitlib
from digitlib import own_digits
from digitlib.drawing_pad import TFJS, DrawingPad, model_spec, weights_from_spec


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    return digitlib.simple_convnet()


def test_the_weights_travel_exactly(model):
    decoded = weights_from_spec(model_spec(model))
    weighted = [layer for layer in model.layers if layer.weights]
    assert list(decoded) == ["conv1", "conv2", "classifier"]
    for arrays, layer in zip(decoded.values(), weighted):
        np.testing.assert_array_equal(arrays["kernel"], keras.ops.convert_to_numpy(layer.kernel))
        np.testing.assert_array_equal(arrays["bias"], keras.ops.convert_to_numpy(layer.bias))


def test_the_page_uses_prepare_digits_constants(model):
    constants = model_spec(model)["constants"]
    assert (constants["frame"], constants["box"], tuple(constants["centre"])) == (
        own_digits.FRAME,
        own_digits.BOX,
        own_digits.CENTRE,
    )
    assert constants["ink_threshold"] == own_digits.INK_THRESHOLD
    assert constants["min_contrast"] == own_digits.MIN_CONTRAST
    assert constants["luminance"] == own_digits.LUMINANCE.tolist()
    assert (constants["max_ink_share"], constants["frame_side_share"], constants["frame_min_side"]) == (
        own_digits.MAX_INK_SHARE,
        own_digits.FRAME_SIDE_SHARE,
        own_digits.FRAME_MIN_SIDE,
    )


def test_the_html_is_whole_and_its_scripts_stay_closed(model):
    page = DrawingPad(model)._repr_html_()
    for hook in ('id="pad"', 'id="clear"', 'id="prediction"', 'data-digit=""', 'id="read-my-digit-model"'):
        assert page.count(hook) == 1, hook
    assert page.count("<script") == page.count("</script>") == 2 + len(TFJS)
    spec = re.search(r'id="read-my-digit-model">(.*?)</script>', page, re.S).group(1)
    assert json.loads(spec)["weights"]["conv1"]["kernel"]["shape"] == [3, 3, 1, 32]


def _conv_variant(**conv2):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, **{"activation": "relu", **conv2}),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="variant",
    )


@pytest.mark.parametrize(
    "other, problem",
    [
        (lambda: digitlib.build_model("lenet5"), "its layers are"),
        (lambda: _conv_variant(padding="same"), "padding='same'"),
        (lambda: _conv_variant(activation="tanh"), "activation='tanh'"),
        (lambda: digitlib.simple_convnet(input_shape=(32, 32, 1)), "inputs of shape"),
    ],
    ids=["another network", "another padding", "another activation", "another input size"],
)
def test_a_model_laid_out_otherwise_is_refused_by_name(other, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        DrawingPad(other())


def test_what_is_not_a_keras_model_is_refused():
    with pytest.raises(ValueError, match="must be a Keras model"):
        DrawingPad("simple_convnet")
