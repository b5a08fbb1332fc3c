"""digitlib.own_digits: any image of one digit becomes an MNIST-style 28 x 28 input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import digitlib
from digitlib import own_digits

SEVEN = [[(0.1, 0.05), (0.9, 0.05), (0.4, 0.95)]]
ZERO = [np.stack([0.5 + 0.35 * np.cos(a), 0.5 + 0.45 * np.sin(a)], axis=1) for a in [np.linspace(0, 2 * np.pi, 60)]]


def paper(ink, background=0.95, pen=0.1):
    """Dark pen on light paper, float in [0, 1]."""
    return background - (background - pen) * ink


@pytest.fixture
def seven():
    """A 7 in dark ink on light paper, off centre on a 150 x 110 canvas, float in [0, 1]."""
    ink = digitlib.draw_strokes(SEVEN, (150, 110), width=9, box=(10, 20, 70, 120))
    return paper(ink)


def _box(ink):
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


# --- the result and each step ----------------------------------------------------------------


def test_result_is_what_the_model_expects(seven):
    digit = digitlib.prepare_digit(seven)
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32
    assert digit.min() == 0 and digit.max() == 1
    assert (digit[0] == 0).all() and (digit[-1] == 0).all()  # background at the edges


def test_steps_are_named_and_ordered(seven):
    digit, steps = digitlib.prepare_digit(seven, return_steps=True)
    assert tuple(steps) == own_digits.STEPS == ("grayscale", "ink", "cropped", "scaled", "centred")
    assert steps["grayscale"].shape == steps["ink"].shape == (150, 110)
    assert steps["centred"].shape == (28, 28)
    np.testing.assert_array_equal(digit[..., 0], steps["centred"].astype(np.float32))
    np.testing.assert_allclose(steps["grayscale"], seven)


def test_ink_is_high_on_a_zero_background(seven):
    ink = digitlib.prepare_digit(seven, return_steps=True)[1]["ink"]
    assert ink.max() == 1 and ink[0, 0] == 0
    assert ink[25, 50] == 1  # on the top bar of the 7
    assert ink[140, 100] == 0  # paper


def test_crop_is_the_bounding_box_of_the_ink():
    image = np.zeros((50, 40))
    image[12:31, 7:19] = 1.0  # rows 12..30, columns 7..18
    image[20:22, 23:26] = 0.5  # fainter ink still counts, and widens the box
    image[40, 35] = 1.0  # a speck: no inked neighbours
    image[3, 3] = 0.1  # ink below the threshold
    steps = digitlib.prepare_digit(image, return_steps=True)[1]
    assert _box(steps["ink"]) == (12, 30, 7, 25)
    assert steps["cropped"].shape == (19, 19)
    np.testing.assert_array_equal(steps["cropped"], steps["ink"][12:31, 7:26])
    kept = digitlib.prepare_digit(image, threshold=0, return_steps=True)[1]  # no cleaning
    assert _box(kept["ink"]) == (3, 40, 3, 35)


@pytest.mark.parametrize(
    "shape, scaled",
    [((60, 30), (20, 10)), ((30, 90), (7, 20)), ((5, 4), (20, 16)), ((200, 200), (20, 20)), ((3, 100), (1, 20))],
)
def test_longer_side_becomes_20_and_the_aspect_ratio_stays(shape, scaled):
    # a solid block is no digit (prepare_digit refuses most), so the steps are called one by one
    image = np.zeros((shape[0] + 2 * max(shape), shape[1] + 2 * max(shape)))  # mostly background
    image[max(shape) : max(shape) + shape[0], max(shape) : max(shape) + shape[1]] = 1.0
    cropped = own_digits.crop_to_ink(own_digits.ink_image(image))
    result = own_digits.fit_in_box(cropped)
    assert cropped.shape == shape
    assert result.shape == scaled
    assert max(scaled) == 20
    short, long = sorted(shape)
    assert abs(min(scaled) - short * 20 / long) <= 0.5 or min(scaled) == 1  # the aspect ratio, to a pixel
    assert result.max() == 1


def test_shrinking_is_anti_aliased():
    """A thin line shrunk 5 times becomes grey levels, not a broken line of full pixels."""
    image = np.zeros((120, 120))
    image[10:110, 58:61] = 1.0  # 100 x 3
    image[10:13, 10:110] = 1.0  # 3 x 100
    scaled = digitlib.prepare_digit(image, return_steps=True)[1]["scaled"]
    values = np.unique(np.round(scaled, 3))
    assert len(values) > 3 and 0 < values[1] < 1


@pytest.mark.parametrize("strokes", [SEVEN, ZERO, [[(0.5, 0.0), (0.5, 1.0)]], [[(0, 0), (1, 1)], [(0, 1), (1, 0)]]])
def test_centre_of_mass_lands_within_half_a_pixel_of_14_14(strokes):
    ink = digitlib.draw_strokes(strokes, (90, 130), width=7, box=(5, 5, 70, 80))
    digit = digitlib.prepare_digit(ink)[..., 0]
    row, col = own_digits.centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 + 1e-9 and abs(col - 14) <= 0.5 + 1e-9


def test_centring_moves_by_whole_pixels_and_keeps_the_digit_in_the_frame():
    scaled = np.zeros((20, 6))
    scaled[:, 0] = 1.0
    scaled[0, :] = 1.0
    placed = own_digits.centre_in_frame(scaled)
    rows, cols = np.nonzero(placed)
    np.testing.assert_array_equal(placed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], scaled)
    lopsided = np.zeros((20, 20))
    lopsided[0, 0] = 1.0  # all its mass in a corner: the shift stops at the frame's edge
    placed = own_digits.centre_in_frame(lopsided)
    assert placed[8, 8] == 1 and placed.sum() == 1


# --- polarity, dtypes and sources give the same digit ---------------------------------------


def test_polarity_is_detected_both_ways(seven):
    dark_on_light = digitlib.prepare_digit(seven)
    light_on_dark = digitlib.prepare_digit(1.0 - seven)
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=1e-6)
    ink = digitlib.prepare_digit(seven, return_steps=True)[1]["ink"]
    ink_inverse = digitlib.prepare_digit(1.0 - seven, return_steps=True)[1]["ink"]
    np.testing.assert_allclose(ink, ink_inverse, atol=1e-9)


def test_polarity_on_a_grey_background():
    """Dark ink on mid-grey paper: the background is not 'light', yet the ink is found."""
    ink = digitlib.draw_strokes(SEVEN, (60, 60), width=5)
    darker = digitlib.prepare_digit(0.45 - 0.4 * ink)
    lighter = digitlib.prepare_digit(0.45 + 0.4 * ink)
    np.testing.assert_allclose(darker, lighter, atol=1e-6)
    np.testing.assert_allclose(darker, digitlib.prepare_digit(ink), atol=1e-6)


def test_uint8_and_float_and_channel_axis_give_the_same_digit(seven):
    as_uint8 = np.round(seven * 255).astype(np.uint8)
    expected = digitlib.prepare_digit(as_uint8)
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8 / 255.0), expected, atol=1e-6)
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8.astype(np.float32)), expected, atol=1e-6)  # 0..255
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8.astype(np.int64)), expected, atol=1e-6)
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8[..., np.newaxis]), expected, atol=1e-6)
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8.astype(np.uint16) * 257), expected, atol=1e-6)
    np.testing.assert_allclose(digitlib.prepare_digit(as_uint8.tolist()), expected, atol=1e-6)


def test_colour_images_are_reduced_by_luminance(seven):
    ink = 1 - (seven - seven.min()) / (seven.max() - seven.min())
    gray = digitlib.prepare_digit(paper(ink))
    cream, blue = np.array([0.97, 0.94, 0.85]), np.array([0.1, 0.15, 0.55])
    rgb = cream * (1 - ink[..., None]) + blue * ink[..., None]
    np.testing.assert_allclose(own_digits.to_grayscale(rgb), rgb @ [0.299, 0.587, 0.114])
    np.testing.assert_allclose(digitlib.prepare_digit(rgb), gray, atol=1e-6)


def test_rgba_is_composited_on_white(seven):
    ink = 1 - (seven - seven.min()) / (seven.max() - seven.min())
    rgba = np.zeros(ink.shape + (4,))
    rgba[..., 3] = ink  # black ink, transparent elsewhere (colour 0 under alpha 0)
    np.testing.assert_allclose(own_digits.to_grayscale(rgba), 1 - ink)
    np.testing.assert_allclose(digitlib.prepare_digit(rgba), digitlib.prepare_digit(1 - ink), atol=1e-6)
    rgba[..., :3] = 1.0  # white ink on a transparent background vanishes on white paper
    with pytest.raises(ValueError, match="blank"):
        digitlib.prepare_digit(rgba)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16", "P"])
def test_an_image_file_gives_the_same_digit_as_the_array(seven, tmp_path, mode):
    gray = np.round(seven * 255).astype(np.uint8)
    image = Image.fromarray(gray)
    if mode == "I;16":
        image = Image.fromarray(gray.astype(np.uint16) * 257)
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    elif mode != "L":
        image = image.convert(mode)
    path = tmp_path / "digit.png"
    image.save(path)
    expected = digitlib.prepare_digit(gray)
    np.testing.assert_allclose(digitlib.prepare_digit(path), expected, atol=1e-6)
    np.testing.assert_allclose(digitlib.prepare_digit(str(path)), expected, atol=1e-6)
    with Image.open(path) as opened:
        np.testing.assert_allclose(digitlib.prepare_digit(opened), expected, atol=1e-6)


def test_a_noisy_photo_like_image_is_cleaned(seven):
    """Uneven light and sensor noise neither count as ink nor widen the crop."""
    rng = np.random.default_rng(0)
    ink = 1 - (seven - seven.min()) / (seven.max() - seven.min())
    shade = np.linspace(0.0, 0.15, ink.shape[1])[np.newaxis, :]
    photo = np.clip(paper(ink) - shade + rng.normal(0, 0.03, ink.shape), 0, 1)
    clean = digitlib.prepare_digit(paper(ink), return_steps=True)[1]
    noisy = digitlib.prepare_digit(photo, return_steps=True)[1]
    assert abs(noisy["cropped"].shape[0] - clean["cropped"].shape[0]) <= 2
    assert abs(noisy["cropped"].shape[1] - clean["cropped"].shape[1]) <= 2
    assert noisy["scaled"].shape == clean["scaled"].shape
    assert np.corrcoef(noisy["scaled"].ravel(), clean["scaled"].ravel())[0, 1] > 0.95


# --- MNIST digits survive the round trip -------------------------------------------------------


@pytest.fixture(scope="module")
def test_digits(mnist):
    _, (x_test, y_test) = mnist
    return x_test[:300], y_test[:300]


def test_mnist_digits_come_back_unchanged_without_the_noise_threshold(test_digits):
    images, _ = test_digits
    # the ink step stretches every digit so that its strongest pixel is 1
    unchanged = [
        np.allclose(digitlib.prepare_digit(image, threshold=0)[..., 0], image / image.max(), atol=1e-6)
        for image in images
    ]
    assert np.mean(unchanged) >= 0.98


@pytest.fixture(scope="module")
def small_model(mnist):
    """The book's model after one quick epoch on 3,000 training digits (about 90% right)."""
    (x_train, y_train), _ = mnist
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = digitlib.preprocess(x_train[:3000], y_train[:3000])
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    return model


