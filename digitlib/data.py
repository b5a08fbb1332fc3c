"""MNIST, bundled with digitlib and verified, and the preprocessing the chapters use."""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np

from digitlib._checks import checked_int, checked_number

#: The bundled copy of MNIST (Keras's ``mnist.npz`` layout).
MNIST_PATH = Path(__file__).parent / "resources" / "mnist.npz"

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)

#: SHA-256 of each array's raw bytes, from the provenance README shipped with the data.
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
_EXPECTED_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
_RESTORE_HINT = (
    "Restore it with `git checkout -- digitlib/resources/mnist.npz` in a clone of the "
    "book, or reinstall digitlib (`pip install -e .`)."
)


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 hex digest of an array's raw (C-contiguous) bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def load_mnist(path: str | Path | None = None):
    """Load MNIST from the bundled file, verified against its published checksums.

    Returns ``((x_train, y_train), (x_test, y_test))`` exactly as
    ``keras.datasets.mnist.load_data()`` does: uint8 images of shape (N, 28, 28) with
    0 = background and 255 = ink, and uint8 labels 0..9. Nothing is downloaded.

    Raises ``FileNotFoundError`` if the file is missing and ``ValueError`` if it is
    truncated, not an ``.npz`` archive, or any array differs from the real MNIST.
    No array is returned unless all four pass.
    """
    path = Path(MNIST_PATH if path is None else path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST data file not found: {path}. {_RESTORE_HINT}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"MNIST data file {path} is truncated or not an .npz archive. {_RESTORE_HINT}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(MNIST_SHA256) - set(archive.files))
            arrays = {key: archive[key] for key in MNIST_SHA256 if key not in missing}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ValueError(f"MNIST data file {path} is truncated or corrupt ({error}). {_RESTORE_HINT}") from error
    if missing:
        raise ValueError(f"MNIST data file {path} lacks the arrays {missing}. {_RESTORE_HINT}")
    for key, expected in MNIST_SHA256.items():
        array = arrays[key]
        if array.shape != _EXPECTED_SHAPES[key] or array.dtype != np.uint8:
            raise ValueError(
                f"MNIST data file {path}: {key} has shape {array.shape} and dtype {array.dtype}, "
                f"expected {_EXPECTED_SHAPES[key]} uint8. {_RESTORE_HINT}"
            )
        if array_sha256(array) != expected:
            raise ValueError(
                f"MNIST data file {path}: {key} fails its SHA-256 check (the file was altered). {_RESTORE_HINT}"
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_images(images, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[1:3] != IMAGE_SHAPE or (images.ndim == 4 and images.shape[3] != 1):
        raise ValueError(f"{name} must have shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}")
    return images


def scale_images(images) -> np.ndarray:
    """Scale uint8 pixels 0..255 to float32 in [0, 1]; the shape is kept."""
    images = _check_images(images)
    if images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 pixels in 0..255 (as loaded), got dtype {images.dtype}; were they scaled already?"
        )
    return images.astype(np.float32) / np.float32(255)


def add_channel_axis(images) -> np.ndarray:
    """Add the trailing channel axis Conv2D expects: (N, 28, 28) -> (N, 28, 28, 1)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"images must have shape (N, 28, 28), got {images.shape}")
    return images[..., np.newaxis]


def one_hot(labels) -> np.ndarray:
    """One-hot encode digit labels 0..9 as ``keras.utils.to_categorical`` does: (N,) -> (N, 10),
    float64."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers 0..9, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"labels must lie in 0..9, got values from {labels.min()} to {labels.max()}")
    return np.eye(NUM_CLASSES)[labels]


def preprocess(images, labels):
    """Scale, add the channel axis and one-hot encode: what the book's models train on.

    Returns ``(x, y)``: ``x`` float32 of shape (N, 28, 28, 1) in [0, 1] and ``y`` the
    one-hot labels of shape (N, 10).
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    return add_channel_axis(scale_images(images)), one_hot(labels)


def validation_split_sizes(num_samples: int, validation_split: float) -> tuple[int, int]:
    """How ``model.fit(..., validation_split=v)`` divides ``num_samples`` examples.

    Keras keeps the first ``floor(num_samples * (1 - v))`` examples for training and
    holds out the rest, the *last* ones, before any shuffling. Returns
    ``(num_train, num_validation)``; like Keras, refuses a split that leaves a part empty.
    """
    num_samples = checked_int(num_samples, "num_samples")
    validation_split = checked_number(validation_split, "validation_split", 0, 1, include_low=False)
    num_train = int(math.floor(num_samples * (1.0 - validation_split)))
    if num_train == 0 or num_train == num_samples:
        raise ValueError(f"validation_split={validation_split} of {num_samples} examples leaves one part empty")
    return num_train, num_samples - num_train


def training_splits(validation_split: float = 0.1, train_size: int | None = None, path=None):
    """The preprocessed training and validation parts of MNIST's training set.

    The split is the one ``model.fit(x, y, validation_split=v)`` makes: the last part of
    the 60,000 training images is held out for validation. ``train_size`` keeps only the
    first ``train_size`` training images (the validation part stays whole), for
    experiments on less data. Returns ``((x_train, y_train), (x_val, y_val))``.
    """
    (images, labels), _ = load_mnist(path)
    num_train, _ = validation_split_sizes(len(images), validation_split)
    if train_size is None:
        train_size = num_train
    train_size = checked_int(train_size, "train_size", high=num_train)
    x, y = preprocess(images, labels)
    return (x[:train_size], y[:train_size]), (x[num_train:], y[num_train:])
