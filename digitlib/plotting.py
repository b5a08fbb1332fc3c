"""Figures for the book. Each function returns its Matplotlib figure so tests can inspect it.

All images use one perceptually uniform colormap (:data:`CMAP`) and every figure has a
white background, so it reads the same on the book's light and dark themes.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker

from digitlib._checks import checked_int

#: Perceptually uniform colormap for digits and heat maps.
CMAP = "viridis"
#: Colour that marks a wrong prediction (Okabe-Ito vermillion, distinct for colour-blind readers).
MISTAKE_COLOR = "#d55e00"


#: Widest figure, in inches: about the book's text column at the inline backend's 100 dpi, so
#: that a figure is not shrunk on the page and its labels keep their size.
MAX_WIDTH = 7.2


def _new_figure(figsize):
    width, height = figsize
    if width > MAX_WIDTH:  # a wide layout is drawn smaller, its text at full size
        width, height = MAX_WIDTH, height * MAX_WIDTH / width
    return plt.figure(figsize=(width, height), facecolor="white", layout="constrained")


def _gray_stack(images) -> np.ndarray:
    """``images`` as a stack of gray images (N, H, W) for drawing, a channel axis of 1 dropped."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty stack of shape (N, H, W) or (N, H, W, 1), got {images.shape}")
    return images


def _check_length(values, n: int, name: str):
    if values is None:
        return None
    values = np.asarray(values).reshape(-1)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but there are {n} images")
    return values


def plot_image_grid(images, titles=None, ncols: int = 5, title: str = "Images", shared_scale: bool = False):
    """Show a stack of 2-D arrays (N, H, W) as a grid of images, each with its own title.

    With ``shared_scale`` every panel uses the same colour range (with a colour bar), so
    values can be compared across panels, as for filters or feature maps.
    """
    images = _gray_stack(images)
    n = len(images)
    titles = None if titles is None else [str(t) for t in _check_length(np.array(titles, dtype=object), n, "titles")]
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = _new_figure((1.6 * ncols + (0.8 if shared_scale else 0), 1.75 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    scale = {"vmin": float(images.min()), "vmax": float(images.max())} if shared_scale else {}
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        shown = ax.imshow(images[i], cmap=CMAP, **scale)
        ax.set_title(titles[i] if titles else "", fontsize=9)
    if shared_scale:
        fig.colorbar(shown, ax=axes, label="value", shrink=0.8)
    fig.suptitle(title)
    return fig


def plot_digit_grid(images, labels=None, predictions=None, ncols: int = 5, title: str = "MNIST digits"):
    """Show digits in a grid, each titled by its label, or by prediction and label.

    With ``predictions`` and ``labels`` each panel reads "pred P / true T" and a wrong
    prediction is marked: its title and frame turn :data:`MISTAKE_COLOR` and gain a cross.
    """
    images = _gray_stack(images)
    n = len(images)
    labels = _check_length(labels, n, "labels")
    predictions = _check_length(predictions, n, "predictions")
    wrong = np.zeros(n, dtype=bool)
    if predictions is not None and labels is not None:
        wrong = predictions != labels
        titles = [f"pred {p} / true {t}" + (" ✗" if w else "") for p, t, w in zip(predictions, labels, wrong)]
    elif predictions is not None:
        titles = [f"pred {p}" for p in predictions]
    else:
        titles = None if labels is None else [str(t) for t in labels]
    fig = plot_image_grid(images, titles, ncols=ncols, title=title)
    for ax, mistake in zip((ax for ax in fig.axes if ax.images), wrong):
        if mistake:
            ax.title.set_color(MISTAKE_COLOR)
            for spine in ax.spines.values():
                spine.set_color(MISTAKE_COLOR)
                spine.set_linewidth(3)
    return fig


def plot_filters(kernel, title: str = "Filters", ncols: int = 8, in_channel: int = 0):
    """Show a convolution layer's filters, as laid out in ``Conv2D(...).kernel``.

    ``kernel`` has shape (kh, kw, C_in, C_out); the filters' weights for input channel
    ``in_channel`` are drawn on one shared colour scale, one panel per filter.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"kernel must be 4-D (kh, kw, in_channels, filters), got shape {kernel.shape}")
    if not 0 <= in_channel < kernel.shape[2]:
        raise ValueError(f"in_channel must lie in 0..{kernel.shape[2] - 1}, got {in_channel}")
    filters = np.moveaxis(kernel[:, :, in_channel, :], -1, 0)
    return plot_image_grid(
        filters, [f"filter {i}" for i in range(len(filters))], ncols=ncols, title=title, shared_scale=True
    )


def plot_feature_maps(maps, title: str = "Feature maps", ncols: int = 8):
    """Show a layer's feature maps for one image: ``maps`` (H, W, C) or (1, H, W, C)."""
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, channels) for one image, got {maps.shape}")
    return plot_image_grid(
        np.moveaxis(maps, -1, 0),
        [f"map {i}" for i in range(maps.shape[-1])],
        ncols=ncols,
        title=title,
        shared_scale=True,
    )


def plot_lines(x, series: dict, xlabel: str, ylabel: str, title: str, logy: bool = False):
    """Line plot of one or more named series against ``x``, with markers and a legend."""
    x = np.asarray(x)
    if not series:
        raise ValueError("series must name at least one line")
    fig = _new_figure((7, 4))
    ax = fig.add_subplot()
    colors = plt.get_cmap(CMAP)(np.linspace(0.0, 0.8, len(series)))
    for color, (name, values) in zip(colors, series.items()):
        values = np.asarray(values)
        if values.shape != x.shape:
            raise ValueError(f"series {name!r} has shape {values.shape} but x has shape {x.shape}")
        ax.plot(x, values, marker="o", color=color, label=name)
    if np.issubdtype(x.dtype, np.integer):  # whole steps only, e.g. pixels or epochs
        if len(x) <= 20:
            ax.set_xticks(x)
        else:
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
        # label 1, 2 and 5 times each power of ten as plain numbers (0.2, not 2 × 10⁻¹)
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_tradeoff(x, y, labels, xlabel: str, ylabel: str, title: str, logx: bool = True):
    """Scatter plot of one point per labelled item (e.g. a model's accuracy against its
    parameter count), each point named beside it; ``logx`` puts x on a log scale."""
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    labels = [str(label) for label in labels]
    if x.size == 0 or not (x.size == y.size == len(labels)):
        raise ValueError(f"x, y and labels need the same non-zero length, got {x.size}, {y.size} and {len(labels)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite numbers")
    if logx and x.min() <= 0:
        raise ValueError("a log-scale x axis needs positive x values")
    fig = _new_figure((7, 4.5))
    ax = fig.add_subplot()
    colors = plt.get_cmap(CMAP)(np.linspace(0.0, 0.8, x.size))
    ax.scatter(x, y, s=60, c=colors, edgecolors="black", linewidths=0.5, zorder=3)
    for xi, yi, label in zip(x, y, labels):
        ax.annotate(label, (xi, yi), xytext=(6, 4), textcoords="offset points", fontsize=9)
    if logx:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.margins(x=0.15, y=0.12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_digit_pixels(image, title: str = "One digit as 28 × 28 numbers", value_label: str = "pixel value"):
    """Show a 2-D array (a digit, a kernel, a small example) as an image with each value
    written in its cell; ``value_label`` names the values on the colour bar."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W) or (H, W, 1), got shape {image.shape}")
    height, width = image.shape
    fig = _new_figure((min(11, 0.37 * width + 1.8), min(10, 0.33 * height + 1.0)))
    ax = fig.add_subplot()
    shown = ax.imshow(image, cmap=CMAP)
    lo, hi = float(image.min()), float(image.max())
    middle = (lo + hi) / 2
    for (row, col), value in np.ndenumerate(image):
        text = f"{value:.3g}" if np.issubdtype(image.dtype, np.floating) else str(value)
        ax.text(
            col,
            row,
            text,
            ha="center",
            va="center",
            fontsize=6 if width > 12 else 10,
            color="black" if value > middle else "white",
        )
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label=value_label, shrink=0.8)
    return fig


def plot_class_counts(labels, title: str = "Images per digit", num_classes: int = 10):
    """Bar chart of how many examples each class has, with the counts written on the bars."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}")
    counts = np.bincount(labels, minlength=num_classes)
    fig = _new_figure((8, 4))
    ax = fig.add_subplot()
    colors = plt.get_cmap(CMAP)(np.linspace(0.15, 0.85, num_classes))
    bars = ax.bar(np.arange(num_classes), counts, color=colors)
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=8, padding=2)
    ax.set_xticks(np.arange(num_classes))
    ax.set_xlabel("digit")
    ax.set_ylabel("number of images")
    ax.set_ylim(0, counts.max() * 1.12)
    ax.set_title(title)
    return fig


