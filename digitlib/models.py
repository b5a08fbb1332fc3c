"""The book's models, built with Keras 3's functional inputs."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from digitlib._checks import checked_int, checked_number


def _check_shape(input_shape, num_classes):
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be three positive ints (height, width, channels), got {input_shape!r}")
    checked_int(num_classes, "num_classes", low=2)
    return shape


def simple_convnet(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.5) -> keras.Model:
    """The book's model: François Chollet's simple MNIST convnet (34,826 parameters).

    Conv2D(32, 3x3, relu) -> MaxPooling(2) -> Conv2D(64, 3x3, relu) -> MaxPooling(2)
    -> Flatten -> Dropout(``dropout``) -> Dense(num_classes, softmax). Uncompiled.
    """
    shape = _check_shape(input_shape, num_classes)
    checked_number(dropout, "dropout", 0, 1)
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
    hidden_units = checked_int(hidden_units, "hidden_units")
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
    checked_number(dropout, "dropout", 0, 1)
    body = [
        *_conv_pool(32, 5, "block1", padding="same"),
        *_conv_pool(64, 5, "block2", padding="same"),
        layers.Flatten(name="flatten"),
        layers.Dense(1024, activation="relu", name="dense"),
        layers.Dropout(dropout, name="dropout"),
    ]
    return _sequential("big_5x5_convnet", input_shape, num_classes, body)


def augmentation(
    rotation: float = 10.0, shift: float = 0.1, zoom: float = 0.1, interpolation: str = "nearest"
) -> keras.Sequential:
    """Keras preprocessing layers that distort each training image a little, anew every
    time it is seen: a rotation of up to ``rotation`` degrees either way, a shift of up to
    ``shift`` of the image size along each axis and a zoom in or out by up to ``zoom``.
    Empty space fills with 0 (background). Each layer resamples the image with
    ``interpolation``: ``"nearest"`` keeps strokes sharp, where three ``"bilinear"``
    resamplings in a row blur them. The layers act only when ``training=True``; at
    inference they pass images through unchanged."""
    for name, value, upper in (("rotation", rotation, 180), ("shift", shift, 1), ("zoom", zoom, 1)):
        checked_number(value, name, 0, upper)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    resampling = {"fill_mode": "constant", "interpolation": interpolation}
    return keras.Sequential(
        [
            layers.RandomRotation(rotation / 360, name="rotate", **resampling),
            layers.RandomTranslation(shift, shift, name="shift", **resampling),
            layers.RandomZoom(zoom, name="zoom", **resampling),
        ],
        name="augmentation",
    )


def modern_convnet(
    input_shape=(28, 28, 1),
    num_classes: int = 10,
    filters=(32, 64),
    batch_norm: bool = True,
    augment: bool = True,
    dense_units: int = 0,
    dropout: float = 0.5,
) -> keras.Model:
    """The book's convnet with the modern additions the "Beyond 99.5%" chapter measures.

    One block per entry of ``filters``: Conv 3x3, then with ``batch_norm`` 2 × 2 max
    pooling, BatchNormalization and ReLU (the convolution then has no bias), without it
    ReLU and pooling. Max pooling commutes with ReLU, and with batch normalization's
    per-channel scaling while its scale is positive, so normalising after the pooling
    builds the same kind of block, with a quarter of the numbers to normalise. Then
    Flatten, an optional Dense(``dense_units``) layer (with batch normalization and ReLU),
    Dropout and the softmax classifier. ``augment`` puts :func:`augmentation` in front.
    With ``filters=(32, 64)``, ``batch_norm=False``, ``augment=False`` and
    ``dense_units=0`` it is the book's :func:`simple_convnet` (34,826 parameters)."""
    filters = list(filters) if isinstance(filters, (list, tuple)) else filters
    if (
        not isinstance(filters, list)
        or not filters
        or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters)
    ):
        raise ValueError(f"filters must be a non-empty list of positive ints, got {filters!r}")
    for name, flag in (("batch_norm", batch_norm), ("augment", augment)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    dense_units = checked_int(dense_units, "dense_units", low=0)
    checked_number(dropout, "dropout", 0, 1)
    shape = _check_shape(input_shape, num_classes)
    side = min(shape[:2])
    for _ in filters:  # each block: a 3x3 valid convolution, then halving
        side = (side - 2) // 2
    if side < 1:
        raise ValueError(
            f"{len(filters)} blocks shrink a {shape[0]}x{shape[1]} input to nothing; use fewer filters entries"
        )

    def normalised(layer, name):
        if not batch_norm:
            return [layer, layers.ReLU(name=f"{name}_relu")]
        return [layer, layers.BatchNormalization(name=f"{name}_bn"), layers.ReLU(name=f"{name}_relu")]

    body = [augmentation()] if augment else []
    for number, count in enumerate(filters, start=1):
        name = f"block{number}"
        conv = layers.Conv2D(count, 3, use_bias=not batch_norm, name=f"{name}_conv")
        pool = layers.MaxPooling2D(pool_size=2, name=f"{name}_pool")
        body += [conv, *normalised(pool, name)] if batch_norm else [*normalised(conv, name), pool]
    body.append(layers.Flatten(name="flatten"))
    if dense_units:
        body += normalised(layers.Dense(dense_units, use_bias=not batch_norm, name="dense"), "dense")
    body.append(layers.Dropout(dropout, name="dropout"))
    return _sequential("modern_convnet", input_shape, num_classes, body)


#: The architectures :func:`digitlib.train` can build, by name.
ARCHITECTURES = {
    "mlp": mlp,
    "lenet5": lenet5,
    "simple_convnet": simple_convnet,
    "three_block_convnet": three_block_convnet,
    "wide_head_convnet": wide_head_convnet,
    "big_5x5_convnet": big_5x5_convnet,
    "modern_convnet": modern_convnet,
}


def build_model(name: str, **options) -> keras.Model:
    """Build the architecture ``name`` from :data:`ARCHITECTURES` with keyword ``options``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[name](**options)
    except TypeError as error:  # an option the builder does not take
        raise ValueError(f"bad options for architecture {name!r}: {error}") from None


def multiply_adds(model: keras.Model) -> int:
    """How many multiply-adds ``model`` does for one image: the work of its Conv2D and
    Dense layers (a convolution does height × width × kernel area × input channels ×
    filters of them; a dense layer inputs × units). Other layers' work is small and
    left out. A rough guide to a model's speed, which its parameter count is not."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += multiply_adds(layer)
        elif isinstance(layer, layers.Conv2D):
            height, width, _ = layer.output.shape[1:]
            kernel_height, kernel_width, channels, filters = layer.kernel.shape
            total += height * width * kernel_height * kernel_width * channels * filters
        elif isinstance(layer, layers.Dense):
            inputs, units = layer.kernel.shape
            total += inputs * units
    return int(total)


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
