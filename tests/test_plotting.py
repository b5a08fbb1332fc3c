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
    fig = plotting.plot_lines([0, 1, 2], {"pooled": [0, 0.1, 0.2], "unpooled": [0, 0.3, 0.5]},
                              xlabel="shift", ylabel="change", title="Shifts")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["pooled", "unpooled"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("shift", "change", "Shifts")
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_lines([0, 1], {"a": [1, 2, 3]}, "x", "y", "t")
    with pytest.raises(ValueError, match="at least one"):
        plotting.plot_lines([0, 1], {}, "x", "y", "t")


def test_learning_curves_plot_training_against_validation_per_epoch():
    values = {"loss": [0.5, 0.3, 0.2], "val_loss": [0.4, 0.3, 0.35],
              "accuracy": [0.8, 0.9, 0.95], "val_accuracy": [0.85, 0.9, 0.91]}
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