def _history_dict(history) -> dict:
    """The per-epoch metrics of a Keras ``History``, a :class:`digitlib.training.TrainingHistory`
    or a plain ``{"loss": [...], ...}`` dict."""
    values = getattr(history, "history", history)
    if not isinstance(values, dict):
        raise ValueError(
            f"history must be a training history or a dict of per-epoch lists, got {type(history).__name__}"
        )
    return values


def plot_learning_curves(history, title: str = "Learning curves"):
    """Loss and accuracy per epoch, training against validation, side by side."""
    values = _history_dict(history)
    needed = ["loss", "val_loss", "accuracy", "val_accuracy"]
    missing = [name for name in needed if name not in values]
    if missing:
        raise ValueError(f"history lacks {missing}; it has {sorted(values)}")
    lengths = {len(values[name]) for name in needed}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError("history's loss and accuracy lists must be non-empty and equally long")
    epochs = np.arange(1, lengths.pop() + 1)
    fig = _new_figure((10, 4))
    axes = fig.subplots(1, 2)
    training, validation = plt.get_cmap(CMAP)([0.15, 0.75])
    for ax, metric in zip(axes, ["loss", "accuracy"]):
        ax.plot(epochs, values[metric], marker="o", color=training, label="training")
        ax.plot(epochs, values["val_" + metric], marker="s", color=validation, label="validation")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


# --- predictions and your own digits -------------------------------------------------------


def _percent(p: float) -> str:
    """A probability as a short percentage that never rounds a near-certainty to 100%."""
    p = float(p)
    if 0.005 <= p < 0.995:
        return f"{100 * p:.0f}%"
    if 0.0001 <= p < 0.9999:
        return f"{100 * p:.2f}%"
    return "<0.01%" if p < 0.5 else ">99.99%"


def _probabilities(probabilities, num_classes=None) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 1 or probabilities.size < 2:
        raise ValueError(f"probabilities must be a 1-D array of one value per class, got shape {probabilities.shape}")
    if num_classes is not None and probabilities.size != num_classes:
        raise ValueError(f"probabilities has {probabilities.size} values, expected {num_classes}")
    if not np.isfinite(probabilities).all() or probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError("probabilities must lie in [0, 1]")
    return probabilities