def test_mnist_digits_are_read_the_same_after_preparation(test_digits, small_model):
    images, labels = test_digits
    direct = small_model.predict(digitlib.scale_images(images)[..., np.newaxis], verbose=0).argmax(axis=1)
    prepared = np.stack([digitlib.prepare_digit(image) for image in images])
    again = small_model.predict(prepared, verbose=0).argmax(axis=1)
    assert (direct == labels).mean() > 0.8  # the model has learned something
    assert (again == direct).mean() >= 0.98


# --- predict_digit ---------------------------------------------------------------------------


def test_predict_digit_returns_the_argmax_and_ten_probabilities(seven, small_model):
    digit, probabilities = digitlib.predict_digit(small_model, seven)
    assert isinstance(digit, int) and 0 <= digit <= 9
    assert probabilities.shape == (10,) and probabilities.dtype == np.float64
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert digit == int(np.argmax(probabilities))
    expected = small_model.predict(digitlib.prepare_digit(seven)[np.newaxis], verbose=0)[0]
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6)


def test_predict_digit_with_an_untrained_model_and_a_file(seven, tmp_path):
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    path = tmp_path / "seven.png"
    Image.fromarray(np.round(seven * 255).astype(np.uint8)).save(path)
    digit, probabilities = digitlib.predict_digit(model, path)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert digit == int(np.argmax(probabilities))


