"""The book's models, built with Keras 3's functional inputs."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def _check_shape(input_shape, num_classes):
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be three positive ints (height, width, channels), got {input_shape!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int of at least 2, got {num_classes!r}")
    return shape


def simple_convnet(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.5) -> keras.Model:
    """The book's model: François Chollet's simple MNIST convnet (34,826 parameters).

    Conv2D(32, 3x3, relu) -> MaxPooling(2) -> Conv2D(64, 3x3, relu) -> MaxPooling(2)
    -> Flatten -> Dropout(``dropout``) -> Dense(num_classes, softmax). Uncompiled.
    """
    shape = _check_shape(input_shape, num_classes)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv1"),
            layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv2"),
            layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(dropout, name="dropout"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="simple_convnet",
    )


def _conv_pool(filters: int, kernel: int, name: str, padding: str = "valid") -> list:
    """A ReLU convolution and a 2 × 2 max pooling, the block the convnets below repeat."""
    return [
        layers.Conv2D(filters, kernel_size=kernel, padding=padding, activation="relu", name=f"{name}_conv"),
        layers.MaxPooling2D(pool_size=2, name=f"{name}_pool"),
    ]


def _sequential(name: str, input_shape, num_classes: int, body: list) -> keras.Model:
    shape = _check_shape(input_shape, num_classes)
    head = layers.Dense(num_classes, activation="softmax", name="classifier")
    return keras.Sequential([keras.Input(shape=shape), *body, head], name=name)


def mlp(input_shape=(28, 28, 1), num_classes: int = 10, hidden_units: int = 128) -> keras.Model:
    """A multilayer perceptron on the raw pixels: Flatten -> Dense(hidden_units, relu) ->
    Dense(num_classes, softmax); the usual baseline for convnets (101,770 parameters)."""
    if isinstance(hidden_units, bool) or not isinstance(hidden_units, int) or hidden_units < 1:
        raise ValueError(f"hidden_units must be a positive int, got {hidden_units!r}")
    body = [layers.Flatten(name="flatten"), layers.Dense(hidden_units, activation="relu", name="hidden")]
    return _sequential("mlp", input_shape, num_classes, body)


def lenet5(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """LeNet-5 in today's style (ReLU and max pooling instead of tanh and subsampling):
    Conv 6@5x5 ``same`` + pool, Conv 16@5x5 + pool, Dense 120, Dense 84 (61,706 parameters)."""
    body = [
        *_conv_pool(6, 5, "block1", padding="same"),
        *_conv_pool(16, 5, "block2"),
        layers.Flatten(name="flatten"),
        layers.Dense(120, activation="relu", name="dense1"),
        layers.Dense(84, activation="relu", name="dense2"),
    ]
    return _sequential("lenet5", input_shape, num_classes, body)


def three_block_convnet(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Three convolution blocks: Conv 25@3x3, 64@3x3, 64@3x3, each with 2 × 2 pooling,
    then Dense 64 (56,452 parameters)."""
    body = [
        *_conv_pool(25, 3, "block1"),
        *_conv_pool(64, 3, "block2"),
        *_conv_pool(64, 3, "block3"),
        layers.Flatten(name="flatten"),
        layers.Dense(64, activation="relu", name="dense"),
    ]
    return _sequential("three_block_convnet", input_shape, num_classes, body)


def wide_head_convnet(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """The book's two convolution blocks with a wide dense head and no dropout:
    Conv 32@3x3 + pool, Conv 64@3x3 + pool, Dense 512 (843,658 parameters)."""
    body = [
        *_conv_pool(32, 3, "block1"),
        *_conv_pool(64, 3, "block2"),
        layers.Flatten(name="flatten"),
        layers.Dense(512, activation="relu", name="dense"),
    ]
    return _sequential("wide_head_convnet", input_shape, num_classes, body)


def big_5x5_convnet(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.5) -> keras.Model:
    """Large 5 × 5 filters with ``same`` padding and a big dense layer, as in TensorFlow's
    early "Deep MNIST" tutorial: Conv 32@5x5 + pool, Conv 64@5x5 + pool, Dense 1024,
    Dropout, Dense 10 (3,274,634 parameters)."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    body = [
        *_conv_pool(32, 5, "block1", padding="same"),
        *_conv_pool(64, 5, "block2", padding="same"),
        layers.Flatten(name="flatten"),
        layers.Dense(1024, activation="relu", name="dense"),
        layers.Dropout(dropout, name="dropout"),
    ]
    return _sequential("big_5x5_convnet", input_shape, num_classes, body)


#: The architectures :func:`digitlib.train` can build, by name.
ARCHITECTURES = {
    "mlp": mlp,
    "lenet5": lenet5,
    "simple_convnet": simple_convnet,
    "three_block_convnet": three_block_convnet,
    "wide_head_convnet": wide_head_convnet,
    "big_5x5_convnet": big_5x5_convnet,
}


def build_model(name: str, **options) -> keras.Model:
    """Build the architecture ``name`` from :data:`ARCHITECTURES` with keyword ``options``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[name](**options)
    except TypeError as error:  # an option the builder does not take
        raise ValueError(f"bad options for architecture {name!r}: {error}") from None


def feature_maps(model: keras.Model, images, layer_name: str):
    """The output of ``model``'s layer ``layer_name`` for ``images``: its feature maps.

    ``images`` is a batch shaped like the model's input, e.g. (N, 28, 28, 1). Returns a
    NumPy array, e.g. (N, 26, 26, 32) for the book model's first convolution.
    """
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"model {model.name!r} has no layer {layer_name!r}; its layers are {names}")
    images = np.asarray(images, dtype="float32")
    expected = tuple(model.input_shape[1:])
    if images.shape[1:] != expected:
        raise ValueError(f"images must have shape (N, {', '.join(map(str, expected))}), got {images.shape}")
    probe = keras.Model(inputs=model.inputs[0], outputs=model.get_layer(layer_name).output)
    return keras.ops.convert_to_numpy(probe(images, training=False))