def plot_prediction(image, probabilities, label=None, title: str | None = None):
    """One image beside a bar chart of the model's probabilities for each digit.

    The predicted digit's bar is highlighted and labelled with its probability. With
    ``label`` (the true digit) a wrong prediction is marked in :data:`MISTAKE_COLOR`.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W) or (H, W, 1), got shape {image.shape}")
    probabilities = _probabilities(probabilities)
    classes = np.arange(len(probabilities))
    predicted = int(np.argmax(probabilities))
    if label is not None and not 0 <= int(label) < len(probabilities):
        raise ValueError(f"label must be a class in 0..{len(probabilities) - 1}, got {label!r}")
    wrong = label is not None and int(label) != predicted
    fig = _new_figure((8, 3.2))
    image_ax, bar_ax = fig.subplots(1, 2, width_ratios=[1, 2])
    image_ax.imshow(image, cmap=CMAP)
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    image_ax.set_title("the image" if label is None else f"the image (true digit {int(label)})")
    low, high = plt.get_cmap(CMAP)([0.3, 0.8])
    colors = [high if c == predicted else low for c in classes]
    if wrong:
        colors[predicted] = MISTAKE_COLOR
    bars = bar_ax.bar(classes, probabilities, color=colors)
    bar_ax.bar_label(
        bars,
        labels=[_percent(p) if c == predicted else "" for c, p in zip(classes, probabilities)],
        padding=2,
        fontsize=9,
    )
    bar_ax.set_xticks(classes)
    bar_ax.set_ylim(0, 1.12)
    bar_ax.set_xlabel("digit")
    bar_ax.set_ylabel("probability")
    bar_ax.set_title(f"predicted {predicted}" + (" ✗" if wrong else ""), color=MISTAKE_COLOR if wrong else "black")
    bar_ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or "The model's probabilities for one image")
    return fig


def plot_confusion_matrix(matrix, title: str = "Confusion matrix", value_label: str = "number of images"):
    """A confusion matrix as a heat map: true class down, predicted class across.

    Each non-zero cell shows its count. The colours follow a logarithmic scale, so the
    few mistakes off the diagonal stand out next to the thousands on it; empty cells
    stay white.
    """
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(f"matrix must be square, one row and column per class, got shape {matrix.shape}")
    if not np.issubdtype(matrix.dtype, np.integer) or matrix.min() < 0:
        raise ValueError("matrix must hold counts: non-negative integers")
    if matrix.max() == 0:
        raise ValueError("matrix is all zeros")
    n = matrix.shape[0]
    fig = _new_figure((7.2, 6))
    ax = fig.add_subplot()
    norm = LogNorm(vmin=1, vmax=max(2, int(matrix.max())))
    shown = ax.imshow(np.ma.masked_equal(matrix, 0), cmap=CMAP, norm=norm)
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                col,
                row,
                f"{count}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if norm(count) > 0.6 else "white",
            )
    ax.set_xticks(np.arange(n))
    ax.set_yticks(np.arange(n))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label=f"{value_label} (log scale)", shrink=0.85)
    return fig


def plot_confidence_histogram(confidence, correct, title: str = "How sure the model is", bins: int = 18):
    """Histograms of the model's top probability, for right and for wrong answers.

    Each group's bars show the share of that group in each bin (so both groups are
    visible, however different their sizes); the legend gives their counts.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct)
    if confidence.ndim != 1 or confidence.size == 0:
        raise ValueError(f"confidence must be a non-empty 1-D array, got shape {confidence.shape}")
    if correct.shape != confidence.shape or correct.dtype != bool:
        raise ValueError("correct must be a boolean array, one entry per confidence value")
    if not np.isfinite(confidence).all() or confidence.min() < 0 or confidence.max() > 1:
        raise ValueError("confidence values must be probabilities in [0, 1]")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    edges = np.linspace(0.1, 1.0, bins + 1) if confidence.min() >= 0.1 else np.linspace(0.0, 1.0, bins + 1)
    fig = _new_figure((8, 4))
    ax = fig.add_subplot()
    # hex strings: Matplotlib 3.10.0 and 3.10.1 read an RGBA tuple given to hist() as four colours
    right_color, wrong_color = mcolors.to_hex(plt.get_cmap(CMAP)(0.35)), mcolors.to_hex(MISTAKE_COLOR)
    for mask, name, color, hatch in [(correct, "right", right_color, None), (~correct, "wrong", wrong_color, "//")]:
        values = confidence[mask]
        if values.size:
            ax.hist(
                values,
                bins=edges,
                weights=np.full(values.size, 1 / values.size),
                color=color,
                alpha=0.6,
                edgecolor=color,
                hatch=hatch,
                label=f"{name} ({values.size:,} images)",
            )
    ax.set_xlabel("probability of the predicted digit")
    ax.set_ylabel("share of the group's images")
    ax.set_xlim(edges[0], 1.0)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left")
    return fig


def plot_mistakes(images, labels, probabilities, ncols: int = 5, title: str = "Mistakes"):
    """A gallery of images with their true label and the model's top two guesses.

    ``probabilities`` has one row of class probabilities per image. Each panel is titled
    "true T" above "P1 p1, P2 p2"; panels whose top guess is wrong are framed in
    :data:`MISTAKE_COLOR`.
    """
    images = _gray_stack(images)
    n = len(images)
    labels = _check_length(labels, n, "labels")
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or len(probabilities) != n or probabilities.shape[1] < 2:
        raise ValueError(f"probabilities must have one row per image, shape ({n}, classes), got {probabilities.shape}")
    for row in probabilities:
        _probabilities(row)
    if labels is None:
        raise ValueError("labels are needed to show the mistakes")
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :2]
    titles = [
        f"true {t}\n{a}: {_percent(p[a])}, {b}: {_percent(p[b])}" for t, (a, b), p in zip(labels, top, probabilities)
    ]
    fig = plot_image_grid(images, titles, ncols=ncols, title=title)
    for ax, t, (a, _) in zip((ax for ax in fig.axes if ax.images), labels, top):
        if a != t:
            for spine in ax.spines.values():
                spine.set_color(MISTAKE_COLOR)
                spine.set_linewidth(3)
    return fig


