"""digitlib.plotting: figures carry titles, labels and the marks the chapters describe."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from digitlib import plotting

matplotlib.use("Agg")
PERCEPTUALLY_UNIFORM = {"viridis", "plasma", "inferno", "magma", "cividis"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def digits():
    return np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_grid_titles_each_digit_with_its_label(digits):
    fig = plotting.plot_digit_grid(digits, labels=[3, 1, 4, 1, 5, 9, 2], ncols=3, title="Some digits")
    axes = _image_axes(fig)
    assert len(axes) == 7
    assert [ax.get_title() for ax in axes] == ["3", "1", "4", "1", "5", "9", "2"]
    assert fig._suptitle.get_text() == "Some digits"
    assert len(fig.axes) == 9 and sum(not ax.axison for ax in fig.axes) == 2  # 3 x 3, two blank
    assert all(ax.images[0].get_cmap().name in PERCEPTUALLY_UNIFORM for ax in axes)


def test_grid_marks_exactly_the_mistakes(digits):
    labels = [0, 1, 2, 3, 4, 5, 6]
    predictions = [0, 7, 2, 3, 9, 5, 6]
    fig = plotting.plot_digit_grid(digits, labels=labels, predictions=predictions)
    axes = _image_axes(fig)
    marked = [ax.get_title().endswith("✗") for ax in axes]
    assert marked == [False, True, False, False, True, False, False]
    for ax, wrong in zip(axes, marked):
        color = matplotlib.colors.to_hex(ax.title.get_color())
        assert (color == plotting.MISTAKE_COLOR) == wrong
        assert (ax.spines["top"].get_linewidth() == 3) == wrong
    assert axes[1].get_title() == "pred 7 / true 1 ✗"


def test_grid_accepts_channel_axis_and_predictions_alone(digits):
    fig = plotting.plot_digit_grid(digits[..., None], predictions=list(range(7)))
    assert _image_axes(fig)[2].get_title() == "pred 2"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": np.zeros((28, 28))}, "stack"),
        ({"images": np.zeros((0, 28, 28))}, "non-empty"),
        ({"labels": [1, 2]}, "labels has 2 entries but there are 7 images"),
        ({"predictions": [1] * 8}, "predictions has 8 entries"),
        ({"ncols": 0}, "ncols"),
    ],
)
def test_grid_bad_input(digits, kwargs, message):
    kwargs.setdefault("images", digits)
    with pytest.raises(ValueError, match=message):
        plotting.plot_digit_grid(**kwargs)


def test_pixel_plot_writes_every_value(digits):
    fig = plotting.plot_digit_pixels(digits[0], title="Numbers")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 784
    assert texts[:3] == [str(v) for v in digits[0, 0, :3]]
    assert ax.get_title() == "Numbers" and ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    assert fig.axes[1].get_ylabel() == "pixel value"  # the colour bar


def test_pixel_plot_names_its_values():
    fig = plotting.plot_digit_pixels(np.eye(3), title="Kernel", value_label="weight")
    assert fig.axes[1].get_ylabel() == "weight"
    assert [t.get_text() for t in fig.axes[0].texts][:3] == ["1", "0", "0"]


def test_pixel_plot_rejects_a_stack(digits):
    with pytest.raises(ValueError, match="2-D"):
        plotting.plot_digit_pixels(digits)


def test_class_counts_bars_match_the_labels():
    labels = np.array([0, 1, 1, 2, 2, 2, 9])
    fig = plotting.plot_class_counts(labels, title="Counts")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [1, 2, 3, 0, 0, 0, 0, 0, 0, 1]
    assert ax.get_xlabel() == "digit" and ax.get_ylabel() == "number of images"
    assert ax.get_title() == "Counts"


@pytest.mark.parametrize("labels", [np.array([0, 10]), np.array([-1]), np.array([0.5]), np.array([])])
def test_class_counts_bad_labels(labels):
    with pytest.raises(ValueError, match="labels"):
        plotting.plot_class_counts(labels)


def test_figures_have_an_opaque_white_background(digits):
    for fig in (plotting.plot_digit_grid(digits), plotting.plot_class_counts(np.array([1, 2]))):
        assert matplotlib.colors.to_hex(fig.get_facecolor()) == "#ffffff"


def test_image_grid_titles_and_shared_scale():
    images = np.stack([np.full((5, 5), v, dtype=float) for v in (-1.0, 0.0, 2.0)])
    fig = plotting.plot_image_grid(images, titles=["a", "b", "c"], title="Three", shared_scale=True)
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert all(ax.images[0].get_clim() == (-1.0, 2.0) for ax in axes)
    assert any(ax.get_ylabel() == "value" for ax in fig.axes)  # the shared colour bar
    with pytest.raises(ValueError, match="titles has 2 entries"):
        plotting.plot_image_grid(images, titles=["a", "b"])


def test_filters_one_panel_per_filter():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 1, 6))
    fig = plotting.plot_filters(kernel, title="Six filters", ncols=3)
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"filter {i}" for i in range(6)]
    np.testing.assert_array_equal(axes[4].images[0].get_array(), kernel[:, :, 0, 4])
    with pytest.raises(ValueError, match="4-D"):
        plotting.plot_filters(kernel[..., 0])
    with pytest.raises(ValueError, match="in_channel"):
        plotting.plot_filters(kernel, in_channel=1)


def test_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(0).random((1, 7, 7, 4))
    fig = plotting.plot_feature_maps(maps, title="Maps")
    axes = _image_axes(fig)
    assert len(axes) == 4 and axes[3].get_title() == "map 3"
    np.testing.assert_array_equal(axes[2].images[0].get_array(), maps[0, :, :, 2])
    with pytest.raises(ValueError, match="one image"):
        plotting.plot_feature_maps(np.zeros((2, 7, 7, 4)))


def test_lines_labels_and_legend():
    fig = plotting.plot_lines(
        [0, 1, 2], {"pooled": [0, 0.1, 0.2], "unpooled": [0, 0.3, 0.5]}, xlabel="shift", ylabel="change", title="Shifts"
    )
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["pooled", "unpooled"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("shift", "change", "Shifts")
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_lines([0, 1], {"a": [1, 2, 3]}, "x", "y", "t")
    with pytest.raises(ValueError, match="at least one"):
        plotting.plot_lines([0, 1], {}, "x", "y", "t")


def test_learning_curves_plot_training_against_validation_per_epoch():
    values = {
        "loss": [0.5, 0.3, 0.2],
        "val_loss": [0.4, 0.3, 0.35],
        "accuracy": [0.8, 0.9, 0.95],
        "val_accuracy": [0.85, 0.9, 0.91],
    }
    fig = plotting.plot_learning_curves(values, title="Curves")
    loss_ax, accuracy_ax = fig.axes
    assert fig.get_suptitle() == "Curves"
    for ax, metric in [(loss_ax, "loss"), (accuracy_ax, "accuracy")]:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", metric)
        training, validation = ax.lines
        assert (training.get_label(), validation.get_label()) == ("training", "validation")
        np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3])  # epochs count from 1
        np.testing.assert_array_equal(training.get_ydata(), values[metric])
        np.testing.assert_array_equal(validation.get_ydata(), values["val_" + metric])


def test_learning_curves_accept_a_history_object():
    class History:  # Keras's History and digitlib's TrainingHistory both keep .history
        history = {"loss": [1.0], "val_loss": [1.1], "accuracy": [0.5], "val_accuracy": [0.4]}

    fig = plotting.plot_learning_curves(History())
    assert len(fig.axes[0].lines[0].get_xdata()) == 1


@pytest.mark.parametrize(
    "history, message",
    [
        ([0.1, 0.2], "history must be"),
        ({"loss": [0.1], "val_loss": [0.2]}, "lacks"),
        ({"loss": [0.1, 0.2], "val_loss": [0.2], "accuracy": [0.9], "val_accuracy": [0.9]}, "equally long"),
        ({"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}, "non-empty"),
    ],
)
def test_learning_curves_bad_input(history, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_learning_curves(history)


# --- predictions and your own digits ---------------------------------------------------------


@pytest.mark.parametrize(
    "p, text",
    [
        (0.5, "50%"),
        (0.996, "99.60%"),
        (0.00123, "0.12%"),
        (0.99995, ">99.99%"),
        (0.00001, "<0.01%"),
        (1.0, ">99.99%"),
        (0.0, "<0.01%"),
    ],
)
def test_percentages_never_round_a_near_certainty_to_100(p, text):
    assert plotting._percent(p) == text


def test_prediction_shows_the_image_and_one_bar_per_digit(digits):
    probabilities = np.full(10, 0.02)
    probabilities[7] = 0.82
    fig = plotting.plot_prediction(digits[0], probabilities, label=7, title="One digit")
    image_ax, bar_ax = fig.axes
    np.testing.assert_array_equal(image_ax.images[0].get_array(), digits[0])
    assert [round(p.get_height(), 6) for p in bar_ax.patches] == list(probabilities)
    assert bar_ax.get_xlabel() == "digit" and bar_ax.get_ylabel() == "probability"
    assert bar_ax.get_title() == "predicted 7" and "true digit 7" in image_ax.get_title()
    assert [t.get_text() for t in bar_ax.texts if t.get_text()] == ["82%"]  # only the predicted bar
    assert fig.get_suptitle() == "One digit"
    colors = {matplotlib.colors.to_hex(p.get_facecolor()) for p in bar_ax.patches}
    assert len(colors) == 2 and plotting.MISTAKE_COLOR not in colors


def test_prediction_marks_a_wrong_answer(digits):
    probabilities = np.full(10, 0.05)
    probabilities[3] = 0.55
    fig = plotting.plot_prediction(digits[0][..., None], probabilities, label=8)
    bar_ax = fig.axes[1]
    assert bar_ax.get_title() == "predicted 3 ✗"
    assert matplotlib.colors.to_hex(bar_ax.patches[3].get_facecolor()) == plotting.MISTAKE_COLOR
    assert "true digit 8" in fig.axes[0].get_title()


@pytest.mark.parametrize(
    "image, probabilities, label, message",
    [
        (np.zeros((2, 28, 28)), np.full(10, 0.1), None, "2-D"),
        (np.zeros((28, 28)), np.full((2, 10), 0.1), None, "1-D"),
        (np.zeros((28, 28)), np.full(10, 1.5), None, r"\[0, 1\]"),
        (np.zeros((28, 28)), np.full(10, 0.1), 10, "label"),
    ],
)
def test_prediction_bad_input(image, probabilities, label, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_prediction(image, probabilities, label=label)


def test_confusion_matrix_writes_the_counts_on_a_log_colour_scale():
    matrix = np.array([[50, 2, 0], [0, 40, 1], [3, 0, 1000]])
    fig = plotting.plot_confusion_matrix(matrix, title="Confusions")
    ax, colorbar = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted digit", "true digit", "Confusions")
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert texts == {((c, r), str(matrix[r, c])) for r in range(3) for c in range(3) if matrix[r, c]}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    image = ax.images[0]
    assert isinstance(image.norm, matplotlib.colors.LogNorm) and image.get_cmap().name in PERCEPTUALLY_UNIFORM
    assert image.get_array().mask[0, 2] and not image.get_array().mask[0, 1]  # zeros are left blank
    assert "log scale" in colorbar.get_ylabel()


@pytest.mark.parametrize(
    "matrix, message",
    [
        (np.ones((3, 4), int), "square"),
        (np.ones((3, 3)), "counts"),
        (-np.ones((3, 3), int), "counts"),
        (np.zeros((3, 3), int), "all zeros"),
    ],
)
def test_confusion_matrix_bad_input(matrix, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_confusion_matrix(matrix)


def test_confidence_histogram_has_one_group_for_right_and_one_for_wrong():
    confidence = np.array([0.99, 0.98, 0.97, 0.6, 0.95, 0.4])
    correct = np.array([True, True, True, False, True, False])
    fig = plotting.plot_confidence_histogram(confidence, correct, title="Sure?", bins=9)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["right (4 images)", "wrong (2 images)"]
    assert ax.get_title() == "Sure?" and "probability" in ax.get_xlabel() and "share" in ax.get_ylabel()
    heights = np.array([p.get_height() for p in ax.patches])
    assert heights[:9].sum() == pytest.approx(1) and heights[9:].sum() == pytest.approx(1)  # shares of each group
    assert ax.get_xlim() == (0.1, 1.0)


def test_confidence_histogram_with_no_mistakes_and_bad_input():
    fig = plotting.plot_confidence_histogram(np.array([0.9, 1.0]), np.array([True, True]))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["right (2 images)"]
    with pytest.raises(ValueError, match="boolean"):
        plotting.plot_confidence_histogram(np.array([0.9]), np.array([1]))
    with pytest.raises(ValueError, match="probabilities"):
        plotting.plot_confidence_histogram(np.array([1.2]), np.array([True]))
    with pytest.raises(ValueError, match="non-empty"):
        plotting.plot_confidence_histogram(np.array([]), np.array([], bool))


def test_mistakes_gallery_titles_the_top_two_guesses(digits):
    probabilities = np.full((3, 10), 0.01)
    probabilities[0, [9, 4]] = [0.9, 0.02]
    probabilities[1, [1, 7]] = [0.5, 0.42]
    probabilities[2, [2, 3]] = [0.8, 0.12]
    fig = plotting.plot_mistakes(digits[:3], labels=[4, 7, 2], probabilities=probabilities, title="Sure but wrong")
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "true 4\n9: 90%, 4: 2%",
        "true 7\n1: 50%, 7: 42%",
        "true 2\n2: 80%, 3: 12%",
    ]
    framed = [ax.spines["top"].get_linewidth() == 3 for ax in axes]
    assert framed == [True, True, False]  # the last one is right
    assert fig.get_suptitle() == "Sure but wrong"


def test_mistakes_gallery_bad_input(digits):
    with pytest.raises(ValueError, match="one row per image"):
        plotting.plot_mistakes(digits[:3], [1, 2, 3], np.full((2, 10), 0.1))
    with pytest.raises(ValueError, match="labels are needed"):
        plotting.plot_mistakes(digits[:3], None, np.full((3, 10), 0.1))


def test_preparation_steps_one_panel_per_step_with_its_size():
    steps = {"grayscale": np.ones((40, 30)), "cropped": np.ones((20, 11, 1)), "centred": np.zeros((28, 28))}
    fig = plotting.plot_preparation_steps(steps, title="Steps")
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["1. grayscale\n40 × 30", "2. cropped\n20 × 11", "3. centred\n28 × 28"]
    assert all(ax.images[0].get_clim() == (0, 1) for ax in axes)
    (cross,) = axes[-1].lines
    assert (cross.get_xdata()[0], cross.get_ydata()[0]) == (14, 14)  # the frame's centre
    assert fig.get_suptitle() == "Steps"
    with pytest.raises(ValueError, match="non-empty dict"):
        plotting.plot_preparation_steps({})
    with pytest.raises(ValueError, match="2-D"):
        plotting.plot_preparation_steps({"stack": np.zeros((2, 5, 5))})


def test_images_of_different_sizes_keep_their_shapes():
    gray = np.zeros((30, 80))
    rgb = np.full((60, 20, 3), 200, dtype=np.uint8)
    fig = plotting.plot_images([gray, rgb], title="Two sizes")
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["30 × 80", "60 × 20"]
    assert axes[0].images[0].get_array().shape == (30, 80) and axes[1].images[0].get_array().shape == (60, 20, 3)
    assert axes[0].images[0].get_cmap().name in PERCEPTUALLY_UNIFORM
    assert fig.get_suptitle() == "Two sizes"
    fig = plotting.plot_images([gray] * 7, titles=list("abcdefg"), ncols=3)
    assert [ax.get_title() for ax in _image_axes(fig)] == list("abcdefg") and len(fig.axes) == 9


@pytest.mark.parametrize(
    "images, titles, message",
    [
        ([], None, "at least one"),
        ([np.zeros((2, 5, 5, 3))], None, "each image"),
        ([np.zeros((5, 5, 2))], None, "each image"),
        ([np.zeros((0, 5))], None, "each image"),
        ([np.zeros((5, 5))], ["a", "b"], "titles has 2 entries"),
    ],
)
def test_images_bad_input(images, titles, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_images(images, titles=titles)


def test_lines_long_integer_axis_and_log_scale_stay_readable():
    epochs = np.arange(1, 41)
    fig = plotting.plot_lines(epochs, {"val": np.linspace(2.0, 0.1, 40)}, "epoch", "loss", "t", logy=True)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert len(ax.get_xticks()) <= 12 and all(float(t).is_integer() for t in ax.get_xticks())
    labels = {t.get_text() for t in ax.get_yticklabels() if t.get_text()}
    assert {"0.2", "0.5", "1", "2"} <= labels


def test_tradeoff_one_annotated_point_per_label():
    x, y = np.array([1_000, 35_114, 225_706]), np.array([97.5, 99.4, 99.6])
    fig = plotting.plot_tradeoff(x, y, [1, "modern", "wide"], "parameters", "test accuracy (%)", "Bigger models")
    ax = fig.axes[0]
    [points] = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([x, y]))
    assert len(points.get_facecolors()) == 3
    assert [t.get_text() for t in ax.texts] == ["1", "modern", "wide"]  # labels are written as text
    assert [t.xy for t in ax.texts] == [(1_000.0, 97.5), (35_114.0, 99.4), (225_706.0, 99.6)]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("parameters", "test accuracy (%)", "Bigger models")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    lo, hi = ax.get_xlim()
    assert lo < 1_000 and hi > 225_706  # every point inside the axes


def test_tradeoff_linear_x_takes_zero_and_negative_values():
    fig = plotting.plot_tradeoff([0, -2.5, 4], [1, 2, 3], ["a", "b", "c"], "x", "y", "t", logx=False)
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), [[0, 1], [-2.5, 2], [4, 3]])
    assert [t.xy for t in ax.texts] == [(0.0, 1.0), (-2.5, 2.0), (4.0, 3.0)]


@pytest.mark.parametrize(
    "x, y, labels, logx, message",
    [
        ([1, 2], [1], ["a", "b"], True, "same non-zero length, got 2, 1 and 2"),
        ([1, 2], [1, 2], ["a"], True, "same non-zero length, got 2, 2 and 1"),  # labels, a list, counted apart
        ([], [], [], True, "same non-zero length, got 0, 0 and 0"),
        ([1, float("nan")], [1, 2], ["a", "b"], True, "finite"),  # nan would slip past the log check
        ([1, 2], [1, float("inf")], ["a", "b"], False, "finite"),
        ([0.0, 2], [1, 2], ["a", "b"], True, "positive x"),  # the boundary; logx=False takes it
    ],
)
def test_tradeoff_bad_input(x, y, labels, logx, message):
    """One case per check: each length mismatch, empty, nan and inf (in x and in y), x <= 0 on a log axis."""
    with pytest.raises(ValueError, match=message):
        plotting.plot_tradeoff(x, y, labels, "x", "y", "t", logx=logx)


# --- how a network learns ---------------------------------------------------------------------


def test_loss_curves_one_line_per_run_on_a_log_scale():
    curves = {"slow": np.geomspace(1.0, 1e-2, 50), "fast": np.geomspace(1.0, 1e-8, 50), "diverging": [1.0, 3.0, 9.0]}
    fig = plotting.plot_loss_curves(curves, title="Three rates")
    ax = fig.axes[0]
    lines = [line for line in ax.lines if line.get_label() in curves]
    assert [line.get_label() for line in lines] == ["slow", "fast", "diverging"]
    np.testing.assert_array_equal(lines[2].get_xdata(), [0, 1, 2])  # steps count from 0
    assert len({line.get_linestyle() for line in lines}) == 3  # apart in gray print too
    assert ax.get_yscale() == "log"
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Three rates", "step", "loss (log scale)")
    colors = [matplotlib.colors.to_hex(line.get_color()) for line in lines]
    expected = [matplotlib.colors.to_hex(c) for c in plt.get_cmap(plotting.CMAP)(np.linspace(0.0, 0.8, 3))]
    assert colors == expected
    # the run that stopped early ends in a dot
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 1 and dots[0].get_xdata()[0] == 2


@pytest.mark.parametrize(
    "curves, message",
    [
        ({}, "at least one"),
        ([1.0, 0.5], "at least one"),
        ({"a": []}, "non-empty"),
        ({"a": [1.0, 0.0]}, "positive"),
        ({"a": [1.0, float("inf")]}, "finite"),
    ],
)
def test_loss_curves_bad_input(curves, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_loss_curves(curves, title="t")


def test_kernel_fit_writes_the_weights_on_one_scale_beside_the_loss():
    true = np.array([[1.0, 0.0, -1.0]] * 3)
    start = np.random.default_rng(0).uniform(-0.5, 0.5, size=(3, 3, 1, 1))
    learned = true - 1e-5  # a tiny negative error must not print as "-0.000"
    fig = plotting.plot_kernel_fit(
        {"start": start, "learned": learned, "true": true}, np.geomspace(1.0, 1e-9, 100), title="Learning a kernel"
    )
    kernel_axes = _image_axes(fig)
    assert [ax.get_title() for ax in kernel_axes] == ["start", "learned", "true"]
    assert len({ax.images[0].get_clim() for ax in kernel_axes}) == 1  # one shared colour scale
    assert all(ax.images[0].get_cmap().name == plotting.CMAP for ax in kernel_axes)
    assert [t.get_text() for t in kernel_axes[1].texts][:3] == ["1.000", "0.000", "-1.000"]
    assert all(len(ax.texts) == 9 for ax in kernel_axes)
    assert kernel_axes[0].get_ylabel() == "row" and kernel_axes[0].get_xlabel() == "column"
    loss_ax = next(ax for ax in fig.axes if ax.lines)
    assert loss_ax.get_yscale() == "log" and loss_ax.get_xlabel() == "step"
    assert loss_ax.get_ylabel() == "loss (log scale)"
    assert any(ax.get_xlabel() == "weight" for ax in fig.axes)  # the colour bar
    assert fig._suptitle.get_text() == "Learning a kernel"


@pytest.mark.parametrize(
    "kernels, losses, message",
    [
        ({}, [1.0], "at least one"),
        ({"a": np.zeros((3, 3, 2, 1))}, [1.0], "small 2-D"),
        ({"a": np.zeros((9, 9))}, [1.0], "small 2-D"),
        ({"a": np.zeros((3, 3))}, [1.0, -1.0], "positive"),
    ],
)
def test_kernel_fit_bad_input(kernels, losses, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_kernel_fit(kernels, losses)


def test_backpropagation_arrows_forward_above_and_back_below():
    stages = ["input", "conv", "ReLU", "loss"]
    fig = plotting.plot_backpropagation(stages, notes=["a", "b", "c"], title="Backprop")
    ax = fig.axes[0]
    assert ax.get_title() == "Backprop" and not ax.axison
    texts = [t.get_text() for t in ax.texts]
    assert texts[:4] == stages and {"a", "b", "c"} <= set(texts)
    assert "forward pass: values" in texts and "backward pass: gradients of the loss" in texts
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None and t.get_text() == ""]
    forward = [a for a in arrows if a.xy[0] > a.xyann[0]]
    backward = [a for a in arrows if a.xy[0] < a.xyann[0]]
    assert len(forward) == len(backward) == 3  # one each way between neighbours
    assert all(a.xy[1] > 0 for a in forward) and all(a.xy[1] < 0 for a in backward)
    assert len(ax.patches) == 4  # one box per stage


@pytest.mark.parametrize(
    "stages, notes, message", [(["input"], None, "at least two"), (["input", "loss"], ["a", "b"], "notes has 2")]
)
def test_backpropagation_bad_input(stages, notes, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_backpropagation(stages, notes=notes)


# --- schematics drawn from the real model ------------------------------------------------------


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_model_pipeline_names_every_layer_with_its_output_shape():
    """LeNet-5's nine stages wrap onto a second row; the book model's single row is the next test."""
    import digitlib

    model = digitlib.ARCHITECTURES["lenet5"]()
    fig = plotting.plot_model_pipeline(model)
    texts = _texts(fig)
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:])
        written = f"{shape[0]:,}" if len(shape) == 1 else "×".join(map(str, shape))
        assert layer.name in texts and written in texts, (layer.name, written)
    assert "input" in texts and "28×28×1" in texts
    rows = {t.get_position()[1] for t in fig.axes[0].texts if t.get_text() in ("input", "classifier")}
    assert len(rows) == 2  # the first and the last stage on different rows
    assert fig.axes[0].get_title() == f"The layers of {model.name} and the shape each one outputs"
    assert not fig.axes[0].axison
    assert all(t.get_fontsize() >= 9 for ax in fig.axes for t in ax.texts)
    assert fig.get_figwidth() <= 7.8


def test_model_pipeline_of_the_book_model_in_order():
    import digitlib

    fig = plotting.plot_model_pipeline(digitlib.simple_convnet(), title="Book model")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    assert texts == [
        "input",
        "28×28×1",
        "conv1",
        "26×26×32",
        "pool1",
        "13×13×32",
        "conv2",
        "11×11×64",
        "pool2",
        "5×5×64",
        "flatten",
        "1,600",
        "dropout",
        "1,600",
        "classifier",
        "10",
    ]
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 7  # one row: an arrow between each pair of neighbours
    assert ax.get_title() == "Book model" and not ax.axison
    assert all(t.get_fontsize() >= 9 for t in ax.texts) and fig.get_figwidth() <= 7.8
    with pytest.raises(ValueError, match="Keras model"):
        plotting.plot_model_pipeline("simple_convnet")


def test_sliding_window_output_grid_and_highlighted_cells():
    image = np.arange(80).reshape(8, 10) % 7
    positions = ((0, 0), (0, 1), (5, 7))
    fig = plotting.plot_sliding_window(image, kernel_size=3, positions=positions, title="Sliding")
    in_ax, out_ax = fig.axes
    assert out_ax.get_xlim() == (-0.5, 7.5) and out_ax.get_ylim() == (5.5, -0.5)  # 8 − 3 + 1 by 10 − 3 + 1
    assert out_ax.get_title().startswith("output 6 × 8")
    assert in_ax.get_title() == "input 8 × 10, window 3 × 3"
    windows = [p for p in in_ax.patches if not p.get_fill()]
    cells = out_ax.patches
    assert [(w.get_x(), w.get_y()) for w in windows][0] == (-0.5, -0.5)
    assert [w.get_width() for w in windows][0] == 3
    assert [(c.get_x() + 0.5, c.get_y() + 0.5) for c in cells] == [(0, 0), (1, 0), (7, 5)]  # (column, row)
    for window, cell in zip(windows, cells):  # each window and the cell it makes share a colour
        assert window.get_edgecolor() == cell.get_facecolor()
    assert len({matplotlib.colors.to_hex(c.get_facecolor()) for c in cells}) == 3
    assert [t.get_text() for t in out_ax.texts] == ["1", "2", "3"]
    assert {"0", "6"} <= {t.get_text() for t in in_ax.texts}  # the input's values
    assert (in_ax.get_xlabel(), in_ax.get_ylabel(), out_ax.get_xlabel()) == ("column", "row", "column")
    assert fig.get_suptitle() == "Sliding"
    default = plotting.plot_sliding_window(np.zeros((6, 6)))
    assert default.axes[1].get_xlim() == (-0.5, 3.5)  # 6 − 3 + 1 = 4
    assert [(c.get_x() + 0.5, c.get_y() + 0.5) for c in default.axes[1].patches] == [(0, 0), (1, 0), (3, 3)]


@pytest.mark.parametrize(
    "shape, kernel_size, positions, message",
    [
        ((8, 8), 3, [(6, 0)], "reaches outside the 8 × 8 input"),
        ((8, 8), 3, [(0, 7)], "reaches outside"),
        ((8, 8), 3, [(-1, 0)], "reaches outside"),
        ((8, 8), 3, [], "at least one"),
        ((8, 8), 3, [(0.5, 1)], "pair of ints"),
        ((8, 8), 9, None, "kernel_size"),
        ((8,), 3, None, "2-D"),
    ],
)
def test_sliding_window_bad_input(shape, kernel_size, positions, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_sliding_window(np.zeros(shape), kernel_size=kernel_size, positions=positions)


@pytest.mark.parametrize(
    "in_channels, out_channels, kernel_size, input_side", [(32, 64, 3, 13), (1, 32, 3, 28), (6, 16, 5, 14)]
)
def test_channels_volume_counts_the_parameters_as_keras_does(in_channels, out_channels, kernel_size, input_side):
    import keras

    layer = keras.layers.Conv2D(out_channels, kernel_size)
    layer.build((None, input_side, input_side, in_channels))
    fig = plotting.plot_channels_volume(in_channels, out_channels, kernel_size, input_side, title="Volumes")
    texts = _texts(fig)
    [count] = [t for t in texts if t.startswith("parameters:")]
    assert count.endswith(f"= {layer.count_params():,}")
    out_side = input_side - kernel_size + 1
    for shape in [
        (input_side, input_side, in_channels),
        (kernel_size, kernel_size, in_channels),
        (out_side, out_side, out_channels),
    ]:
        assert " × ".join(map(str, shape)) in texts
    assert fig.axes[0].get_title() == "Volumes"
    assert all(t.get_fontsize() >= 9 for t in fig.axes[0].texts)


def test_channels_volume_book_layer_and_bad_input():
    fig = plotting.plot_channels_volume(32, 64, 3, 13)
    assert "parameters: 3 × 3 × 32 × 64 weights + 64 biases = 18,496" in _texts(fig)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        plotting.plot_channels_volume(0, 64, 3, 13)
    with pytest.raises(ValueError, match="larger than"):
        plotting.plot_channels_volume(1, 8, 5, 4)


@pytest.fixture(scope="module")
def book_model():
    import digitlib

    model = digitlib.simple_convnet()
    rng = np.random.default_rng(0)  # fixed random weights, biases included, so no unit is dead everywhere
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.3, size=w.shape).astype("float32") for w in layer.get_weights()])
    return model


def test_receptive_field_of_the_book_model(book_model):
    fields = {name: plotting.receptive_field(book_model, name) for name in ["conv1", "pool1", "conv2", "pool2"]}
    assert fields == {"conv1": (3, 1), "pool1": (4, 2), "conv2": (8, 2), "pool2": (10, 4)}
    with pytest.raises(ValueError, match="not on the grid"):
        plotting.receptive_field(book_model, "flatten")
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        plotting.receptive_field(book_model, "conv9")


def test_receptive_field_of_conv2_is_the_pixels_that_move_it(book_model):
    import keras

    probe = keras.Model(book_model.inputs[0], book_model.get_layer("conv2").output)
    base = np.random.default_rng(1).uniform(0, 1, size=(28, 28)).astype("float32")
    images = np.repeat(base[None], 28 * 28 + 1, axis=0)
    rows, cols = np.divmod(np.arange(28 * 28), 28)
    images[1 + np.arange(28 * 28), rows, cols] += 5.0  # image 1 + 28 r + c: pixel (r, c) turned up
    out = keras.ops.convert_to_numpy(probe(images[..., None], training=False))
    r, c = 3, 4
    size, jump = plotting.receptive_field(book_model, "conv2")
    moved = np.abs(out[1:, r, c, :] - out[0, r, c, :]).max(axis=1).reshape(28, 28) > 1e-5
    field = np.zeros((28, 28), bool)
    field[jump * r : jump * r + size, jump * c : jump * c + size] = True
    assert field.sum() == 64 and field[6:14, 8:16].all()  # rows 6..13, columns 8..15
    np.testing.assert_array_equal(moved, field)  # every pixel inside moves unit (3, 4), none outside does


def test_receptive_field_figure_outlines_the_pixels(book_model):
    digit = np.zeros((28, 28, 1))
    fig = plotting.plot_receptive_field(digit, book_model, "conv2", unit=(3, 4), title="Field")
    in_ax, grid_ax = fig.axes
    outline = in_ax.patches[-1]
    assert (outline.get_x(), outline.get_y(), outline.get_width(), outline.get_height()) == (7.5, 5.5, 8, 8)
    assert in_ax.get_title().startswith("input 28 × 28: rows 6–13, columns 8–15")
    assert in_ax.images[0].get_cmap().name == plotting.CMAP
    assert grid_ax.get_xlim() == (-0.5, 10.5)  # conv2's 11 × 11 grid
    [unit] = grid_ax.patches
    assert (unit.get_x(), unit.get_y()) == (3.5, 2.5)
    assert (in_ax.get_xlabel(), in_ax.get_ylabel(), grid_ax.get_xlabel()) == ("column", "row", "column")
    assert fig.get_suptitle() == "Field"
    centre = plotting.plot_receptive_field(digit[..., 0], book_model, "pool2")
    assert centre.axes[1].get_title() == "pool2: 5 × 5 × 64\nunit (row 2, column 2)"
    assert centre.get_suptitle() == "What one unit of pool2 sees"
    with pytest.raises(ValueError, match="outside the 11 × 11 grid of layer 'conv2'"):
        plotting.plot_receptive_field(digit, book_model, "conv2", unit=(11, 0))
    with pytest.raises(ValueError, match="28 × 28"):
        plotting.plot_receptive_field(np.zeros((20, 20)), book_model, "conv2")


def test_receptive_field_with_same_padding_starts_in_the_padding():
    import digitlib

    model = digitlib.ARCHITECTURES["lenet5"]()  # 5 × 5 "same" convolution first: 2 pixels of padding
    assert plotting.receptive_field(model, "block1_conv") == (5, 1)
    assert plotting.receptive_field(model, "block2_pool") == (16, 4)
    fig = plotting.plot_receptive_field(np.zeros((28, 28)), model, "block2_pool", unit=(0, 0))
    assert fig.axes[0].get_title().startswith("input 28 × 28: rows 0–13, columns 0–13 and padding")
