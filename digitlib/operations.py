"""Convolution and pooling written out in NumPy, to read next to their Keras layers.

What deep learning frameworks call convolution is really cross-correlation: the kernel
slides over the image as it is, whereas a textbook convolution first flips it left-right and
top-bottom. The kernel is learned, so the flip changes nothing a network can do, and
``conv2d`` here follows the frameworks, giving the same numbers as ``keras.layers.Conv2D``.

All arrays are channels-last like Keras: images ``(N, H, W, C)``, kernels
``(kh, kw, C_in, C_out)``. Each function loops over output positions (so you can see the
window slide) and lets NumPy handle the batch and the channels at each position.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from digitlib._checks import checked_int

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv2d_single",
    "conv_output_size",
    "max_pool2d",
    "relative_change",
    "shift_images",
]

_PADDINGS = ("valid", "same")


# --- argument checks -------------------------------------------------------------------


def _pair(value, name: str) -> tuple[int, int]:
    """Turn ``3`` into ``(3, 3)`` and ``(3, 2)`` into ``(3, 2)`` (rows, columns); both must be > 0."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    try:
        if len(pair) == 2:
            return checked_int(pair[0], name), checked_int(pair[1], name)
    except ValueError:
        pass
    raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")


def _check_padding(padding) -> str:
    if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def _as_images(inputs, name: str = "inputs") -> np.ndarray:
    """Return ``inputs`` as a float32 array of shape (N, H, W, C), or raise ValueError."""
    array = np.asarray(inputs, dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(
            f"{name} must be 4-D (batch, height, width, channels), got shape {array.shape}; "
            "add axes with x[np.newaxis, ..., np.newaxis] or use conv2d_single for one 2-D image"
        )
    return array


# --- output size and padding ----------------------------------------------------------


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: str = "valid") -> int:
    """Length of one spatial dimension after a convolution or pooling window slides over it.

    ``valid`` (no padding): ``floor((size - kernel_size) / stride) + 1``;
    ``same`` (zero-pad as needed): ``ceil(size / stride)``, whatever the kernel size.
    """
    for name, value in (("size", size), ("kernel_size", kernel_size), ("stride", stride)):
        checked_int(value, name)
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(size / stride)
    if kernel_size > size:
        raise ValueError(
            f"window of size {kernel_size} is larger than the input size {size} with 'valid' "
            "padding; use a smaller window or padding='same'"
        )
    return (size - kernel_size) // stride + 1