def plot_preparation_steps(steps, title: str = "From an image to an MNIST digit"):
    """The steps of ``digitlib.prepare_digit(..., return_steps=True)``, side by side.

    ``steps`` maps each step's name to its 2-D image; each panel is titled with the name
    and the size, every panel uses the colour range 0 to 1, and the last panel, the
    28 × 28 frame, marks its centre with a cross.
    """
    if not isinstance(steps, dict) or not steps:
        raise ValueError("steps must be a non-empty dict of step name -> 2-D image")
    images = {}
    for name, image in steps.items():
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim != 2:
            raise ValueError(f"step {name!r} must be a 2-D image, got shape {image.shape}")
        images[name] = image
    fig = _new_figure((2.3 * len(images) + 0.9, 3.0))
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for number, (ax, (name, image)) in enumerate(zip(axes, images.items()), start=1):
        shown = ax.imshow(image, cmap=CMAP, vmin=0, vmax=1)
        ax.set_title(f"{number}. {name}\n{image.shape[0]} × {image.shape[1]}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    last_ax, last = axes[-1], images[name]
    last_ax.plot([last.shape[1] / 2], [last.shape[0] / 2], marker="+", markersize=12, color="white")
    fig.colorbar(shown, ax=axes, label="value", shrink=0.8)
    fig.suptitle(title)
    return fig


def plot_images(images, titles=None, ncols: int = 5, title: str = "Images"):
    """Show images of different sizes, gray (H, W) or colour (H, W, 3 or 4), in a grid.

    Unlike :func:`plot_image_grid`, the images need not share a shape: each keeps its own
    aspect ratio and, by default, is titled with its size. Colour images are shown in
    their own colours, gray ones in :data:`CMAP`.
    """
    images = [np.asarray(image) for image in images]
    if not images:
        raise ValueError("images must hold at least one image")
    for image in images:
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (3, 4))) or image.size == 0:
            raise ValueError(f"each image must be (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    if titles is None:
        titles = [f"{image.shape[0]} × {image.shape[1]}" for image in images]
    titles = [str(t) for t in titles]
    if len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries but there are {len(images)} images")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig = _new_figure((1.9 * ncols, 2.0 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(images):
            ax.set_axis_off()
            continue
        ax.imshow(images[i], cmap=CMAP if images[i].ndim == 2 else None)
        ax.set_title(titles[i], fontsize=9)
    fig.suptitle(title)
    return fig


# --- how a network learns: loss curves, learned kernels, backpropagation -------------------

_LINE_STYLES = ("-", "--", ":", "-.")


def _log_loss_axis(ax):
    """A log-scale y axis labelled 1, 2 and 5 times each power of ten as plain numbers where
    the range is short, and as powers of ten where it spans many decades."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high / low < 1e4:
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _loss_values(name, values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"curve {name!r} must be a non-empty 1-D sequence of losses, got shape {values.shape}")
    if not np.isfinite(values).all() or values.min() <= 0:
        raise ValueError(f"curve {name!r} must hold finite positive losses for a log scale")
    return values


def plot_loss_curves(curves: dict, title: str, xlabel: str = "step", ylabel: str = "loss"):
    """Loss against step for one or more named runs, on a log scale, one line each.

    ``curves`` maps a run's name to its losses, the first at step 0; runs may have different
    lengths (a run stopped early ends early). Each line has its own colour and dash pattern,
    so the runs stay apart in gray print too; a short run ends in a dot.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must map at least one run's name to its losses")
    values = {str(name): _loss_values(name, losses) for name, losses in curves.items()}
    fig = _new_figure((7, 4))
    ax = fig.add_subplot()
    colors = plt.get_cmap(CMAP)(np.linspace(0.0, 0.8, len(values)))
    longest = max(len(v) for v in values.values())
    for i, (color, (name, losses)) in enumerate(zip(colors, values.items())):
        steps = np.arange(len(losses))
        ax.plot(steps, losses, color=color, linestyle=_LINE_STYLES[i % len(_LINE_STYLES)], linewidth=2, label=name)
        if len(losses) < longest:
            ax.plot(steps[-1], losses[-1], marker="o", color=color)
    _log_loss_axis(ax)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="major")
    ax.legend()
    return fig


def _weight_text(value: float) -> str:
    """A weight to three decimals, with no "-0.000" for a tiny negative number."""
    rounded = round(float(value), 3) + 0.0
    return f"{rounded:.3f}"


def plot_kernel_fit(kernels: dict, losses, title: str = "Learning a kernel"):
    """Small kernels side by side, each weight written in its cell, on one shared colour
    scale, and beside them the loss against step on a log scale.

    ``kernels`` maps a panel's name (e.g. "start", "learned", "true") to a 2-D kernel, or a
    Keras kernel of shape (kh, kw, 1, 1); ``losses`` holds the loss at each step, from step 0.
    """
    if not isinstance(kernels, dict) or not kernels:
        raise ValueError("kernels must map at least one name to a 2-D kernel")
    shown = {}
    for name, kernel in kernels.items():
        kernel = np.asarray(kernel, dtype=float)
        if kernel.ndim == 4 and kernel.shape[2:] == (1, 1):
            kernel = kernel[:, :, 0, 0]
        if kernel.ndim != 2 or kernel.size == 0 or max(kernel.shape) > 7:
            raise ValueError(f"kernel {name!r} must be a small 2-D array (at most 7 × 7), got shape {kernel.shape}")
        shown[str(name)] = kernel
    losses = _loss_values("losses", losses)
    n = len(shown)
    fig = _new_figure((2.3 * n + 4.6, 3.4))
    grid = fig.add_gridspec(1, n + 1, width_ratios=[1] * n + [2.2])
    low = min(k.min() for k in shown.values())
    high = max(k.max() for k in shown.values())
    kernel_axes = []
    for i, (name, kernel) in enumerate(shown.items()):
        ax = fig.add_subplot(grid[0, i])
        image = ax.imshow(kernel, cmap=CMAP, vmin=low, vmax=high)
        middle = (low + high) / 2
        for (row, col), value in np.ndenumerate(kernel):
            ax.text(
                col,
                row,
                _weight_text(value),
                ha="center",
                va="center",
                fontsize=8,
                color="black" if value > middle else "white",
            )
        ax.set_xticks(range(kernel.shape[1]))
        ax.set_yticks(range(kernel.shape[0]))
        ax.set_xlabel("column")
        if i == 0:
            ax.set_ylabel("row")
        ax.set_title(name)
        kernel_axes.append(ax)
    fig.colorbar(image, ax=kernel_axes, label="weight", location="bottom", shrink=0.9)
    loss_ax = fig.add_subplot(grid[0, n])
    loss_ax.plot(np.arange(len(losses)), losses, color=plt.get_cmap(CMAP)(0.25), linewidth=2)
    _log_loss_axis(loss_ax)
    loss_ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("loss")
    loss_ax.grid(alpha=0.3, which="major")
    fig.suptitle(title)
    return fig