def test_predict_digit_refuses_a_model_for_other_images(seven):
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="28, 28, 1"):
        digitlib.predict_digit(model, seven)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((0, 0)), "empty"),
        (np.zeros((0, 5, 3)), "empty"),
        ([], "empty"),
        (np.zeros((28, 28)), "blank"),
        (np.full((40, 30), 255, dtype=np.uint8), "blank"),
        (np.full((40, 30, 3), 0.5), "blank"),
        (np.full((40, 30), 0.5) + np.random.default_rng(0).uniform(0, 0.01, (40, 30)), "blank"),
        (np.where(np.eye(28) > 0, np.nan, 0.0), "NaN or infinite"),
        (np.where(np.eye(28) > 0, np.inf, 0.0), "NaN or infinite"),
        (np.full((28, 28), -1.0), "negative"),
        (np.full((28, 28), -3, dtype=np.int16), "negative"),
        (np.full((28, 28), 300.0), "0..1"),
        (np.full((28, 28), 70000, dtype=np.int64), "0..65535"),
        (np.ones((28, 28, 2)), "2 channels"),
        (np.ones((28, 28, 5)), r"must have 2 dimensions .* shape \(28, 28, 5\); for a stack"),
        (np.ones((2, 28, 28)), r"shape \(2, 28, 28\); for a stack of images, pass one image at a time"),
        (np.ones((1, 28, 28, 1)), r"shape \(1, 28, 28, 1\); for a stack"),
        (np.ones((28, 28, 3, 1)), r"shape \(28, 28, 3, 1\)"),
        (np.ones((4, 28, 28, 3)), r"shape \(4, 28, 28, 3\); for a stack"),
        (np.ones(28), r"must have 2 dimensions \(height, width\) .* shape \(28,\)$"),
        (np.float64(1.0), r"shape \(\)$"),
        (np.full((28, 28), "ink"), "numbers"),
        (np.full((28, 28), 1 + 1j), "numbers"),
        (np.array([[None, 1]]), "numbers"),
    ],
)
def test_bad_images_are_clear_value_errors(image, message):
    with pytest.raises(ValueError, match=message):
        digitlib.prepare_digit(image)


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "no-such-digit.png"
    with pytest.raises(FileNotFoundError, match="no-such-digit.png"):
        digitlib.prepare_digit(path)


