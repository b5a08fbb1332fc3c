"""digitlib.data: the bundled MNIST is the real one, verified, and preprocessing is checked."""

from __future__ import annotations

import re
import shutil
import zipfile

import keras
import numpy as np
import pytest

import digitlib
from digitlib.data import MNIST_SHA256, array_sha256, validation_split_sizes

# From digitlib/resources/README.md, the provenance of the bundled file.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_load_mnist_matches_keras_layout(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.min() == 0 and x_train.max() == 255
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS


def test_every_array_matches_the_checksum_its_provenance_records(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    provenance = (digitlib.data.MNIST_PATH.parent / "README.md").read_text()
    recorded = dict(re.findall(r"^\| `(\w+)` \| `([0-9a-f]{64})` \|$", provenance, re.M))
    assert {key: array_sha256(a) for key, a in arrays.items()} == recorded == MNIST_SHA256


def test_missing_file_names_it_and_says_how_to_restore(tmp_path):
    missing = tmp_path / "mnist.npz"
    with pytest.raises(FileNotFoundError, match=r"mnist\.npz.*[Rr]estore"):
        digitlib.load_mnist(missing)


def test_truncated_file_is_an_error_not_a_partial_load(tmp_path):
    """A truncated file is no zip archive any more: the same refusal as any non-archive."""
    truncated = tmp_path / "mnist.npz"
    truncated.write_bytes(digitlib.data.MNIST_PATH.read_bytes()[:5_000_000])
    with pytest.raises(ValueError, match=r"mnist\.npz is truncated or not an \.npz archive.*[Rr]estore"):
        digitlib.load_mnist(truncated)


def _rewrite(path, **changes):
    with np.load(digitlib.data.MNIST_PATH) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays.update(changes)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez_compressed(path, **arrays)


def test_a_single_altered_pixel_fails_the_checksum(tmp_path, mnist):
    (x_train, _), _ = mnist
    altered = x_train.copy()
    altered[123, 14, 14] ^= 1
    path = tmp_path / "mnist.npz"
    _rewrite(path, x_train=altered)
    with pytest.raises(ValueError, match=r"x_train fails its SHA-256 check"):
        digitlib.load_mnist(path)


def test_missing_array_is_named(tmp_path):
    path = tmp_path / "mnist.npz"
    _rewrite(path, y_test=None)
    with pytest.raises(ValueError, match=r"lacks the arrays \['y_test'\]"):
        digitlib.load_mnist(path)


def test_wrong_dtype_is_named(tmp_path, mnist):
    _, (_, y_test) = mnist
    path = tmp_path / "mnist.npz"
    _rewrite(path, y_test=y_test.astype(np.int64))
    with pytest.raises(ValueError, match=r"y_test has shape \(10000,\) and dtype int64"):
        digitlib.load_mnist(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_corrupt_member_inside_a_valid_zip_is_an_error(tmp_path):
    path = tmp_path / "mnist.npz"
    shutil.copy(digitlib.data.MNIST_PATH, path)
    with zipfile.ZipFile(path, "a") as archive:  # a second, broken copy of one array
        archive.writestr("x_test.npy", b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"mnist\.npz is truncated or corrupt"):
        digitlib.load_mnist(path)


def test_scale_images_gives_float32_in_unit_interval(mnist):
    (x_train, _), _ = mnist
    scaled = digitlib.scale_images(x_train[:100])
    assert scaled.dtype == np.float32 and scaled.shape == (100, 28, 28)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(scaled * 255, x_train[:100].astype(np.float32))


def test_add_channel_axis_and_one_hot(mnist):
    (x_train, y_train), _ = mnist
    assert digitlib.add_channel_axis(x_train[:3]).shape == (3, 28, 28, 1)
    encoded = digitlib.data.one_hot(y_train[:4])
    np.testing.assert_array_equal(encoded.argmax(axis=1), y_train[:4])
    np.testing.assert_array_equal(encoded, keras.utils.to_categorical(y_train[:4], 10))
    assert encoded.sum(axis=1).tolist() == [1, 1, 1, 1]


def test_preprocess_combines_the_three_steps(mnist):
    _, (x_test, y_test) = mnist
    x, y = digitlib.preprocess(x_test, y_test)
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (10000, 10)
    np.testing.assert_array_equal(x[..., 0], x_test / np.float32(255))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x, y: digitlib.scale_images(x.astype(np.float32)), "uint8"),
        (lambda x, y: digitlib.scale_images(x[:, :27]), r"shape \(N, 28, 28\)"),
        (lambda x, y: digitlib.scale_images(x[0]), r"shape \(N, 28, 28\)"),
        (lambda x, y: digitlib.add_channel_axis(x[..., None]), r"shape \(N, 28, 28\)"),
        (lambda x, y: digitlib.data.one_hot(y.astype(np.float32)), "integers"),
        (lambda x, y: digitlib.data.one_hot(np.array([3, 10])), r"0\.\.9.*10"),
        (lambda x, y: digitlib.data.one_hot(np.array([-1, 2])), r"0\.\.9.*-1"),
        (lambda x, y: digitlib.data.one_hot(y.reshape(2, -1)), "1-D"),
        (lambda x, y: digitlib.preprocess(x, y[:-1]), "8 images but 7 labels"),
    ],
)
def test_bad_input_is_a_clear_value_error(mnist, call, message):
    (x_train, y_train), _ = mnist
    with pytest.raises(ValueError, match=message):
        call(x_train[:8], y_train[:8])


@pytest.mark.parametrize(
    "n, fraction",
    [
        pytest.param(1, 0.1, id="no training part: refused"),
        pytest.param(10, 1e-20, id="1 - v rounds to 1, no validation part: refused"),
        pytest.param(2, 0.1, id="smallest split: one and one"),
        pytest.param(10, 1 / 3, id="6.67 rounds down to 6, not to 7"),
        pytest.param(60000, 0.1, id="the book's split: exactly 54,000 and 6,000"),
        pytest.param(60000, 0.9, id="float 1 - 0.9 gives 5,999, not 6,000"),
    ],
)
def test_validation_split_sizes_match_keras(n, fraction):
    """One case per outcome: each empty part refused, the floor (not rounding), the book's exact
    split, and Keras's float arithmetic, which is not exact arithmetic."""
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    try:
        (train,), (validation,) = train_validation_split((np.arange(n),), fraction)
    except ValueError:  # Keras refuses splits that leave a part empty, and so must we
        with pytest.raises(ValueError, match="empty"):
            validation_split_sizes(n, fraction)
        return
    assert validation_split_sizes(n, fraction) == (len(train), len(validation))


@pytest.mark.parametrize(
    "n, fraction, message",
    [(0, 0.1, "num_samples"), (2.5, 0.1, "num_samples"), (10, 0.0, "validation_split"), (10, 1.0, "validation_split")],
)
def test_validation_split_sizes_rejects_bad_arguments(n, fraction, message):
    with pytest.raises(ValueError, match=message):
        validation_split_sizes(n, fraction)


def test_training_splits_hold_out_the_last_images_like_keras(mnist):
    (x_train, y_train), _ = mnist
    (x_fit, y_fit), (x_val, y_val) = digitlib.training_splits(0.1)
    assert x_fit.shape == (54000, 28, 28, 1) and x_val.shape == (6000, 28, 28, 1)
    assert y_fit.shape == (54000, 10) and y_val.shape == (6000, 10)
    np.testing.assert_array_equal(y_val.argmax(axis=1), y_train[54000:])
    np.testing.assert_array_equal(x_fit[-1, :, :, 0], x_train[53999] / np.float32(255))


def test_training_splits_train_size_keeps_the_whole_validation_part(mnist):
    (x_train, y_train), _ = mnist
    (x_fit, y_fit), (x_val, _) = digitlib.training_splits(0.1, train_size=500)
    assert len(x_fit) == 500 and len(x_val) == 6000
    np.testing.assert_array_equal(y_fit.argmax(axis=1), y_train[:500])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_size": 0}, "train_size"),
        ({"train_size": 54001}, "1..54000"),
        ({"train_size": 10.0}, "train_size"),
        ({"validation_split": 0}, "validation_split"),
    ],
)
def test_training_splits_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        digitlib.training_splits(**kwargs)
