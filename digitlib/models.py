"""The book's models: each a plain `keras.Sequential` definition, which the chapters show as it is."""

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


def mlp(input_shape=(28, 28, 1), num_classes: int = 10, hidden_units: int = 128) -> keras.Model:
    """A multilayer perceptron on the raw pixels, the usual baseline for convnets
    (101,770 parameters)."""
    hidden_units = checked_int(hidden_units, "hidden_units")
    shape = _check_shape(input_shape, num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Flatten(name="flatten"),
            layers.Dense(hidden_units, activation="relu", name="hidden"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="mlp",
    )


def lenet5(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """LeNet-5 in today's style, ReLU and max pooling instead of tanh and subsampling
    (61,706 parameters)."""
    shape = _check_shape(input_shape, num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(6, kernel_size=5, padding="same", activation="relu", name="block1_conv"),
            layers.MaxPooling2D(pool_size=2, name="block1_pool"),
            layers.Conv2D(16, kernel_size=5, activation="relu", name="block2_conv"),
            layers.MaxPooling2D(pool_size=2, name="block2_pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(120, activation="relu", name="dense1"),
            layers.Dense(84, activation="relu", name="dense2"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="lenet5",
    )


def three_block_convnet(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Three small convolution blocks, each with 2 × 2 pooling, then a dense layer
    (56,452 parameters)."""
    shape = _check_shape(input_shape, num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(25, kernel_size=3, activation="relu", name="block1_conv"),
            layers.MaxPooling2D(pool_size=2, name="block1_pool"),
            layers.Conv2D(64, kernel_size=3, activation="relu", name="block2_conv"),
            layers.MaxPooling2D(pool_size=2, name="block2_pool"),
            layers.Conv2D(64, kernel_size=3, activation="relu", name="block3_conv"),
            layers.MaxPooling2D(pool_size=2, name="block3_pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="dense"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="three_block_convnet",
    )


def wide_head_convnet(input_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """The book's two convolution blocks with a wide dense head and no dropout
    (843,658 parameters)."""
    shape = _check_shape(input_shape, num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(32, kernel_size=3, activation="relu", name="block1_conv"),
            layers.MaxPooling2D(pool_size=2, name="block1_pool"),
            layers.Conv2D(64, kernel_size=3, activation="relu", name="block2_conv"),
            layers.MaxPooling2D(pool_size=2, name="block2_pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(512, activation="relu", name="dense"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="wide_head_convnet",
    )


def big_5x5_convnet(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.5) -> keras.Model:
    """Large 5 × 5 filters with ``same`` padding and a big dense layer, as in TensorFlow's
    early "Deep MNIST" tutorial (3,274,634 parameters)."""
    checked_number(dropout, "dropout", 0, 1)
    shape = _check_shape(input_shape, num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(32, kernel_size=5, padding="same", activation="relu", name="block1_conv"),
            layers.MaxPooling2D(pool_size=2, name="block1_pool"),
            layers.Conv2D(64, kernel_size=5, padding="same", activation="relu", name="block2_conv"),
            layers.MaxPooling2D(pool_size=2, name="block2_pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(1024, activation="relu", name="dense"),
            layers.Dropout(dropout, name="dropout"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="big_5x5_convnet",
    )


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

    One block of a 3 × 3 convolution, ReLU and 2 × 2 max pooling per entry of ``filters``;
    with ``batch_norm``, BatchNormalization after the pooling and before the ReLU (the
    convolution then has no bias). ``dense_units`` adds a dense layer before the dropout and
    the classifier; ``augment`` puts :func:`augmentation` in front. With ``filters=(32, 64)``,
    ``batch_norm=False``, ``augment=False`` and ``dense_units=0`` it computes what the book's
    :func:`simple_convnet` computes, its ReLU a layer of its own (34,826 parameters)."""
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

    model = keras.Sequential(name="modern_convnet")
    model.add(keras.Input(shape=shape))
    if augment:
        model.add(augmentation())
    for block, count in enumerate(filters, start=1):
        if batch_norm:
            model.add(layers.Conv2D(count, kernel_size=3, use_bias=False, name=f"block{block}_conv"))
            model.add(layers.MaxPooling2D(pool_size=2, name=f"block{block}_pool"))
            model.add(layers.BatchNormalization(name=f"block{block}_bn"))
            model.add(layers.ReLU(name=f"block{block}_relu"))
        else:
            model.add(layers.Conv2D(count, kernel_size=3, name=f"block{block}_conv"))
            model.add(layers.ReLU(name=f"block{block}_relu"))
            model.add(layers.MaxPooling2D(pool_size=2, name=f"block{block}_pool"))
    model.add(layers.Flatten(name="flatten"))
    if dense_units:
        model.add(layers.Dense(dense_units, use_bias=not batch_norm, name="dense"))
        if batch_norm:
            model.add(layers.BatchNormalization(name="dense_bn"))
        model.add(layers.ReLU(name="dense_relu"))
    model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(num_classes, activation="softmax", name="classifier"))
    return model


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