def _same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """(before, after) padding for 'same', split as TensorFlow does: any odd pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def _pad(images: np.ndarray, window: tuple[int, int], strides: tuple[int, int], padding: str, fill: float):
    """Pad the height and width of ``images`` (N, H, W, C) for ``padding``; return the output size too."""
    _, height, width, _ = images.shape
    out_h = conv_output_size(height, window[0], strides[0], padding)
    out_w = conv_output_size(width, window[1], strides[1], padding)
    if padding == "valid":
        return images, out_h, out_w
    rows = _same_padding(height, window[0], strides[0])
    cols = _same_padding(width, window[1], strides[1])
    padded = np.pad(images, ((0, 0), rows, cols, (0, 0)), constant_values=fill)
    return padded, out_h, out_w


# --- convolution ------------------------------------------------------------------------


def conv2d(inputs, kernel, bias=None, strides=1, padding: str = "valid") -> np.ndarray:
    """2-D convolution (cross-correlation) with the semantics of ``keras.layers.Conv2D``.

    ``inputs`` (N, H, W, C_in); ``kernel`` (kh, kw, C_in, C_out), laid out like
    ``Conv2D(...).kernel``; ``bias`` (C_out,) or None; ``strides`` int or (sh, sw);
    ``padding`` ``"valid"`` or ``"same"``. Returns float32 (N, H_out, W_out, C_out).
    Each output value is the sum of a (kh, kw, C_in) window of the input times the kernel.
    """
    images = _as_images(inputs)
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must be 4-D (kernel_height, kernel_width, in_channels, out_channels), got shape {kernel.shape}"
        )
    kh, kw, c_in, c_out = kernel.shape
    if 0 in kernel.shape:
        raise ValueError(f"kernel must not have an empty dimension, got shape {kernel.shape}")
    if images.shape[-1] != c_in:
        raise ValueError(
            f"inputs have {images.shape[-1]} channels but the kernel expects {c_in} "
            f"(inputs shape {images.shape}, kernel shape {kernel.shape})"
        )
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float32)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), one value per filter, got shape {bias.shape}")
    sh, sw = _pair(strides, "strides")
    padding = _check_padding(padding)

    padded, out_h, out_w = _pad(images, (kh, kw), (sh, sw), padding, fill=0.0)
    output = np.zeros((images.shape[0], out_h, out_w, c_out), dtype=np.float32)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]  # (N, kh, kw, C_in)
            # multiply the window by every filter and add up over rows, columns, channels
            output[:, i, j, :] = np.einsum("nhwc,hwco->no", window, kernel)
    if bias is not None:
        output += bias  # one bias per filter, broadcast over batch and positions
    return output


def conv2d_single(image, kernel) -> np.ndarray:
    """Slide one 2-D ``kernel`` (kh, kw) over one 2-D ``image`` (H, W): valid padding, stride 1.

    Returns float32 (H - kh + 1, W - kw + 1). A shortcut for ``conv2d`` with the batch and
    channel axes (all of size 1) added and removed for you.
    """
    image = np.asarray(image, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (height, width), got shape {image.shape}")
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D (kernel_height, kernel_width), got shape {kernel.shape}")
    output = conv2d(image[np.newaxis, :, :, np.newaxis], kernel[:, :, np.newaxis, np.newaxis])
    return output[0, :, :, 0]


# --- pooling ----------------------------------------------------------------------------


def _pool_arguments(inputs, pool_size, strides, padding):
    images = _as_images(inputs)
    ph, pw = _pair(pool_size, "pool_size")
    sh, sw = (ph, pw) if strides is None else _pair(strides, "strides")
    return images, (ph, pw), (sh, sw), _check_padding(padding)


def max_pool2d(inputs, pool_size=2, strides=None, padding: str = "valid") -> np.ndarray:
    """Max pooling with the semantics of ``keras.layers.MaxPooling2D``.

    ``inputs`` (N, H, W, C); ``pool_size`` and ``strides`` int or pair (strides default to
    ``pool_size``); ``padding`` ``"valid"`` or ``"same"``. Each channel is pooled on its
    own. With ``"same"`` the padding is -inf, so a padded cell never wins the max.
    Returns float32 (N, H_out, W_out, C).
    """
    images, (ph, pw), (sh, sw), padding = _pool_arguments(inputs, pool_size, strides, padding)
    padded, out_h, out_w = _pad(images, (ph, pw), (sh, sw), padding, fill=-np.inf)
    output = np.empty((images.shape[0], out_h, out_w, images.shape[-1]), dtype=np.float32)
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :]  # (N, ph, pw, C)
            output[:, i, j, :] = window.max(axis=(1, 2))
    return output


def avg_pool2d(inputs, pool_size=2, strides=None, padding: str = "valid") -> np.ndarray:
    """Average pooling with the semantics of ``keras.layers.AveragePooling2D``.

    Arguments as for ``max_pool2d``. With ``"same"`` padding, a window that hangs over the
    edge is averaged over its real (non-padded) cells only, as Keras does: padding is not
    counted as zeros. Returns float32 (N, H_out, W_out, C).
    """
    images, (ph, pw), (sh, sw), padding = _pool_arguments(inputs, pool_size, strides, padding)
    padded, out_h, out_w = _pad(images, (ph, pw), (sh, sw), padding, fill=0.0)
    # 1 where a cell is real, 0 where it is padding: counts the cells each window averages
    real = np.ones((1, images.shape[1], images.shape[2], 1), dtype=np.float32)
    real, _, _ = _pad(real, (ph, pw), (sh, sw), padding, fill=0.0)
    output = np.empty((images.shape[0], out_h, out_w, images.shape[-1]), dtype=np.float32)
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = slice(i * sh, i * sh + ph), slice(j * sw, j * sw + pw)
            count = real[0, rows, cols, 0].sum()
            output[:, i, j, :] = padded[:, rows, cols, :].sum(axis=(1, 2)) / count
    return output


# --- shifting -----------------------------------------------------------------------------


def shift_images(images, rows: int = 0, cols: int = 0) -> np.ndarray:
    """Move every image of a batch by whole pixels: ``rows`` down and ``cols`` right.

    ``images`` (N, H, W) or (N, H, W, C); negative shifts move up or left. Pixels pushed
    past the edge are dropped and the uncovered border is filled with zeros (no wrapping
    around, unlike ``np.roll``). Returns a new array of the same shape and dtype.
    """
    array = np.asarray(images)
    if array.ndim not in (3, 4):
        raise ValueError(
            f"images must be 3-D (batch, height, width) or 4-D (batch, height, width, channels), "
            f"got shape {array.shape}"
        )
    height, width = array.shape[1:3]
    for name, value, size in (("rows", rows, height), ("cols", cols, width)):
        if not isinstance(value, Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number of pixels (an int), got {value!r}")
        if abs(value) >= size:
            raise ValueError(f"{name} shift {value} must be smaller than the image size {size}")
    rows, cols = int(rows), int(cols)
    (row_to, row_from), (col_to, col_from) = _shift_slices(rows, height), _shift_slices(cols, width)
    shifted = np.zeros_like(array)
    shifted[:, row_to, col_to] = array[:, row_from, col_from]
    return shifted


def _shift_slices(step: int, size: int) -> tuple[slice, slice]:
    """(destination, source) slices that move an axis of length ``size`` by ``step`` cells."""
    return slice(max(step, 0), size + min(step, 0)), slice(max(-step, 0), size - max(step, 0))


def relative_change(features, reference) -> float:
    """How much ``features`` differ from ``reference``, relative to the reference's size.

    Both are batches (N, ...); for each example this is ``||features - reference|| /
    ||reference||`` (Euclidean norms over everything but the batch axis), averaged over
    the batch. 0 means unchanged; 1 means a change as large as the reference itself.
    """
    features = np.asarray(features, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if features.shape != reference.shape or features.ndim < 2:
        raise ValueError(
            f"features and reference must be batches of the same shape, got {features.shape} and {reference.shape}"
        )
    size = np.linalg.norm(reference.reshape(len(reference), -1), axis=1)
    if np.any(size == 0):
        raise ValueError("every reference example must be non-zero to measure a relative change")
    change = np.linalg.norm((features - reference).reshape(len(reference), -1), axis=1)
    return float(np.mean(change / size))
