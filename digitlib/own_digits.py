"""Your own digits: any picture of one handwritten digit, made into an MNIST image.

MNIST's digits come from scanned forms. Each digit was cut out, scaled to fit a
20 × 20 pixel box with its aspect ratio kept (the anti-aliased scaling gave it its grey
edges) and put into a 28 × 28 frame so that its centre of mass sits in the middle.
:func:`prepare_digit` does the same to an image of yours, so that the book's model sees
it the way it saw the digits it learned from:

1. **grayscale**: read the image (a NumPy array, a Pillow image, an image file, its bytes
   or an open file), scale its pixels to [0, 1] and reduce colour to one channel;
2. **ink**: make the ink the high values, on a background of 0, stretched to [0, 1];
3. **cropped**: cut the image down to the digit's bounding box;
4. **scaled**: resize it so that its longer side is 20 pixels, keeping its aspect ratio;
5. **centred**: place it in a 28 × 28 frame with its centre of mass at (14, 14).

:func:`predict_digit` prepares an image and asks a model which digit it is.
:func:`draw_strokes` draws digits (or anything else) from pen strokes, to try it out.

Decisions, in detail:

- **Pixel values.** ``uint8`` images and other integer images with values up to 255 are
  read as 0..255; integer images with larger values (16-bit PNGs) as 0..65535; booleans
  as 0 and 1; floats as 0..1, or as 0..255 when their largest value is above 1.
  Negative values, NaN and infinity are refused.
- **Colour.** RGB is reduced to grayscale with the ITU-R 601-2 luminance weights (those of
  Pillow's ``convert("L")``). RGBA is first composited on white paper, so transparent
  pixels count as background: dark ink on a transparent background works, light ink on
  a transparent background comes out blank (and is refused as such).
- **Polarity.** The background level is the commonest level of the image (the median of
  the pixels in the fullest of 64 equal bins), so a page on a dark table is the background
  and the table is not. The ink lies on the side of whichever extreme (the 0.1st or the
  99.9th percentile of all pixels) is further from that level: dark ink on light paper is
  inverted, light ink on a dark background is kept. Either way the ink becomes
  "distance from the background", stretched so that the strongest ink is 1.
- **Noise.** Ink weaker than ``threshold`` (by default a fifth of the strongest ink) is
  set to 0 before cropping, and so are specks: inked pixels with fewer than two inked
  neighbours among their eight. Paper texture, uneven light and sensor noise then
  neither count as ink nor stretch the bounding box. ``threshold=0`` turns both off.
- **One digit or not.** Ink that does not look like one digit on plain paper is refused
  with a ``ValueError`` that says what to do, rather than read as a confident wrong
  digit: ink touching three or more edges of the image (the table around a page, a
  shadow, a digit cropped too tightly), ink covering more than :data:`MAX_INK_SHARE` of
  the image, and ink that runs along all four sides of its bounding box (a frame drawn
  around the digit).
- **Scaling.** Pillow resizes a 32-bit float image: with its box filter when it shrinks
  (each new pixel is the average of the area it covers, which anti-aliases) and by
  bilinear interpolation when it enlarges. Neither overshoots, so no ringing appears
  around the strokes. The result is stretched again so that its strongest pixel is 1,
  as in MNIST, where nearly every digit has pixels of full intensity.
- **Centring.** The digit moves by whole pixels (MNIST did the same), so its centre of
  mass lands within half a pixel of (14, 14): row and column 14, counting from 0, which
  is where the centres of mass of MNIST's own digits lie on average. The shift never
  pushes any part of the digit out of the frame.

A photo works best cropped to the digit, evenly lit and written with a thick pen: MNIST's
strokes are about 2 to 4 pixels wide in the 28 × 28 frame, and a thin pen stroke scaled
down to that size stays thin and faint.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from digitlib._checks import checked_number

#: Side of the square frame the model expects.
FRAME = 28
#: Side of the box the digit is scaled to fit, as in MNIST.
BOX = 20
#: Where the digit's centre of mass goes: (row, column), counting pixels from 0.
CENTRE = (14.0, 14.0)
#: Ink weaker than this share of the strongest ink counts as background.
INK_THRESHOLD = 0.2
#: An image whose ink differs from its background by less than this is blank.
MIN_CONTRAST = 0.02
#: The largest share of the image one digit's ink may cover (MNIST's boldest cover 0.36).
MAX_INK_SHARE = 0.4
#: Ink along this share of every side of its bounding box, at least FRAME_MIN_SIDE pixels
#: each way and not much longer than wide, is a frame around the digit.
FRAME_SIDE_SHARE = 0.6
FRAME_MIN_SIDE = 8
#: ITU-R 601-2 luminance weights for red, green and blue, as in Pillow's ``convert("L")``.
LUMINANCE = np.array([0.299, 0.587, 0.114])
#: The names of the steps that ``prepare_digit(..., return_steps=True)`` returns, in order.
STEPS = ("grayscale", "ink", "cropped", "scaled", "centred")


def _read_image_file(source) -> np.ndarray:
    """An image file as an array: ``source`` a path, the file's bytes or an open binary file."""
    import io

    from PIL import Image, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray, memoryview)):
        name, source = "the image bytes", io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        name = f"the file {getattr(source, 'name', None) or 'object'}"
    else:
        name = source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"no image file at {source}")
        if source.is_dir():
            raise ValueError(f"{source} is a folder, not an image file")
    try:
        with Image.open(source) as image:
            return _pil_to_array(image)
    except Image.DecompressionBombError as error:
        raise ValueError(f"{name} is too large to open safely ({error}); scale the photo down first") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{name} is not an image that Pillow can read ({error})") from None