def plot_backpropagation(stages, notes=None, title: str = "Backpropagation"):
    """A schematic of a network as a row of boxes, one per stage (e.g. input, conv, ReLU,
    pool, dense, softmax, loss): solid arrows carry the values forward, left to right, above
    the boxes; dashed arrows carry the gradients back, right to left, below them.

    ``notes`` gives, for each stage but the first, a short line printed under its box: what
    that stage does to the gradient on its way back (an empty string for none).
    """
    stages = [str(s) for s in stages]
    if len(stages) < 2:
        raise ValueError("a network needs at least two stages to draw")
    if notes is None:
        notes = [""] * (len(stages) - 1)
    notes = [str(n) for n in notes]
    if len(notes) != len(stages) - 1:
        raise ValueError(f"notes has {len(notes)} entries but there are {len(stages) - 1} stages after the input")
    n = len(stages)
    fig = _new_figure((1.25 * n + 0.3, 2.6))
    ax = fig.add_subplot()
    forward, backward = plt.get_cmap(CMAP)([0.1, 0.55])
    fill = plt.get_cmap(CMAP)(0.95)
    width, height, gap = 1.0, 0.7, 0.5
    centres = np.arange(n) * (width + gap)
    for x, name in zip(centres, stages):
        ax.add_patch(
            plt.Rectangle(
                (x - width / 2, -height / 2),
                width,
                height,
                facecolor=fill,
                alpha=0.45,
                edgecolor="black",
                linewidth=1.2,
            )
        )
        ax.text(x, 0, name, ha="center", va="center", fontsize=10)
    for left, right in zip(centres[:-1], centres[1:]):
        ax.annotate(
            "",
            xy=(right - width / 2, 0.2),
            xytext=(left + width / 2, 0.2),
            arrowprops={"arrowstyle": "-|>", "color": forward, "linewidth": 2},
        )
        ax.annotate(
            "",
            xy=(left + width / 2, -0.2),
            xytext=(right - width / 2, -0.2),
            arrowprops={"arrowstyle": "-|>", "color": backward, "linewidth": 2, "linestyle": "--"},
        )
    for x, note in zip(centres[1:], notes):
        ax.text(x, -height / 2 - 0.08, note, ha="center", va="top", fontsize=8)
    span = (centres[0] - width / 2, centres[-1] + width / 2)
    ax.annotate(
        "forward pass: values",
        xy=(span[1], 0.7),
        xytext=(span[0], 0.7),
        va="center",
        fontsize=10,
        color=forward,
        arrowprops={"arrowstyle": "-|>", "color": forward, "linewidth": 1.5},
    )
    ax.annotate(
        "backward pass: gradients of the loss",
        xy=(span[0], -1.2),
        xytext=(span[1], -1.2),
        va="center",
        ha="right",
        fontsize=10,
        color=backward,
        arrowprops={"arrowstyle": "-|>", "color": backward, "linewidth": 1.5, "linestyle": "--"},
    )
    ax.set_xlim(span[0] - 0.2, span[1] + 0.2)
    ax.set_ylim(-1.4, 0.95)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


# --- schematics drawn from the real model: pipeline, sliding window, channels, receptive field


def _shape_text(shape, sep: str = " × ") -> str:
    """A shape without its batch axis as the book writes it: "26 × 26 × 32", or "1,600"."""
    dims = [int(d) for d in shape]
    return f"{dims[0]:,}" if len(dims) == 1 else sep.join(str(d) for d in dims)


def _text_width(text: str, fontsize: float, weight: str = "normal") -> float:
    """How wide ``text`` is, in inches, in Matplotlib's default font."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, 72)
    width, _, _ = renderer.get_text_width_height_descent(text, FontProperties(size=fontsize, weight=weight), False)
    return width / 72


def _lighter(color, amount: float):
    """``color`` mixed with white: ``amount`` 0 keeps it, 1 gives white."""
    rgb = np.array(mcolors.to_rgb(color))
    return tuple(rgb + (1 - rgb) * amount)


def _cuboid(ax, x, y, side_w, side_h, depth, color, linewidth=1.0, zorder=2):
    """A box seen from the front: a ``side_w`` × ``side_h`` face at (x, y), bottom left,
    receding ``depth`` up and to the right; returns the front face."""
    edge = {"edgecolor": "black", "linewidth": linewidth, "zorder": zorder}
    if depth > 0:
        top = [
            (x, y + side_h),
            (x + depth, y + side_h + depth),
            (x + side_w + depth, y + side_h + depth),
            (x + side_w, y + side_h),
        ]
        right = [
            (x + side_w, y),
            (x + side_w + depth, y + depth),
            (x + side_w + depth, y + side_h + depth),
            (x + side_w, y + side_h),
        ]
        ax.add_patch(plt.Polygon(top, facecolor=_lighter(color, 0.45), **edge))
        ax.add_patch(plt.Polygon(right, facecolor=_lighter(color, 0.2), **edge))
    front = plt.Rectangle((x, y), side_w, side_h, facecolor=color, **edge)
    ax.add_patch(front)
    return front


def _model_stages(model) -> list:
    """(name, output shape without the batch axis) for the model's input and each layer."""
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    try:
        stages = [("input", tuple(model.inputs[0].shape[1:]))]
        stages += [
            (layer.name, tuple(layer.output.shape[1:]))
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
        ]
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"model {model.name!r} has no shapes yet: build it with a keras.Input") from None
    return stages


