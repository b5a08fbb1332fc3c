"""digitlib.models: the book's convnet has the published architecture."""

from __future__ import annotations

import numpy as np
import pytest

import digitlib


def test_simple_convnet_architecture_and_parameter_count():
    model = digitlib.simple_convnet()
    assert model.count_params() == 34_826
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense",
    ]
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18_496, 0, 0, 0, 16_010]
    assert model.input_shape == (None, 28, 28, 1)
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (1600,), (1600,), (10,),
    ]
    assert model.get_layer("dropout").rate == 0.5


def test_simple_convnet_outputs_probabilities():
    model = digitlib.simple_convnet()
    probabilities = model.predict(np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32), verbose=0)
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities >= 0).all()


def test_simple_convnet_other_shapes():
    model = digitlib.simple_convnet(input_shape=(32, 32, 3), num_classes=5)
    assert model.output_shape == (None, 5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (28, 28)}, "three positive ints"),
        ({"input_shape": (28, 0, 1)}, "three positive ints"),
        ({"input_shape": (28.0, 28, 1)}, "three positive ints"),
        ({"num_classes": 1}, "at least 2"),
        ({"num_classes": "10"}, "at least 2"),
    ],
)
def test_bad_arguments_are_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        digitlib.simple_convnet(**kwargs)


def test_feature_maps_are_the_layer_outputs():
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    maps = digitlib.feature_maps(model, images, "conv1")
    assert maps.shape == (3, 26, 26, 32)
    kernel, bias = model.get_layer("conv1").get_weights()
    by_hand = np.maximum(digitlib.operations.conv2d(images, kernel, bias), 0)  # relu
    np.testing.assert_allclose(maps, by_hand, rtol=1e-5, atol=1e-5)
    assert digitlib.feature_maps(model, images, "pool2").shape == (3, 5, 5, 64)


@pytest.mark.parametrize(
    "images, layer, message",
    [
        (np.zeros((1, 28, 28, 1)), "conv9", "no layer 'conv9'.*conv1"),
        (np.zeros((1, 28, 28)), "conv1", r"shape \(N, 28, 28, 1\)"),
    ],
)
def test_feature_maps_bad_input(images, layer, message):
    with pytest.raises(ValueError, match=message):
        digitlib.feature_maps(digitlib.simple_convnet(), images, layer)


@pytest.mark.parametrize("rate", [0.0, 0.25])
def test_simple_convnet_dropout_rate(rate):
    model = digitlib.simple_convnet(dropout=rate)
    assert model.get_layer("dropout").rate == rate
    assert model.count_params() == 34826  # dropout has no parameters


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5", True])
def test_simple_convnet_bad_dropout(rate):
    with pytest.raises(ValueError, match="dropout"):
        digitlib.simple_convnet(dropout=rate)


def test_build_model_by_name():
    assert digitlib.build_model("simple_convnet", dropout=0.25).get_layer("dropout").rate == 0.25
    assert set(digitlib.ARCHITECTURES) >= {"simple_convnet"}
    with pytest.raises(ValueError, match="unknown architecture 'lenet7'"):
        digitlib.build_model("lenet7")
    with pytest.raises(ValueError, match="bad options"):
        digitlib.build_model("simple_convnet", width=3)


# Parameter counts worked out by hand: a Conv2D has (kh * kw * c_in + 1) * filters, a Dense
# (inputs + 1) * units; pooling, flattening and dropout have none.
ARCHITECTURE_COUNTS = {
    "mlp": (28 * 28 + 1) * 128 + (128 + 1) * 10,  # 101,770
    "lenet5": (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (5 * 5 * 16 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10,
    "simple_convnet": (3 * 3 * 1 + 1) * 32 + (3 * 3 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 10,
    "three_block_convnet": (3 * 3 * 1 + 1) * 25 + (3 * 3 * 25 + 1) * 64 + (3 * 3 * 64 + 1) * 64
    + (1 * 1 * 64 + 1) * 64 + (64 + 1) * 10,
    "wide_head_convnet": (3 * 3 * 1 + 1) * 32 + (3 * 3 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 512 + (512 + 1) * 10,
    "big_5x5_convnet": (5 * 5 * 1 + 1) * 32 + (5 * 5 * 32 + 1) * 64 + (7 * 7 * 64 + 1) * 1024 + (1024 + 1) * 10,
}
# The feature maps each convnet hands to its dense layers: (height, width, channels).
LAST_MAPS = {
    "lenet5": (5, 5, 16),  # 28 same -> 14, 5x5 valid -> 10 -> 5
    "three_block_convnet": (1, 1, 64),  # 26 -> 13, 11 -> 5, 3 -> 1
    "wide_head_convnet": (5, 5, 64),
    "big_5x5_convnet": (7, 7, 64),  # same padding: 28 -> 14 -> 7
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_COUNTS))
def test_architecture_parameter_counts(name):
    model = digitlib.build_model(name)
    assert model.count_params() == ARCHITECTURE_COUNTS[name]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert model.layers[-1].name == "classifier"


@pytest.mark.parametrize("name", sorted(LAST_MAPS))
def test_architecture_feature_map_sizes(name):
    model = digitlib.build_model(name)
    assert tuple(model.get_layer("flatten").input.shape[1:]) == LAST_MAPS[name]


def test_architecture_counts_in_words():
    counts = {name: digitlib.build_model(name).count_params() for name in ARCHITECTURE_COUNTS}
    assert counts == {"mlp": 101_770, "lenet5": 61_706, "simple_convnet": 34_826, "three_block_convnet": 56_452,
                      "wide_head_convnet": 843_658, "big_5x5_convnet": 3_274_634}
    assert digitlib.build_model("mlp", hidden_units=512).count_params() == 407_050


@pytest.mark.parametrize("name, options", [("mlp", {"hidden_units": 0}), ("big_5x5_convnet", {"dropout": 1.0})])
def test_architecture_bad_options(name, options):
    with pytest.raises(ValueError):
        digitlib.build_model(name, **options)
