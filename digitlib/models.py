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


#: The architectures :func:`digitlib.train` can build, by name.
ARCHITECTURES = {"simple_convnet": simple_convnet}


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