def test_a_file_that_is_not_an_image_is_named(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture at all")
    with pytest.raises(ValueError, match="notes.png is not an image"):
        digitlib.prepare_digit(str(path))
    with pytest.raises(ValueError, match="folder"):
        digitlib.prepare_digit(tmp_path)


@pytest.mark.parametrize("threshold", [-0.1, 1.0, "0.2", True])
def test_bad_thresholds(seven, threshold):
    with pytest.raises(ValueError, match="threshold"):
        digitlib.prepare_digit(seven, threshold=threshold)


# --- draw_strokes ------------------------------------------------------------------------------


def test_draw_strokes_draws_an_anti_aliased_line_of_the_given_width():
    ink = digitlib.draw_strokes([[(0.0, 0.5), (1.0, 0.5)]], (20, 30), width=3, box=(0, 0, 30, 20))
    assert ink.shape == (20, 30) and ink.min() == 0 and ink.max() == 1
    # the line runs along y = 10 and covers 8.5 <= y <= 11.5; pixel row r spans r <= y <= r + 1
    np.testing.assert_array_equal(ink[6:14, 15], [0, 0, 0.5, 1, 1, 0.5, 0, 0])
    assert (ink[:8] == 0).all() and (ink[12:] == 0).all()


def test_draw_strokes_default_box_and_single_points():
    dot = digitlib.draw_strokes([[(0.0, 0.0)]], (50, 50), width=2)
    assert dot[5, 5] > 0 and dot.sum() < 10  # at the margin: a tenth of the side
    with pytest.raises(ValueError, match="width"):
        digitlib.draw_strokes(SEVEN, (20, 20), width=0)
    with pytest.raises(ValueError, match="shape"):
        digitlib.draw_strokes(SEVEN, (0, 20))
    with pytest.raises(ValueError, match="at least one point"):
        digitlib.draw_strokes([[]], (20, 20))


# --- photos that are not one digit on plain paper: refused with advice, never read wrong ------


def _photo(size=(200, 200), paper_level=0.92):
    """A 7 in dark ink on light paper, float in [0, 1]."""
    return paper(digitlib.draw_strokes(SEVEN, size, width=12, box=(60, 50, 140, 150)), background=paper_level)


def test_a_page_on_a_dark_table_is_refused_not_read_as_a_hole():
    photo = _photo()
    photo[:, :25] = photo[:, -25:] = photo[:15] = photo[-15:] = 0.15  # the table around the page
    with pytest.raises(ValueError, match="touches the top, bottom, left, right edges.*crop the photo to the digit"):
        digitlib.prepare_digit(photo)


def test_a_small_page_on_a_large_dark_table_is_refused():
    photo = np.full((300, 300), 0.15)
    photo[110:190, 110:190] = paper(digitlib.draw_strokes(SEVEN, (80, 80), width=6))
    with pytest.raises(ValueError, match="frame"):
        digitlib.prepare_digit(photo)


def test_a_digit_inside_a_drawn_frame_is_refused():
    strokes = SEVEN + [[(-0.2, -0.2), (1.2, -0.2), (1.2, 1.2), (-0.2, 1.2), (-0.2, -0.2)]]
    photo = paper(digitlib.draw_strokes(strokes, (200, 200), width=6, box=(50, 50, 150, 150)))
    with pytest.raises(ValueError, match="crop the image inside the frame"):
        digitlib.prepare_digit(photo)


def test_a_tightly_cropped_thick_one_is_refused():
    photo = np.full((100, 40), 0.9)
    photo[:, 8:32] = 0.1  # a thick 1 from the top edge to the bottom, 60% of the picture
    with pytest.raises(ValueError, match="edges of the image"):
        digitlib.prepare_digit(photo)


def test_a_digit_half_in_shadow_is_refused_but_a_faint_shadow_is_ignored(seven):
    clean = digitlib.prepare_digit(_photo())
    faint, dark = _photo(), _photo()
    faint[:, 120:] -= 0.1
    dark[:, 120:] -= 0.4
    shaded = digitlib.prepare_digit(np.clip(faint, 0, 1))
    assert np.corrcoef(shaded.ravel(), clean.ravel())[0, 1] > 0.97
    with pytest.raises(ValueError, match="in even light"):
        digitlib.prepare_digit(np.clip(dark, 0, 1))


def test_ordinary_digits_pass_the_one_digit_check(test_digits, seven):
    images, _ = test_digits
    for image in [*images, seven, _photo()]:
        own_digits.check_one_digit(own_digits.ink_image(own_digits.to_grayscale(image)))


def test_bytes_and_open_files_give_the_same_digit_as_the_array(seven, tmp_path):
    path = tmp_path / "seven.png"
    Image.fromarray(np.round(seven * 255).astype(np.uint8)).save(path)
    expected = digitlib.prepare_digit(path)
    np.testing.assert_array_equal(digitlib.prepare_digit(path.read_bytes()), expected)  # a Colab upload
    with open(path, "rb") as file:
        np.testing.assert_array_equal(digitlib.prepare_digit(file), expected)
    with pytest.raises(ValueError, match="the image bytes is not an image"):
        digitlib.prepare_digit(b"not an image")


def test_an_image_too_large_to_open_safely_is_a_value_error(seven, tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((300, 300), dtype=np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # 90,000 pixels is over twice the limit
    with pytest.raises(ValueError, match="too large to open safely.*scale the photo down"):
        digitlib.prepare_digit(path)


def test_a_model_that_outputs_logits_is_refused(seven):
    digitlib.set_seed(0)
    logits = digitlib.simple_convnet()
    logits.get_layer("classifier").activation = keras.activations.linear
    with pytest.raises(ValueError, match="logits needs a softmax"):
        digitlib.predict_digit(logits, seven)
