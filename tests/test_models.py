"""digitlib.models: the book's convnet has the published architecture."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import digitlib


def test_simple_convnet_architecture_and_parameter_count():
    model = digitlib.simple_convnet()
    assert model.count_params() == 34_826
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18_496, 0, 0, 0, 16_010]
    assert model.input_shape == (None, 28, 28, 1)
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        (26, 26, 32),
        (13, 13, 32),
        (11, 11, 64),
        (5, 5, 64),
        (1600,),
        (1600,),
        (10,),
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
    "three_block_convnet": (3 * 3 * 1 + 1) * 25
    + (3 * 3 * 25 + 1) * 64
    + (3 * 3 * 64 + 1) * 64
    + (1 * 1 * 64 + 1) * 64
    + (64 + 1) * 10,
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


def test_the_perceptrons_width_sets_its_count():
    assert digitlib.build_model("mlp", hidden_units=512).count_params() == (784 + 1) * 512 + (512 + 1) * 10


@pytest.mark.parametrize("name, options", [("mlp", {"hidden_units": 0}), ("big_5x5_convnet", {"dropout": 1.0})])
def test_architecture_bad_options(name, options):
    with pytest.raises(ValueError):
        digitlib.build_model(name, **options)


# Multiply-adds worked out by hand: a convolution does out_h * out_w * kh * kw * c_in * filters,
# a dense layer inputs * units.
MULTIPLY_ADDS = {
    "mlp": 784 * 128 + 128 * 10,  # 101,632
    "simple_convnet": 26 * 26 * 9 * 1 * 32 + 11 * 11 * 9 * 32 * 64 + 1600 * 10,  # 2,440,960
    "lenet5": 28 * 28 * 25 * 1 * 6 + 10 * 10 * 25 * 6 * 16 + 400 * 120 + 120 * 84 + 84 * 10,  # 416,520
    "big_5x5_convnet": 28 * 28 * 25 * 1 * 32 + 14 * 14 * 25 * 32 * 64 + 3136 * 1024 + 1024 * 10,
}


@pytest.mark.parametrize("name", sorted(MULTIPLY_ADDS))
def test_multiply_adds_count_the_convolutions_and_dense_layers(name):
    assert digitlib.multiply_adds(digitlib.build_model(name)) == MULTIPLY_ADDS[name]


def test_multiply_adds_look_inside_nested_models_and_skip_augmentation():
    plain = digitlib.modern_convnet(batch_norm=False, augment=False)
    assert digitlib.multiply_adds(plain) == MULTIPLY_ADDS["simple_convnet"]
    augmented = digitlib.modern_convnet(batch_norm=True, augment=True, dense_units=512)
    assert digitlib.multiply_adds(augmented) == MULTIPLY_ADDS["simple_convnet"] - 1600 * 10 + 1600 * 512 + 512 * 10
    wrapped = keras.Sequential([keras.Input((28, 28, 1)), digitlib.simple_convnet()])
    assert digitlib.multiply_adds(wrapped) == MULTIPLY_ADDS["simple_convnet"]


def test_multiply_adds_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match="must be a Keras model"):
        digitlib.multiply_adds("simple_convnet")


# modern_convnet: a Conv2D without bias has kh * kw * c_in * filters parameters, batch
# normalization 4 per channel (gamma, beta and the two running statistics).
BN_DEFAULT = 3 * 3 * 1 * 32 + 4 * 32 + 3 * 3 * 32 * 64 + 4 * 64 + (5 * 5 * 64 + 1) * 10  # 35,114
BN_THREE_BLOCKS = 3 * 3 * 1 * 32 + 4 * 32 + 3 * 3 * 32 * 64 + 4 * 64 + 3 * 3 * 64 * 128 + 4 * 128 + (128 + 1) * 10
BN_DENSE_128 = BN_DEFAULT - (1600 + 1) * 10 + 1600 * 128 + 4 * 128 + (128 + 1) * 10


@pytest.mark.parametrize(
    "options, count",
    [
        ({}, BN_DEFAULT),
        ({"filters": [32, 64, 128]}, BN_THREE_BLOCKS),
        ({"dense_units": 128}, BN_DENSE_128),
        ({"augment": False}, BN_DEFAULT),
        ({"batch_norm": False, "augment": False}, 34_826),
    ],
)
def test_modern_convnet_parameter_counts(options, count):
    assert digitlib.modern_convnet(**options).count_params() == count


def test_modern_convnet_without_its_additions_is_the_book_model():
    plain = digitlib.modern_convnet(batch_norm=False, augment=False)
    book = digitlib.simple_convnet()
    assert [type(layer).__name__ for layer in plain.layers] == [
        "Conv2D",
        "ReLU",
        "MaxPooling2D",
        "Conv2D",
        "ReLU",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    shapes = [tuple(layer.output.shape[1:]) for layer in plain.layers if not isinstance(layer, keras.layers.ReLU)]
    assert shapes == [tuple(layer.output.shape[1:]) for layer in book.layers]
    digitlib.set_seed(0)
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    plain.set_weights(book.get_weights())
    np.testing.assert_allclose(plain.predict(images, verbose=0), book.predict(images, verbose=0), rtol=1e-5)


def test_modern_convnet_layers_for_three_blocks():
    model = digitlib.modern_convnet(filters=[32, 64, 128], augment=True)
    assert model.layers[0].name == "augmentation"
    pools = [tuple(layer.output.shape[1:]) for layer in model.layers if layer.name.endswith("_pool")]
    assert pools == [(13, 13, 32), (5, 5, 64), (1, 1, 128)]  # 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1
    assert all(not layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert "augmentation" not in [layer.name for layer in digitlib.modern_convnet(augment=False).layers]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"filters": []}, "filters"),
        ({"filters": [32, "64"]}, "filters"),
        ({"filters": [32, -1]}, "filters"),
        ({"filters": [True]}, "filters"),
        ({"filters": 32}, "filters"),
        ({"batch_norm": 1}, "batch_norm"),
        ({"augment": "yes"}, "augment"),
        ({"dense_units": -1}, "dense_units"),
        ({"dense_units": True}, "dense_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"filters": [8, 8, 8, 8]}, "shrink"),
    ],
)
def test_modern_convnet_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        digitlib.modern_convnet(**options)


def test_modern_convnet_through_build_model_and_recipe():
    assert digitlib.build_model("modern_convnet", filters=[32, 64, 128]).count_params() == BN_THREE_BLOCKS
    with pytest.raises(ValueError, match="bad model_options"):
        digitlib.Recipe(model="modern_convnet", model_options={"filters": [32, 64], "bogus": 1})


def test_augmentation_settings_reach_the_keras_layers():
    layers = digitlib.augmentation(rotation=18, shift=0.2, zoom=0.05).layers
    assert [type(layer).__name__ for layer in layers] == ["RandomRotation", "RandomTranslation", "RandomZoom"]
    rotate, shift, zoom = (layer.get_config() for layer in layers)
    assert rotate["factor"] in (0.05, (-0.05, 0.05), [-0.05, 0.05])  # 18 degrees of 360
    assert shift["height_factor"] == shift["width_factor"] == 0.2
    assert zoom["height_factor"] == 0.05
    assert {c["interpolation"] for c in (rotate, shift, zoom)} == {"nearest"}
    assert {c["fill_mode"] for c in (rotate, shift, zoom)} == {"constant"}


def test_augmentation_changes_images_in_training_only(mnist):
    (x_train, _), _ = mnist
    images = digitlib.scale_images(x_train[:16])[..., None]
    digitlib.set_seed(0)
    augment = digitlib.augmentation()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augment(images, training=False)), images)
    changed = keras.ops.convert_to_numpy(augment(images, training=True))
    assert changed.shape == images.shape and not np.array_equal(changed, images)
    assert changed.min() >= 0 and changed.max() <= 1
    # nearest-neighbour resampling only copies pixels: no new grey levels appear
    assert set(np.unique(changed)) <= set(np.unique(images))
    still = digitlib.augmentation(rotation=0, shift=0, zoom=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(still(images, training=True)), images, atol=1e-6)


def test_bilinear_augmentation_blurs_the_strokes(mnist):
    (x_train, _), _ = mnist
    images = digitlib.scale_images(x_train[:500])[..., None]
    digitlib.set_seed(0)
    bright = {
        name: float(
            (keras.ops.convert_to_numpy(digitlib.augmentation(interpolation=name)(images, training=True)) > 0.9).mean()
        )
        for name in ("nearest", "bilinear")
    }
    original = float((images > 0.9).mean())
    assert abs(bright["nearest"] - original) < 0.1 * original
    assert bright["bilinear"] < 0.6 * original


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rotation": 180}, "rotation"),
        ({"rotation": -1}, "rotation"),
        ({"rotation": True}, "rotation"),
        ({"shift": 1.0}, "shift"),
        ({"zoom": "0.1"}, "zoom"),
        ({"interpolation": "bicubic"}, "interpolation"),
    ],
)
def test_augmentation_bad_settings(options, message):
    with pytest.raises(ValueError, match=message):
        digitlib.augmentation(**options)


# The default modern_convnet layer by layer, counted by hand: a convolution whose block has batch
# normalization has no bias (3 * 3 * c_in * filters), batch normalization 4 per channel; it
# normalises the pooled maps.
MODERN_DEFAULT_LAYERS = [
    ("augmentation", "Sequential", (28, 28, 1), 0),  # random rotation, shift and zoom: no weights
    ("block1_conv", "Conv2D", (26, 26, 32), 3 * 3 * 1 * 32),  # 288
    ("block1_pool", "MaxPooling2D", (13, 13, 32), 0),
    ("block1_bn", "BatchNormalization", (13, 13, 32), 4 * 32),  # 128
    ("block1_relu", "ReLU", (13, 13, 32), 0),
    ("block2_conv", "Conv2D", (11, 11, 64), 3 * 3 * 32 * 64),  # 18,432
    ("block2_pool", "MaxPooling2D", (5, 5, 64), 0),
    ("block2_bn", "BatchNormalization", (5, 5, 64), 4 * 64),  # 256
    ("block2_relu", "ReLU", (5, 5, 64), 0),
    ("flatten", "Flatten", (1600,), 0),
    ("dropout", "Dropout", (1600,), 0),
    ("classifier", "Dense", (10,), (1600 + 1) * 10),  # 16,010
]
# Three blocks and a 128-unit dense layer, without augmentation: 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1.
MODERN_THREE_BLOCKS_DENSE_LAYERS = [
    ("block1_conv", "Conv2D", (26, 26, 32), 288),
    ("block1_pool", "MaxPooling2D", (13, 13, 32), 0),
    ("block1_bn", "BatchNormalization", (13, 13, 32), 128),
    ("block1_relu", "ReLU", (13, 13, 32), 0),
    ("block2_conv", "Conv2D", (11, 11, 64), 18_432),
    ("block2_pool", "MaxPooling2D", (5, 5, 64), 0),
    ("block2_bn", "BatchNormalization", (5, 5, 64), 256),
    ("block2_relu", "ReLU", (5, 5, 64), 0),
    ("block3_conv", "Conv2D", (3, 3, 128), 3 * 3 * 64 * 128),  # 73,728
    ("block3_pool", "MaxPooling2D", (1, 1, 128), 0),
    ("block3_bn", "BatchNormalization", (1, 1, 128), 4 * 128),  # 512
    ("block3_relu", "ReLU", (1, 1, 128), 0),
    ("flatten", "Flatten", (128,), 0),
    ("dense", "Dense", (128,), 128 * 128),  # no bias: batch normalization follows
    ("dense_bn", "BatchNormalization", (128,), 4 * 128),
    ("dense_relu", "ReLU", (128,), 0),
    ("dropout", "Dropout", (128,), 0),
    ("classifier", "Dense", (10,), (128 + 1) * 10),  # 1,290
]


def _layer_table(model):
    return [
        (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
    ]


@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, MODERN_DEFAULT_LAYERS),
        ({"filters": (32, 64, 128), "dense_units": 128, "augment": False}, MODERN_THREE_BLOCKS_DENSE_LAYERS),
    ],
)
def test_modern_convnet_layer_by_layer(options, expected):
    model = digitlib.modern_convnet(**options)
    assert _layer_table(model) == expected
    assert model.count_params() == sum(count for *_, count in expected)
    assert model.input_shape == (None, 28, 28, 1)
    weighted = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert [layer.use_bias for layer in weighted] == [False] * (len(weighted) - 1) + [True]  # only the classifier


# More counts by hand. Without batch normalization the convolutions and the dense layer keep their bias.
@pytest.mark.parametrize(
    "options, count",
    [
        ({"batch_norm": False}, 34_826),  # the augmentation adds no parameters
        (
            {"batch_norm": False, "augment": False, "dense_units": 128},
            (9 + 1) * 32 + (288 + 1) * 64 + (1600 + 1) * 128 + (128 + 1) * 10,
        ),  # 225,034
        ({"filters": [16]}, 9 * 16 + 4 * 16 + (13 * 13 * 16 + 1) * 10),  # 28 -> 26 -> 13: 27,258
        ({"input_shape": (20, 20, 1), "filters": [8, 8]}, 72 + 32 + 576 + 32 + (3 * 3 * 8 + 1) * 10),  # 20->9->3
        (
            {"input_shape": (32, 32, 3), "num_classes": 5},
            3 * 3 * 3 * 32 + 4 * 32 + 18_432 + 256 + (6 * 6 * 64 + 1) * 5,
        ),  # 32 -> 15 -> 6: 31,205
    ],
)
def test_modern_convnet_counts_without_batch_norm_and_for_other_inputs(options, count):
    assert digitlib.modern_convnet(**options).count_params() == count


def test_modern_convnet_augmentation_comes_first_only_when_asked():
    names = [layer.name for layer in digitlib.modern_convnet().layers]
    assert names[0] == "augmentation" and names.count("augmentation") == 1
    for options in ({"augment": False}, {"augment": False, "batch_norm": False}, {"augment": False, "filters": [8]}):
        model = digitlib.modern_convnet(**options)
        assert model.layers[0].name == "block1_conv"
        assert not any(isinstance(layer, keras.Model) for layer in model.layers)


def test_modern_convnet_augmentation_uses_the_default_settings():
    rotate, shift, zoom = (layer.get_config() for layer in digitlib.modern_convnet().layers[0].layers)
    factor = rotate["factor"]
    assert np.abs(np.atleast_1d(factor)).tolist() == pytest.approx([10 / 360] * np.size(factor))
    assert (shift["height_factor"], shift["width_factor"]) == (0.1, 0.1)
    assert zoom["height_factor"] == 0.1 and zoom["width_factor"] is None  # None: keep the aspect ratio


@pytest.mark.parametrize("rotation, shift, zoom", [(10.0, 0.1, 0.1), (45, 0.25, 0.5), (0, 0, 0)])
def test_augmentation_layer_factors(rotation, shift, zoom):
    rotate, translate, scale = (layer.get_config() for layer in digitlib.augmentation(rotation, shift, zoom).layers)
    assert np.abs(np.atleast_1d(rotate["factor"])).max() == pytest.approx(rotation / 360)
    assert translate["height_factor"] == translate["width_factor"] == shift
    assert scale["height_factor"] == zoom


def test_modern_convnet_with_augmentation_predicts_as_without_it():
    digitlib.set_seed(0)
    augmented = digitlib.modern_convnet(filters=[8, 16])
    plain = digitlib.modern_convnet(filters=[8, 16], augment=False)
    plain.set_weights(augmented.get_weights())
    images = np.random.default_rng(1).random((5, 28, 28, 1), dtype=np.float32)
    aug = augmented.get_layer("augmentation")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(images, training=False)), images)
    np.testing.assert_array_equal(augmented.predict(images, verbose=0), plain.predict(images, verbose=0))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(augmented(images, training=False)),
        keras.ops.convert_to_numpy(plain(images, training=False)),
    )
    # and twice the same: nothing random at inference
    np.testing.assert_array_equal(augmented.predict(images, verbose=0), augmented.predict(images, verbose=0))


def test_augmentation_in_training_mode_fills_with_background():
    digitlib.set_seed(0)
    white = np.ones((32, 28, 28, 1), dtype=np.float32)
    moved = keras.ops.convert_to_numpy(digitlib.modern_convnet().layers[0](white, training=True))
    assert moved.shape == white.shape
    assert set(np.unique(moved)) <= {0.0, 1.0}  # nearest resampling copies pixels; new space is 0
    assert 0.5 < moved.mean() < 1.0
    assert sum(not np.array_equal(image, white[0]) for image in moved) >= 16  # most images change
    grey = np.random.default_rng(2).random((8, 28, 28, 1), dtype=np.float32)
    moved = keras.ops.convert_to_numpy(digitlib.augmentation()(grey, training=True))
    assert moved.min() >= 0 and moved.max() <= 1 and not np.array_equal(moved, grey)
    still = keras.ops.convert_to_numpy(digitlib.augmentation(0, 0, 0)(grey, training=True))
    np.testing.assert_allclose(still, grey, atol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"filters": None}, "filters must be a non-empty list of positive ints"),
        ({"filters": (32, 0)}, "filters"),
        ({"filters": [32, 64.0]}, "filters"),
        ({"filters": [32, False]}, "filters"),
        ({"batch_norm": None}, "batch_norm must be True or False"),
        ({"augment": 0}, "augment must be True or False"),
        ({"dense_units": 1.5}, "dense_units must be an int of at least 0"),
        ({"dropout": True}, r"dropout must be a number in \[0, 1\)"),
        ({"dropout": "0.5"}, "dropout"),
        ({"num_classes": 1}, "at least 2"),
        ({"input_shape": (28, 28)}, "three positive ints"),
        ({"input_shape": (21, 21, 1), "filters": [8, 8, 8]}, "3 blocks shrink a 21x21"),  # 21 -> 9 -> 3 -> 0
        ({"input_shape": (40, 20, 1), "filters": [8, 8, 8]}, "3 blocks shrink a 40x20"),  # the smaller side counts
    ],
)
def test_modern_convnet_bad_types_and_inputs_too_small_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        digitlib.modern_convnet(**options)


@pytest.mark.parametrize(
    "input_shape, filters, last",
    [((28, 28, 1), [8, 8, 8], (1, 1, 8)), ((22, 22, 1), [4, 4, 4], (1, 1, 4)), ((4, 4, 1), [2], (1, 1, 2))],
)
def test_modern_convnet_as_many_blocks_as_the_input_allows(input_shape, filters, last):
    # 22 -> 20 -> 10 -> 8 -> 4 -> 2 -> 1; 4 -> 2 -> 1
    model = digitlib.modern_convnet(input_shape=input_shape, filters=filters, augment=False)
    assert tuple(model.get_layer("flatten").input.shape[1:]) == last


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rotation": 180.0}, r"rotation must be a number in \[0, 180\), got 180.0"),
        ({"rotation": -0.5}, "rotation"),
        ({"rotation": False}, "rotation"),
        ({"rotation": "10"}, "rotation"),
        ({"shift": 1}, r"shift must be a number in \[0, 1\)"),
        ({"shift": -0.1}, "shift"),
        ({"zoom": None}, "zoom"),
        ({"zoom": 1.5}, "zoom"),
    ],
)
def test_augmentation_limits_are_named_in_the_message(options, message):
    with pytest.raises(ValueError, match=message):
        digitlib.augmentation(**options)


def test_augmentation_takes_settings_just_inside_the_limits():
    layers = digitlib.augmentation(rotation=179.9, shift=0.99, zoom=0.99).layers
    assert layers[1].get_config()["height_factor"] == 0.99 and layers[2].get_config()["height_factor"] == 0.99


def test_modern_convnet_is_a_named_architecture():
    assert digitlib.ARCHITECTURES["modern_convnet"] is digitlib.modern_convnet
    model = digitlib.build_model("modern_convnet", filters=[32, 64, 128])
    assert model.name == "modern_convnet" and model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers if layer.name.endswith("_conv")] == [
        "block1_conv",
        "block2_conv",
        "block3_conv",
    ]
    with pytest.raises(ValueError, match="bad options for architecture 'modern_convnet'"):
        digitlib.build_model("modern_convnet", bogus=1)
    with pytest.raises(ValueError, match="filters"):
        digitlib.build_model("modern_convnet", filters=[])
    recipe = digitlib.Recipe(model="modern_convnet", model_options={"filters": [32, 64], "dense_units": 128})
    assert recipe.model_options == {"filters": [32, 64], "dense_units": 128}
    with pytest.raises(ValueError, match="bad model_options for 'modern_convnet'.*bogus"):
        digitlib.Recipe(model="modern_convnet", model_options={"filters": [32, 64], "bogus": 1})


def test_modern_convnet_normalising_after_the_pooling_is_the_same_block_at_inference():
    """With a positive scale, batch normalization (at inference: a fixed per-channel affine
    map) and ReLU commute with max pooling, so Conv -> pool -> BN -> ReLU computes what
    Conv -> BN -> ReLU -> pool would with the same weights."""
    model = digitlib.modern_convnet(augment=False, dense_units=16)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, gamma.shape),
                    rng.normal(size=beta.shape),
                    rng.normal(size=mean.shape),
                    rng.uniform(0.5, 2, variance.shape),
                ]
            )
    by_name = {layer.name: layer for layer in model.layers}
    reordered = []
    for layer in model.layers:
        if layer.name.endswith("_pool"):
            continue  # moved behind the block's ReLU
        reordered.append(layer.__class__.from_config(layer.get_config()))
        if layer.name.startswith("block") and layer.name.endswith("_relu"):
            pool = by_name[layer.name.replace("_relu", "_pool")]
            reordered.append(pool.__class__.from_config(pool.get_config()))
    reference = keras.Sequential([keras.Input((28, 28, 1)), *reordered])
    assert [layer.name for layer in reference.layers][:4] == ["block1_conv", "block1_bn", "block1_relu", "block1_pool"]
    reference.set_weights(model.get_weights())
    images = rng.random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(
        reference.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )
