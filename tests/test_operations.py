"""digitlib.operations: the NumPy convolution and pooling agree with Keras's layers."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from digitlib.operations import (
    avg_pool2d,
    conv2d,
    conv2d_single,
    conv_output_size,
    max_pool2d,
    relative_change,
    shift_images,
)

TOLERANCE = dict(rtol=1e-5, atol=1e-5)

# The grid. What decides an output's size and where "same" padding goes is the input size
# modulo the stride and the window's parity, so an odd square image and an even, non-square
# one with windows of 1 to 5 (one non-square) and strides 1 to 3 (one non-square), valid and
# same, meet every case; a digit-sized image adds none (it has its own test below). Channels
# change only the sums, never the geometry, so each geometry meets one channel pair, in turn.
SHAPES = [(7, 7), (8, 9)]
KERNEL_SIZES = [1, 2, 3, 5, (3, 2)]
STRIDES = [1, 2, 3, (2, 1)]
PADDINGS = ["valid", "same"]
CHANNELS = [(1, 1), (1, 4), (3, 1), (3, 4)]  # (input channels, output channels)
POOL_SIZES = [2, 3, (2, 3)]
POOL_STRIDES = [None, 1, 2]


def _grid(windows, strides):
    """Every (shape, window, strides, padding), each with a readable id such as 7x7-k3x2-s2x1-same."""

    def text(value):
        return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)

    return [
        pytest.param(shape, window, stride, padding, id=f"{text(shape)}-k{text(window)}-s{text(stride)}-{padding}")
        for shape, window, stride, padding in itertools.product(SHAPES, windows, strides, PADDINGS)
    ]


CONV_GRID = _grid(KERNEL_SIZES, STRIDES)
POOL_GRID = _grid(POOL_SIZES, POOL_STRIDES)
POOLS = [(max_pool2d, keras.layers.MaxPooling2D), (avg_pool2d, keras.layers.AveragePooling2D)]


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


def _random(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# --- parity with Keras ------------------------------------------------------------------


@pytest.mark.parametrize("case", range(len(CONV_GRID)), ids=[case.id for case in CONV_GRID])
def test_conv2d_and_its_output_size_match_keras(case):
    shape, kernel_size, strides, padding = CONV_GRID[case].values
    c_in, c_out = CHANNELS[case % len(CHANNELS)]
    x = _random((2, *shape, c_in), seed=1)
    layer = keras.layers.Conv2D(c_out, kernel_size, strides=strides, padding=padding)
    layer.build(x.shape)
    kernel = _random(tuple(layer.kernel.shape), seed=2)
    bias = _random((c_out,), seed=3)
    layer.set_weights([kernel, bias])

    expected = keras.ops.convert_to_numpy(layer(x))
    actual = conv2d(x, kernel, bias, strides=strides, padding=padding)

    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE)
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(strides)
    assert (conv_output_size(shape[0], kh, sh, padding), conv_output_size(shape[1], kw, sw, padding)) == expected.shape[
        1:3
    ]


@pytest.mark.parametrize("ours, keras_layer", POOLS, ids=["max", "avg"])
@pytest.mark.parametrize("shape, pool_size, strides, padding", POOL_GRID)
def test_pooling_and_its_output_size_match_keras(shape, pool_size, strides, padding, ours, keras_layer):
    x = _random((2, *shape, 3), seed=4)  # normal values: negative ones too, so padding must never win a max
    expected = keras.ops.convert_to_numpy(keras_layer(pool_size, strides=strides, padding=padding)(x))
    actual = ours(x, pool_size, strides=strides, padding=padding)

    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE)
    (ph, pw) = _pair(pool_size)
    (sh, sw) = (ph, pw) if strides is None else _pair(strides)
    assert (conv_output_size(shape[0], ph, sh, padding), conv_output_size(shape[1], pw, sw, padding)) == expected.shape[
        1:3
    ]


# --- small examples worked by hand ------------------------------------------------------

IMAGE_4x4 = np.arange(16, dtype=np.float32).reshape(4, 4)
#  0  1  2  3
#  4  5  6  7
#  8  9 10 11
# 12 13 14 15
KERNEL_3x3 = np.array([[1, 2, 0], [0, 0, 0], [0, 0, 0]], dtype=np.float32)


def test_conv2d_is_cross_correlation_not_flipped_convolution():
    # Cross-correlation: out[i, j] = x[i, j] + 2 * x[i, j + 1], the kernel read as it is.
    by_hand = np.array([[0 + 2 * 1, 1 + 2 * 2], [4 + 2 * 5, 5 + 2 * 6]], dtype=np.float32)
    # A textbook convolution flips the kernel: out[i, j] = 2 * x[i + 2, j + 1] + x[i + 2, j + 2].
    flipped = np.array([[2 * 9 + 10, 2 * 10 + 11], [2 * 13 + 14, 2 * 14 + 15]], dtype=np.float32)

    out = conv2d_single(IMAGE_4x4, KERNEL_3x3)

    np.testing.assert_array_equal(out, by_hand)  # [[2, 5], [14, 17]]
    assert not np.array_equal(out, flipped)
    np.testing.assert_array_equal(conv2d_single(IMAGE_4x4, KERNEL_3x3[::-1, ::-1]), flipped)


def test_conv2d_adds_over_input_channels_and_adds_bias():
    x = np.stack([IMAGE_4x4, 10 * np.ones((4, 4), np.float32)], axis=-1)[np.newaxis]  # (1, 4, 4, 2)
    kernel = np.zeros((3, 3, 2, 1), np.float32)
    kernel[:, :, 0, 0] = KERNEL_3x3
    kernel[1, 1, 1, 0] = 0.5  # centre of channel 1: adds 0.5 * 10 = 5 everywhere
    out = conv2d(x, kernel, bias=np.array([100.0]))
    np.testing.assert_array_equal(out[0, :, :, 0], [[107, 110], [119, 122]])


def test_conv2d_same_padding_puts_the_odd_pixel_bottom_right():
    # 2x2 kernel, stride 1, 'same' on 3x3: total padding 1, all of it after (bottom/right).
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    kernel = np.ones((2, 2, 1, 1), np.float32)
    out = conv2d(x, kernel, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(out, [[12, 16, 9], [24, 28, 15], [15, 17, 9]])


def test_avg_pool_same_averages_only_real_cells():
    # 1 2 3      pool 2, stride 2, 'same': padding 1 row below and 1 column right
    # 4 5 6  ->  [[mean(1,2,4,5), mean(3,6)],   = [[3.0, 4.5],
    # 7 8 9       [mean(7,8),     mean(9)]]        [7.5, 9.0]]  (padding is not counted)
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    expected = np.array([[3.0, 4.5], [7.5, 9.0]], np.float32)
    np.testing.assert_array_equal(avg_pool2d(x, 2, padding="same")[0, :, :, 0], expected)
    keras_out = keras.layers.AveragePooling2D(2, padding="same")(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras_out)[0, :, :, 0], expected, **TOLERANCE)


def test_max_pool_same_padding_never_wins():
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)  # all negative: a zero pad would win
    np.testing.assert_array_equal(max_pool2d(x, 2, padding="same")[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_pool_window_reduces_each_channel_separately():
    x = np.stack([IMAGE_4x4, -IMAGE_4x4], axis=-1)[np.newaxis]  # (1, 4, 4, 2)
    np.testing.assert_array_equal(max_pool2d(x)[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(max_pool2d(x)[0, :, :, 1], [[0, -2], [-8, -10]])
    np.testing.assert_array_equal(avg_pool2d(x)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_conv2d_single_matches_keras_on_a_digit_sized_image():
    image = np.random.default_rng(5).integers(0, 256, size=(28, 28)).astype(np.uint8)
    edge = np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float32)  # top-to-bottom edges
    layer = keras.layers.Conv2D(1, 3, use_bias=False)
    layer.build((1, 28, 28, 1))
    layer.set_weights([edge[:, :, np.newaxis, np.newaxis]])
    expected = keras.ops.convert_to_numpy(layer(image[np.newaxis, :, :, np.newaxis].astype(np.float32)))

    out = conv2d_single(image, edge)

    assert out.shape == (26, 26) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected[0, :, :, 0], **TOLERANCE)


def test_conv_output_size_formulas():
    assert conv_output_size(28, 3) == 26
    assert conv_output_size(28, 3, padding="same") == 28
    assert conv_output_size(26, 2, stride=2) == 13
    assert conv_output_size(7, 2, stride=2) == 3  # floor: the last row is dropped
    assert conv_output_size(7, 2, stride=2, padding="same") == 4  # ceil: a padded row is added
    assert conv_output_size(3, 5, padding="same") == 3  # a window larger than the input is fine with 'same'


def test_operations_accept_lists_and_integers():
    out = conv2d(IMAGE_4x4.astype(int)[np.newaxis, :, :, np.newaxis].tolist(), KERNEL_3x3[:, :, None, None])
    assert out.dtype == np.float32 and out.shape == (1, 2, 2, 1)
    assert max_pool2d(np.ones((1, 4, 4, 1), np.uint8)).dtype == np.float32


# --- bad arguments ----------------------------------------------------------------------

X = np.zeros((1, 5, 5, 3), np.float32)
K = np.zeros((3, 3, 3, 4), np.float32)

BAD_ARGUMENTS = {
    "kernel larger than input": (lambda: conv2d(X, np.zeros((6, 3, 3, 4))), "larger than the input"),
    "pool larger than input": (lambda: max_pool2d(X, 6), "larger than the input"),
    "avg pool larger than input": (lambda: avg_pool2d(X, (2, 6)), "larger than the input"),
    "zero stride": (lambda: conv2d(X, K, strides=0), "strides must be a positive int"),
    "negative stride": (lambda: conv2d(X, K, strides=(1, -1)), "strides must be a positive int"),
    "three strides": (lambda: conv2d(X, K, strides=(1, 1, 1)), "strides must be a positive int"),
    "float stride": (lambda: conv2d(X, K, strides=1.5), "strides must be a positive int"),
    "zero pool stride": (lambda: max_pool2d(X, 2, strides=0), "strides must be a positive int"),
    "zero pool size": (lambda: avg_pool2d(X, 0), "pool_size must be a positive int"),
    "unknown padding": (lambda: conv2d(X, K, padding="full"), "padding must be 'valid' or 'same'"),
    "padding not a string": (lambda: max_pool2d(X, padding=None), "padding must be 'valid' or 'same'"),
    "channel mismatch": (lambda: conv2d(X, np.zeros((3, 3, 1, 4))), "3 channels but the kernel expects 1"),
    "3-D inputs": (lambda: conv2d(X[0], K), "inputs must be 4-D"),
    "2-D pool inputs": (lambda: max_pool2d(X[0, :, :, 0]), "inputs must be 4-D"),
    "2-D kernel": (lambda: conv2d(X, K[:, :, 0, 0]), "kernel must be 4-D"),
    "empty kernel": (lambda: conv2d(X, np.zeros((0, 3, 3, 4))), "empty dimension"),
    "bias wrong length": (lambda: conv2d(X, K, bias=np.zeros(3)), r"bias must have shape \(4,\)"),
    "bias wrong ndim": (lambda: conv2d(X, K, bias=np.zeros((4, 1))), r"bias must have shape \(4,\)"),
    "single image 3-D": (lambda: conv2d_single(np.zeros((5, 5, 1)), np.zeros((3, 3))), "image must be 2-D"),
    "single kernel 4-D": (lambda: conv2d_single(np.zeros((5, 5)), K), "kernel must be 2-D"),
    "single kernel too big": (lambda: conv2d_single(np.zeros((2, 5)), np.zeros((3, 3))), "larger than the input"),
    "size zero": (lambda: conv_output_size(0, 3), "size must be a positive int"),
    "output size zero stride": (lambda: conv_output_size(5, 3, stride=0), "stride must be a positive int"),
    "output size bad padding": (lambda: conv_output_size(5, 3, padding="causal"), "padding must be"),
    "output size kernel too big": (lambda: conv_output_size(2, 3), "larger than the input size 2"),
}


@pytest.mark.parametrize("call, match", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- shifting images ----------------------------------------------------------------------


def test_shift_by_zero_is_the_identity():
    images = np.random.default_rng(6).integers(0, 256, size=(3, 5, 6)).astype(np.uint8)
    shifted = shift_images(images, 0, 0)
    np.testing.assert_array_equal(shifted, images)
    assert shifted.dtype == np.uint8 and shifted is not images


def test_shift_moves_down_right_and_fills_with_zeros():
    x = IMAGE_4x4[np.newaxis] + 1  # 1..16, so a zero can only come from the fill
    np.testing.assert_array_equal(
        shift_images(x, 1, 2)[0],
        [[0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 5, 6], [0, 0, 9, 10]],
    )
    np.testing.assert_array_equal(
        shift_images(x, -1, -1)[0],
        [[6, 7, 8, 0], [10, 11, 12, 0], [14, 15, 16, 0], [0, 0, 0, 0]],
    )


def test_shift_there_and_back_loses_only_the_pushed_out_row():
    images = _random((2, 6, 5, 3), seed=7)
    back = shift_images(shift_images(images, 1, 0), -1, 0)
    np.testing.assert_array_equal(back[:, :-1], images[:, :-1])
    np.testing.assert_array_equal(back[:, -1], 0)


def test_shift_keeps_channels_and_matches_np_roll_away_from_the_edge():
    images = _random((2, 8, 8, 3), seed=8)
    images[:, :2] = images[:, -2:] = images[:, :, :2] = images[:, :, -2:] = 0  # a zero border 2 wide
    for rows, cols in [(2, 0), (0, -2), (-1, 2)]:
        expected = np.roll(images, (rows, cols), axis=(1, 2))
        np.testing.assert_array_equal(shift_images(images, rows, cols), expected)


SHIFT_BAD_ARGUMENTS = {
    "2-D image": (lambda: shift_images(np.zeros((4, 4)), 1, 0), "images must be 3-D .* or 4-D"),
    "5-D images": (lambda: shift_images(np.zeros((1, 4, 4, 1, 1)), 1, 0), "images must be 3-D .* or 4-D"),
    "fractional shift": (lambda: shift_images(np.zeros((1, 4, 4)), 0.5, 0), "rows must be a whole number"),
    "bool shift": (lambda: shift_images(np.zeros((1, 4, 4)), 0, True), "cols must be a whole number"),
    "shift equal to height": (lambda: shift_images(np.zeros((1, 4, 5)), 4, 0), "rows shift 4 .* size 4"),
    "shift beyond width": (lambda: shift_images(np.zeros((1, 4, 5)), 0, -7), "cols shift -7 .* size 5"),
}


@pytest.mark.parametrize("call, match", SHIFT_BAD_ARGUMENTS.values(), ids=SHIFT_BAD_ARGUMENTS.keys())
def test_shift_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_relative_change_by_hand():
    reference = np.array([[3.0, 4.0], [1.0, 0.0]])  # norms 5 and 1
    moved = np.array([[3.0, 4.0], [1.0, 1.0]])  # changes 0 and 1
    assert relative_change(moved, reference) == pytest.approx((0 / 5 + 1 / 1) / 2)
    assert relative_change(reference, reference) == 0.0


@pytest.mark.parametrize(
    "features, reference, match",
    [
        (np.ones((2, 3)), np.ones((2, 4)), "same shape"),
        (np.ones(3), np.ones(3), "same shape"),
        (np.ones((2, 3)), np.zeros((2, 3)), "non-zero"),
    ],
)
def test_relative_change_bad_input(features, reference, match):
    with pytest.raises(ValueError, match=match):
        relative_change(features, reference)