def plot_model_pipeline(model, title: str | None = None, max_columns: int = 8):
    """A model as a pipeline: one box per layer, drawn from the layer's actual output shape.

    A stack of feature maps (H × W × C) is a box whose front face grows with H and W and
    whose depth grows with C (on a log scale); a flat vector is a thin bar whose height
    grows with its length. Each box has the layer's name and output shape (compact, e.g.
    "26×26×32", so eight layers fit a page's width) under it, and arrows lead from layer to
    layer; long models wrap after ``max_columns`` boxes, or sooner where the labels are long.
    """
    stages = _model_stages(model)
    if not isinstance(max_columns, int) or max_columns < 2:
        raise ValueError(f"max_columns must be an int of at least 2, got {max_columns!r}")
    n = len(stages)
    shapes = [_shape_text(shape, sep="×") for _, shape in stages]  # compact, so 8 layers fit a page's width
    column = max(
        0.75,
        *(_text_width(name, 9, "bold") + 0.1 for name, _ in stages),
        *(_text_width(shape, 9) + 0.1 for shape in shapes),
    )  # inches
    rows = math.ceil(n / min(max_columns, max(2, int(7.3 // column))))
    ncols = math.ceil(n / rows)
    pitch, row_height = 1.25, 1.65
    bottom = -(rows - 1) * row_height - 1.0
    fig = _new_figure((column * (ncols + 0.2) + 0.3, column / pitch * (0.55 - bottom) + 0.55))
    ax = fig.add_subplot()
    maps_color, vector_color = plt.get_cmap(CMAP)([0.45, 0.8])
    sides = [max(shape[:2]) for _, shape in stages if len(shape) == 3] or [1]
    largest = max(sides)
    extents = []
    for i, (name, shape) in enumerate(stages):
        row, col = divmod(i, ncols)
        x, y = col * pitch, -row * row_height
        if len(shape) == 3:
            height, width, channels = shape
            face_h, face_w = 0.22 + 0.4 * height / largest, 0.22 + 0.4 * width / largest
            depth = 0.04 * math.log2(channels) + 0.03
        else:
            face_h, face_w = 0.2 + 0.12 * math.log10(max(2, math.prod(shape))), 0.12
            depth = 0.0
        left = x - (face_w + depth) / 2
        _cuboid(
            ax, left, y - face_h / 2 - depth / 2, face_w, face_h, depth, maps_color if len(shape) == 3 else vector_color
        )
        extents.append((left, left + face_w + depth, y))
        ax.text(x, y - 0.55, name, ha="center", va="top", fontsize=9, fontweight="bold")
        ax.text(x, y - 0.78, shapes[i], ha="center", va="top", fontsize=9)
    arrow = {"arrowstyle": "-|>", "color": "black", "linewidth": 1.2, "shrinkA": 2, "shrinkB": 2}
    for i in range(n - 1):
        (_, right, y), (left, _, next_y) = extents[i], extents[i + 1]
        if next_y == y:
            ax.annotate("", xy=(left, y), xytext=(right, y), arrowprops=arrow)
        else:  # the pipeline goes on in the next row
            ax.annotate("", xy=(right + 0.3, y), xytext=(right, y), arrowprops=arrow)
            ax.annotate("", xy=(left, next_y), xytext=(left - 0.3, next_y), arrowprops=arrow)
    ax.set_xlim(-0.6 * pitch, (ncols - 0.4) * pitch)
    ax.set_ylim(bottom, 0.55)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title or f"The layers of {model.name} and the shape each one outputs")
    return fig


def _grid_lines(ax, height: int, width: int):
    """Thin lines between the cells of a ``height`` × ``width`` grid drawn in image coordinates."""
    for r in range(height + 1):
        ax.plot([-0.5, width - 0.5], [r - 0.5, r - 0.5], color="0.6", linewidth=0.8, zorder=1)
    for c in range(width + 1):
        ax.plot([c - 0.5, c - 0.5], [-0.5, height - 0.5], color="0.6", linewidth=0.8, zorder=1)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_aspect("equal")


def _integer_ticks(ax, height: int, width: int):
    step = 1 if max(height, width) <= 12 else 2 if max(height, width) <= 24 else 5
    ax.set_xticks(range(0, width, step))
    ax.set_yticks(range(0, height, step))
    ax.tick_params(labelsize=9)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def plot_sliding_window(image, kernel_size: int = 3, positions=None, title: str = "A window sliding over the input"):
    """A small input grid with a ``kernel_size`` × ``kernel_size`` window outlined at a few
    ``positions`` and, beside it, the output grid (valid padding: input − kernel + 1 on
    each side) with the cell each position produces filled in the window's colour.

    ``positions`` lists (row, column) of each window's top-left cell, which is also the
    output cell it makes; by default the first two positions and the last one.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"image must be 2-D (H, W) or (H, W, 1), got shape {image.shape}")
    height, width = image.shape
    kernel_size = checked_int(kernel_size, "kernel_size", high=min(height, width))
    out_h, out_w = height - kernel_size + 1, width - kernel_size + 1
    if positions is None:
        positions = dict.fromkeys([(0, 0), (0, min(1, out_w - 1)), (out_h - 1, out_w - 1)])
    positions = [tuple(p) for p in positions]
    if not positions:
        raise ValueError("positions must list at least one (row, column)")
    for p in positions:
        if len(p) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in p):
            raise ValueError(f"each position must be a (row, column) pair of ints, got {p!r}")
        if not (0 <= p[0] < out_h and 0 <= p[1] < out_w):
            raise ValueError(
                f"a {kernel_size} × {kernel_size} window at {p} reaches outside the {height} × {width} "
                f"input; rows run 0..{out_h - 1} and columns 0..{out_w - 1}"
            )
    cell = min(0.42, 6.0 / (width + out_w + 1))
    fig = _new_figure((cell * (width + out_w) + 1.6, cell * height + 1.4))
    in_ax, out_ax = fig.subplots(1, 2, width_ratios=[width, out_w])
    if max(height, width) <= 12:  # a small array: its numbers, on white, so the windows stand out
        for (row, col), value in np.ndenumerate(image):
            text = f"{value:.2g}" if np.issubdtype(image.dtype, np.floating) else str(value)
            in_ax.text(col, row, text, ha="center", va="center", fontsize=9, color="black")
    else:
        in_ax.imshow(image, cmap=CMAP, alpha=0.5)
    _grid_lines(in_ax, height, width)
    _grid_lines(out_ax, out_h, out_w)
    colors = plt.get_cmap(CMAP)(np.linspace(0.0, 0.7, len(positions)))
    for number, ((row, col), color) in enumerate(zip(positions, colors), start=1):
        inset = 0.06 * (number - 1) % 0.3  # overlapping windows stay apart
        style = _LINE_STYLES[(number - 1) % len(_LINE_STYLES)]
        in_ax.add_patch(
            plt.Rectangle(
                (col - 0.5 + inset, row - 0.5 + inset),
                kernel_size - 2 * inset,
                kernel_size - 2 * inset,
                fill=False,
                edgecolor=color,
                linewidth=3,
                linestyle=style,
                zorder=3,
            )
        )
        in_ax.text(
            col - 0.5 + inset,
            row - 0.5 + inset,
            str(number),
            ha="center",
            va="center",  # on the corner
            fontsize=9,
            fontweight="bold",
            color="white",
            bbox={"boxstyle": "square,pad=0.1", "facecolor": color, "edgecolor": "none"},
            zorder=4,
        )
        out_ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, facecolor=color, edgecolor="black", zorder=2))
        out_ax.text(
            col, row, str(number), ha="center", va="center", fontsize=10, fontweight="bold", color="white", zorder=3
        )
    _integer_ticks(in_ax, height, width)
    _integer_ticks(out_ax, out_h, out_w)
    in_ax.set_title(f"input {height} × {width}, window {kernel_size} × {kernel_size}", fontsize=10)
    sums = [f"{side} − {kernel_size} + 1 = {side - kernel_size + 1}" for side in dict.fromkeys((height, width))]
    out_ax.set_title(f"output {out_h} × {out_w}\n(" + ", ".join(sums) + ")", fontsize=10)
    fig.suptitle(title)
    return fig


def _stack(ax, x, y, side, count, depth, color, drawn_max=8):
    """``count`` square maps, ``side`` wide, one behind the other over ``depth``, up and to
    the right (at most ``drawn_max`` drawn); returns the front map's rectangle."""
    drawn = min(count, drawn_max)
    step = depth / (drawn - 1) if drawn > 1 else 0.0
    for i in range(drawn - 1, -1, -1):  # the back map first, so the front one covers it
        front = plt.Rectangle(
            (x + i * step, y + i * step),
            side,
            side,
            facecolor=_lighter(color, 0.35 * (i > 0)),
            edgecolor="black",
            linewidth=1.0,
            zorder=2,
        )
        ax.add_patch(front)
    return front


def plot_channels_volume(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    input_side: int,
    title: str = "A convolution layer, channels and all",
):
    """A convolution layer (valid padding, stride 1) as volumes: the stack of input maps
    (``input_side`` × ``input_side`` × ``in_channels``), one filter, a ``kernel_size`` ×
    ``kernel_size`` × ``in_channels`` block as deep as the input, and the stack of
    ``out_channels`` output maps, one per filter; labels give the shapes and the layer's
    parameter count, kernel_size² × in_channels × out_channels weights + out_channels biases.
    """
    values = {
        "in_channels": in_channels,
        "out_channels": out_channels,
        "kernel_size": kernel_size,
        "input_side": input_side,
    }
    for name, value in values.items():
        checked_int(value, name)
    if kernel_size > input_side:
        raise ValueError(f"kernel_size {kernel_size} is larger than the {input_side} × {input_side} input")
    out_side = input_side - kernel_size + 1
    weights = kernel_size * kernel_size * in_channels * out_channels
    fig = _new_figure((7.2, 3.9))
    ax = fig.add_subplot()
    in_color, filter_color, out_color = plt.get_cmap(CMAP)([0.3, 0.85, 0.55])
    scale = 2.0 / input_side  # data units per pixel

    def depth_of(channels):
        return 0.0 if channels == 1 else 0.15 + 0.11 * math.log2(channels)

    in_depth, out_depth = depth_of(in_channels), depth_of(out_channels)
    in_x, side_in = 0.0, 2.0
    filter_side = max(0.3, kernel_size * scale)
    filter_x = in_x + side_in + in_depth + 1.3
    out_x = filter_x + filter_side + in_depth + 1.3
    side_out = max(0.3, out_side * scale)
    _stack(ax, in_x, 0.0, side_in, in_channels, in_depth, in_color)
    filter_y = side_in / 2 - filter_side / 2
    _stack(ax, filter_x, filter_y, filter_side, in_channels, in_depth, filter_color)
    out_y = side_in / 2 - side_out / 2
    _stack(ax, out_x, out_y, side_out, out_channels, out_depth, out_color)
    # the filter's footprint on the input and the one number it makes there
    patch = kernel_size * scale
    ax.add_patch(
        plt.Rectangle((in_x, side_in - patch), patch, patch, fill=False, edgecolor="black", linewidth=2, zorder=3)
    )
    dot = max(scale, 0.06)
    ax.add_patch(
        plt.Rectangle(
            (out_x, out_y + side_out - dot),
            dot,
            dot,
            facecolor=filter_color,
            edgecolor="black",
            linewidth=1.5,
            zorder=3,
        )
    )
    link = {"color": "0.3", "linewidth": 1, "linestyle": "--", "zorder": 1}
    ax.plot([in_x + patch, filter_x], [side_in, filter_y + filter_side], **link)
    ax.plot([in_x + patch, filter_x], [side_in - patch, filter_y], **link)
    ax.plot([filter_x + filter_side, out_x], [filter_y + filter_side, out_y + side_out], **link)
    ax.plot([filter_x + filter_side, out_x], [filter_y, out_y + side_out - dot], **link)
    s = "" if in_channels == 1 else "s"
    labels = [
        (
            in_x + (side_in + in_depth) / 2,
            f"input: {in_channels} map{s}",
            f"{input_side} × {input_side} × {in_channels}",
        ),
        (
            filter_x + (filter_side + in_depth) / 2,
            f"one filter (of {out_channels})",
            f"{kernel_size} × {kernel_size} × {in_channels}",
        ),
        (
            out_x + (side_out + out_depth) / 2,
            f"output: {out_channels} map{'' if out_channels == 1 else 's'}",
            f"{out_side} × {out_side} × {out_channels}",
        ),
    ]
    for x, name, shape in labels:
        ax.text(x, -0.2, name, ha="center", va="top", fontsize=10, fontweight="bold")
        ax.text(x, -0.5, shape, ha="center", va="top", fontsize=10)
    ax.text(
        filter_x + (filter_side + in_depth) / 2,
        side_in + max(in_depth, out_depth) + 0.15,
        f"each filter is as deep as the input: {in_channels} channel{s}",
        ha="center",
        va="bottom",
        fontsize=9,
    )
    right = out_x + side_out + out_depth
    ax.text(
        right / 2,
        -1.0,
        f"parameters: {kernel_size} × {kernel_size} × {in_channels} × {out_channels} weights"
        f" + {out_channels} biases = {weights + out_channels:,}",
        ha="center",
        va="top",
        fontsize=10,
        bbox={"boxstyle": "round,pad=0.3", "facecolor": _lighter(in_color, 0.85), "edgecolor": "0.5"},
    )
    ax.set_xlim(-0.2, right + 0.2)
    ax.set_ylim(-1.55, side_in + max(in_depth, out_depth) + 0.55)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def _square(value, what: str, layer) -> int:
    values = tuple(int(v) for v in (value if isinstance(value, (tuple, list)) else (value, value)))
    if len(set(values)) != 1:
        raise ValueError(f"layer {layer.name!r} has a {what} of {values}; only square ones are handled")
    return values[0]


def _receptive_fields(model) -> dict:
    """For each spatial layer of ``model``, by name: (size, jump, start, output shape), where
    unit (r, c) of the layer sees the input pixels start + jump·r ... + size − 1 (rows; the
    same for columns). Conv2D and pooling layers change the field; layers that keep the
    height and width (ReLU, batch normalization, dropout) pass it on; the first layer
    that leaves the grid (Flatten, Dense) ends it."""
    import keras
    from keras import layers

    _model_stages(model)  # a built Keras model
    size, jump, start = 1, 1, 0
    fields = {}
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        in_shape, out_shape = tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:])
        if isinstance(layer, layers.Conv2D):
            dilation = _square(layer.dilation_rate, "dilation rate", layer)
            kernel = dilation * (_square(layer.kernel_size, "kernel size", layer) - 1) + 1
            stride = _square(layer.strides, "stride", layer)
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            kernel = _square(layer.pool_size, "pool size", layer)
            stride = _square(layer.strides, "stride", layer)
        elif len(in_shape) == len(out_shape) == 3 and in_shape[:2] == out_shape[:2]:
            fields[layer.name] = (size, jump, start, out_shape)  # same grid, same field
            continue
        elif len(out_shape) != 3 or isinstance(layer, keras.Model):
            break  # Flatten, Dense, global pooling: the grid ends here
        else:
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__name__}) changes the grid in a way "
                "receptive fields are not worked out for"
            )
        padding = 0
        if layer.padding == "same":  # as TensorFlow pads: the odd pixel goes at the end
            side = int(in_shape[0])
            padding = max((math.ceil(side / stride) - 1) * stride + kernel - side, 0) // 2
        start -= padding * jump
        size += (kernel - 1) * jump
        jump *= stride
        fields[layer.name] = (size, jump, start, out_shape)
    return fields