def _pil_to_array(image) -> np.ndarray:
    """A Pillow image as a NumPy array: gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4)."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)  # photos from phones: upright, as they were taken
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    elif image.mode not in ("L", "I", "F") and not image.mode.startswith("I;16"):
        image = image.convert("RGB")
    return np.asarray(image)


def _as_unit_array(image) -> np.ndarray:
    """``image`` as a float64 array with values in [0, 1], its shape unchanged."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(image, "read"):
        image = _read_image_file(image)
    elif type(image).__module__.startswith("PIL."):
        image = _pil_to_array(image)
    array = np.asarray(image)
    if array.size == 0:
        raise ValueError(f"the image is empty: it has shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.float64)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0:
            raise ValueError(f"pixel values must not be negative, got a minimum of {low}")
        if high > 65535:
            raise ValueError(f"integer pixel values must lie in 0..255 or 0..65535, got a maximum of {high}")
        return array.astype(np.float64) / (255.0 if high <= 255 else 65535.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"an image must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError("the image contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0:
        raise ValueError(f"pixel values must not be negative, got a minimum of {low:g}")
    if high > 255:
        raise ValueError(f"float pixel values must lie in 0..1 (or 0..255), got a maximum of {high:g}")
    return array / 255.0 if high > 1 else array


def to_grayscale(image) -> np.ndarray:
    """An image (array, Pillow image or file path) as a 2-D float64 array in [0, 1].

    Accepts (H, W), (H, W, 1), RGB (H, W, 3) and RGBA (H, W, 4); see the module's notes
    for how values and colours are read. Raises ``ValueError`` for anything else.
    """
    array = _as_unit_array(image)
    shape = array.shape
    if array.ndim == 3 and shape[-1] in (1, 2, 3, 4):
        channels = shape[-1]
        if channels == 2:
            raise ValueError(
                f"cannot reduce an image with 2 channels (shape {shape}) to grayscale: "
                "give it 1 (gray), 3 (RGB) or 4 (RGBA) channels"
            )
        if channels == 1:
            array = array[..., 0]
        elif channels == 3:
            array = array @ LUMINANCE
        else:  # RGBA: composite on white paper
            alpha = array[..., 3:]
            array = (array[..., :3] * alpha + (1.0 - alpha)) @ LUMINANCE
        array = np.clip(array, 0.0, 1.0)
    if array.ndim != 2:
        hint = "; for a stack of images, pass one image at a time" if array.ndim > 2 else ""
        raise ValueError(
            f"an image of one digit must have 2 dimensions (height, width) after reduction to "
            f"grayscale, but it has shape {shape}{hint}"
        )
    return array


def background_level(gray) -> float:
    """The commonest level of a grayscale image: the median of the pixels in the fullest of 64
    equal bins of [0, 1] (the lowest such bin on a tie)."""
    gray = np.asarray(gray, dtype=np.float64)
    bins = np.minimum((gray * 64).astype(np.int64), 63)
    return float(np.median(gray[bins == np.bincount(bins.ravel(), minlength=64).argmax()]))


def ink_image(gray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Step 2: a grayscale image as ink, high values on a background of 0, in [0, 1].

    The background is the image's commonest level (:func:`background_level`); the ink is on
    the side of the extreme further from it (dark ink on light paper is inverted). Ink weaker than
    ``threshold`` times the strongest ink is set to 0, and so are isolated specks (with
    ``threshold=0``, neither). Raises ``ValueError`` for a blank
    image, one whose ink differs from the background by less than :data:`MIN_CONTRAST`.
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"gray must be a non-empty 2-D array, got shape {gray.shape}")
    threshold = checked_number(threshold, "threshold", 0, 1)
    background = background_level(gray)
    low, high = np.percentile(gray, [0.1, 99.9])
    ink = background - gray if background - low > high - background else gray - background
    ink = np.clip(ink, 0.0, None)
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        raise ValueError(
            f"the image is blank: no pixel differs from the background level {background:.3f} "
            f"by more than {strongest:.3f}"
        )
    ink = np.minimum(ink / strongest, 1.0)
    if threshold > 0:
        ink[ink < threshold] = 0.0
        ink[_specks(ink > 0)] = 0.0
    return ink


def _specks(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` with fewer than two neighbours in ``mask`` (of their eight)."""
    padded = np.pad(mask, 1).astype(np.uint8)
    height, width = mask.shape
    neighbours = np.zeros(mask.shape, dtype=np.uint8)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            if (dr, dc) != (1, 1):
                neighbours += padded[dr : dr + height, dc : dc + width]
    return mask & (neighbours < 2)


def check_one_digit(ink) -> None:
    """Raise ``ValueError``, saying what to do, when ``ink`` (step 2) does not look like one
    digit on plain paper: it touches three or more edges of the image, covers more than
    :data:`MAX_INK_SHARE` of it, or runs along all four sides of its bounding box (a frame)."""
    inked = np.asarray(ink) > 0
    edges = [
        name
        for name, line in (("top", inked[0]), ("bottom", inked[-1]), ("left", inked[:, 0]), ("right", inked[:, -1]))
        if line.any()
    ]
    if len(edges) >= 3:
        raise ValueError(
            f"the ink touches the {', '.join(edges)} edges of the image, so it is not one digit on plain paper "
            "(the edge of the page, a table or a shadow counts as ink): crop the photo to the digit with a margin "
            "of plain paper around it, in even light"
        )
    share = float(inked.mean())
    if share > MAX_INK_SHARE:
        raise ValueError(
            f"ink covers {share:.0%} of the image, more than one digit does: crop the photo with a margin of plain "
            "paper around the digit, and photograph it in even light"
        )
    if not inked.any():
        return
    box = crop_to_ink(inked)
    short, long = sorted(box.shape)
    sides = (box[0].mean(), box[-1].mean(), box[:, 0].mean(), box[:, -1].mean())
    if short >= FRAME_MIN_SIDE and short >= long / 2 and min(sides) >= FRAME_SIDE_SHARE:
        raise ValueError(
            "the ink runs along all four sides of its bounding box, like a frame drawn around the digit: crop the "
            "image inside the frame"
        )


def crop_to_ink(ink) -> np.ndarray:
    """Step 3: the smallest rectangle of ``ink`` that holds every non-zero pixel."""
    ink = np.asarray(ink)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ValueError("the image is blank: it has no ink to crop to")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_in_box(cropped, box: int = BOX) -> np.ndarray:
    """Step 4: resize so that the longer side is ``box`` pixels, keeping the aspect ratio.

    Pillow's box filter when shrinking (each pixel the average of the area it covers),
    bilinear interpolation when enlarging; the result is stretched so that its strongest
    pixel is 1.
    """
    from PIL import Image

    cropped = np.asarray(cropped, dtype=np.float32)
    height, width = cropped.shape
    factor = box / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))  # Pillow: (width, height)
    filters = getattr(Image, "Resampling", Image)
    resample = filters.BOX if factor < 1 else filters.BILINEAR
    scaled = np.asarray(Image.fromarray(cropped).resize(size, resample), dtype=np.float64)
    scaled = np.clip(scaled, 0.0, 1.0)
    if scaled.max() <= 0:
        raise ValueError("the image is blank: its ink vanished when scaled to the box")
    return scaled / scaled.max()


def centre_of_mass(image) -> tuple[float, float]:
    """The (row, column) of an image's centre of mass, its pixel values as masses."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        raise ValueError("an image without ink has no centre of mass")
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def centre_in_frame(scaled, frame: int = FRAME, centre=CENTRE) -> np.ndarray:
    """Step 5: place ``scaled`` in a ``frame`` × ``frame`` image, its centre of mass moved
    by whole pixels to ``centre``, but never so far that part of it leaves the frame."""
    scaled = np.asarray(scaled, dtype=np.float64)
    height, width = scaled.shape
    if height > frame or width > frame:
        raise ValueError(f"an image of {height} × {width} does not fit a {frame} × {frame} frame")
    row, col = centre_of_mass(scaled)
    top = int(np.clip(np.floor(centre[0] - row + 0.5), 0, frame - height))
    left = int(np.clip(np.floor(centre[1] - col + 0.5), 0, frame - width))
    placed = np.zeros((frame, frame))
    placed[top : top + height, left : left + width] = scaled
    return placed


def prepare_digit(image, threshold: float = INK_THRESHOLD, return_steps: bool = False):
    """Make an image of one handwritten digit into what the book's model expects.

    ``image`` is a NumPy array, gray (H, W) or (H, W, 1), RGB (H, W, 3) or RGBA
    (H, W, 4), of any size and numeric dtype; a Pillow image; or the path of an image
    file. Dark ink on light paper and light ink on a dark background both work. The
    module's notes describe each step. Returns a float32 array of shape (28, 28, 1) with
    values in [0, 1], 0 the background, like ``digitlib.preprocess``'s images; with
    ``return_steps=True``, returns ``(digit, steps)``, where ``steps`` maps each name in
    :data:`STEPS` to that step's 2-D image.

    Raises ``FileNotFoundError`` for a path with no file, and ``ValueError`` naming the
    problem for a file that is not an image or too large to open safely, an empty or blank
    image, NaN or infinite values, negative values, a colour image with 2 or more than 4
    channels, more than two dimensions after reduction to grayscale, or ink that does not
    look like one digit (:func:`check_one_digit`).
    """
    gray = to_grayscale(image)
    ink = ink_image(gray, threshold)
    check_one_digit(ink)
    cropped = crop_to_ink(ink)
    scaled = fit_in_box(cropped)
    centred = centre_in_frame(scaled)
    digit = centred.astype(np.float32)[:, :, np.newaxis]
    if not return_steps:
        return digit
    steps = dict(zip(STEPS, (gray, ink, cropped, scaled, centred)))
    return digit, steps


def predict_digit(model, image, threshold: float = INK_THRESHOLD):
    """Which digit ``model`` reads in ``image``: ``(digit, probabilities)``.

    ``image`` is anything :func:`prepare_digit` accepts; ``model`` a Keras model that
    takes (N, 28, 28, 1) images and outputs ten probabilities per image, like the book's
    (a model that outputs logits is refused).
    ``digit`` is the most probable digit (an ``int``) and ``probabilities`` a float64
    array of the ten probabilities.
    """
    expected = (FRAME, FRAME, 1)
    if tuple(getattr(model, "input_shape", (None,))[1:]) != expected:
        raise ValueError(
            f"model must take images of shape (N, 28, 28, 1), but its input shape is "
            f"{getattr(model, 'input_shape', None)}"
        )
    digit = prepare_digit(image, threshold)
    probabilities = np.asarray(model.predict(digit[np.newaxis], verbose=0), dtype=np.float64)[0]
    if probabilities.shape != (10,):
        raise ValueError(f"model must output 10 probabilities per image, got shape {probabilities.shape}")
    if probabilities.min() < 0 or abs(probabilities.sum() - 1) > 1e-3:
        raise ValueError(
            f"model must output probabilities, but its ten outputs sum to {probabilities.sum():.4g}"
            f"{' and some are negative' if probabilities.min() < 0 else ''}: a model that outputs logits needs a "
            "softmax, for example keras.Sequential([model, keras.layers.Softmax()])"
        )
    return int(np.argmax(probabilities)), probabilities


def draw_strokes(strokes, shape=(FRAME, FRAME), width: float = 2.0, box=None) -> np.ndarray:
    """Draw pen strokes into an image: ink 1 on a background of 0, anti-aliased.

    Each stroke is a sequence of (x, y) points in a unit square, x to the right and y
    downwards, joined by straight lines of ``width`` pixels. The unit square is mapped
    onto ``box`` = (left, top, right, bottom) in pixels, by default the whole image less a
    margin of a tenth on every side. Returns a float64 array of ``shape`` (height, width).
    """
    height, width_px = (int(n) for n in shape)
    if height < 1 or width_px < 1:
        raise ValueError(f"shape must be two positive sizes, got {shape!r}")
    width = checked_number(width, "width", include_low=False)
    if box is None:
        box = (0.1 * width_px, 0.1 * height, 0.9 * width_px, 0.9 * height)
    left, top, right, bottom = (float(v) for v in box)
    scale, offset = np.array([right - left, bottom - top]), np.array([left, top])
    rows, cols = np.indices((height, width_px))
    centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)  # pixel centres (x, y)
    distance = np.full(len(centres), np.inf)
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2) * scale + offset
        if len(points) == 0:
            raise ValueError("a stroke needs at least one point")
        starts, ends = (points[:-1], points[1:]) if len(points) > 1 else (points, points)
        for start, end in zip(starts, ends):
            along = end - start
            length2 = float(along @ along)
            t = np.zeros(len(centres)) if length2 == 0 else np.clip((centres - start) @ along / length2, 0, 1)
            nearest = start + t[:, np.newaxis] * along
            distance = np.minimum(distance, np.hypot(*(centres - nearest).T))
    ink = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)  # one pixel of soft edge
    return ink.reshape(height, width_px)