def _field_of(model, layer_name: str):
    names = [layer.name for layer in model.layers] if hasattr(model, "layers") else []
    fields = _receptive_fields(model)
    if layer_name not in names:
        raise ValueError(f"model {model.name!r} has no layer {layer_name!r}; its layers are {names}")
    if layer_name not in fields:
        raise ValueError(
            f"layer {layer_name!r} is not on the grid of pixels (it comes at or after a Flatten "
            f"or Dense layer), so no single patch of the input feeds one of its units; "
            f"the layers on the grid are {list(fields)}"
        )
    return fields[layer_name]


def receptive_field(model, layer_name: str) -> tuple:
    """(size, jump) of one unit of ``model``'s layer ``layer_name``, in input pixels.

    The unit sees a ``size`` × ``size`` patch of the input, and neighbouring units' patches
    lie ``jump`` pixels apart; worked out from the Conv2D and pooling layers' kernel sizes,
    pool sizes and strides. For :func:`digitlib.simple_convnet`: conv1 (3, 1), pool1
    (4, 2), conv2 (8, 2), pool2 (10, 4).
    """
    size, jump, _, _ = _field_of(model, layer_name)
    return size, jump


def plot_receptive_field(image, model, layer_name: str, unit=None, title: str | None = None):
    """The input pixels one unit of ``layer_name`` sees, outlined on a digit, beside that
    layer's grid of units with the unit filled in.

    ``image`` is an input of the model's height and width; ``unit`` is the unit's
    (row, column) in the layer's grid, by default the centre one. Unit (r, c) sees rows
    start + jump·r to start + jump·r + size − 1 (and so for columns), with size and
    jump from :func:`receptive_field`; with ``same`` padding part of it may be padding.
    """
    size, jump, start, grid = _field_of(model, layer_name)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    expected = tuple(int(d) for d in model.inputs[0].shape[1:3])
    if image.shape != expected:
        raise ValueError(f"image must be {expected[0]} × {expected[1]} like the model's input, got shape {image.shape}")
    out_h, out_w = int(grid[0]), int(grid[1])
    unit = (out_h // 2, out_w // 2) if unit is None else tuple(unit)
    if len(unit) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in unit):
        raise ValueError(f"unit must be a (row, column) pair of ints, got {unit!r}")
    if not (0 <= unit[0] < out_h and 0 <= unit[1] < out_w):
        raise ValueError(f"unit {unit} is outside the {out_h} × {out_w} grid of layer {layer_name!r}")
    first_row, first_col = start + jump * unit[0], start + jump * unit[1]
    # the part of the field on the image (with "same" padding the rest is padding)
    top, left = max(first_row, 0), max(first_col, 0)
    bottom, right = min(first_row + size, expected[0]) - 1, min(first_col + size, expected[1]) - 1
    padded = (top, left, bottom, right) != (first_row, first_col, first_row + size - 1, first_col + size - 1)
    fig = _new_figure((7.2, 3.9))
    in_ax, grid_ax = fig.subplots(1, 2)
    in_ax.imshow(image, cmap=CMAP)
    highlight = plt.get_cmap(CMAP)(0.9)
    for color, width in (("black", 5), ("white", 2.5)):  # a white line edged in black shows on any pixel
        in_ax.add_patch(
            plt.Rectangle(
                (left - 0.5, top - 0.5),
                right - left + 1,
                bottom - top + 1,
                fill=False,
                edgecolor=color,
                linewidth=width,
                zorder=3,
            )
        )
    in_ax.set_xlim(-0.5, expected[1] - 0.5)
    in_ax.set_ylim(expected[0] - 0.5, -0.5)
    _integer_ticks(in_ax, *expected)
    in_ax.set_title(
        f"input {expected[0]} × {expected[1]}: rows {top}–{bottom}, columns {left}–{right}"
        f"{' and padding' if padded else ''}\nthe field: {size} × {size} pixels; "
        f"neighbours' fields {jump} pixel{'s' * (jump != 1)} apart",
        fontsize=10,
    )
    _grid_lines(grid_ax, out_h, out_w)
    grid_ax.add_patch(
        plt.Rectangle(
            (unit[1] - 0.5, unit[0] - 0.5), 1, 1, facecolor=highlight, edgecolor="black", linewidth=1.5, zorder=2
        )
    )
    _integer_ticks(grid_ax, out_h, out_w)
    grid_ax.set_title(f"{layer_name}: {_shape_text(grid)}\nunit (row {unit[0]}, column {unit[1]})", fontsize=10)
    from matplotlib.patches import ConnectionPatch

    for corner_y, cell_y in ((top - 0.5, unit[0] - 0.5), (bottom + 0.5, unit[0] + 0.5)):
        fig.add_artist(
            ConnectionPatch(
                xyA=(right + 0.5, corner_y),
                coordsA=in_ax.transData,
                xyB=(unit[1] - 0.5, cell_y),
                coordsB=grid_ax.transData,
                color="0.35",
                linestyle="--",
                linewidth=1,
            )
        )
    fig.suptitle(title or f"What one unit of {layer_name} sees")
    return fig
