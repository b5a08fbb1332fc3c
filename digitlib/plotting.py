"""Figures for the book. Each function returns its Matplotlib figure so tests can inspect it.

All images use one perceptually uniform colormap (:data:`CMAP`) and every figure has a
white background, so it reads the same on the book's light and dark themes.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib import colors as mcolors, ticker
import numpy as np

#: Perceptually uniform colormap for digits and heat maps.
CMAP = "viridis"
#: Colour that marks a wrong prediction (Okabe-Ito vermillion, distinct for colour-blind readers).
MISTAKE_COLOR = "#d55e00"


def _new_figure(figsize):
    return plt.figure(figsize=figsize, facecolor="white", layout="constrained")


def _as_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(
            f"images must be a non-empty stack of shape (N, H, W) or (N, H, W, 1), got {images.shape}"
        )
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
    images = _as_images(images)
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
    images = _as_images(images)
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
    return plot_image_grid(filters, [f"filter {i}" for i in range(len(filters))], ncols=ncols,
                           title=title, shared_scale=True)


def plot_feature_maps(maps, title: str = "Feature maps", ncols: int = 8):
    """Show a layer's feature maps for one image: ``maps`` (H, W, C) or (1, H, W, C)."""
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, channels) for one image, got {maps.shape}")
    return plot_image_grid(np.moveaxis(maps, -1, 0), [f"map {i}" for i in range(maps.shape[-1])],
                           ncols=ncols, title=title, shared_scale=True)


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
        ax.text(col, row, text, ha="center", va="center", fontsize=6 if width > 12 else 10,
                color="black" if value > middle else "white")
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
    """The per-epoch metrics of a Keras ``History``, a :class:`digitlib.TrainingHistory`
    or a plain ``{"loss": [...], ...}`` dict."""
    values = getattr(history, "history", history)
    if not isinstance(values, dict):
        raise ValueError(f"history must be a training history or a dict of per-epoch lists, got {type(history).__name__}")
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
    bar_ax.bar_label(bars, labels=[_percent(p) if c == predicted else "" for c, p in zip(classes, probabilities)],
                     padding=2, fontsize=9)
    bar_ax.set_xticks(classes)
    bar_ax.set_ylim(0, 1.12)
    bar_ax.set_xlabel("digit")
    bar_ax.set_ylabel("probability")
    bar_ax.set_title(f"predicted {predicted}" + (" ✗" if wrong else ""),
                     color=MISTAKE_COLOR if wrong else "black")
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
            ax.text(col, row, f"{count}", ha="center", va="center", fontsize=8,
                    color="black" if norm(count) > 0.6 else "white")
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
            ax.hist(values, bins=edges, weights=np.full(values.size, 1 / values.size), color=color,
                    alpha=0.6, edgecolor=color, hatch=hatch, label=f"{name} ({values.size:,} images)")
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
    images = _as_images(images)
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
    titles = [f"true {t}\n{a}: {_percent(p[a])}, {b}: {_percent(p[b])}"
              for t, (a, b), p in zip(labels, top, probabilities)]
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
            ax.text(col, row, _weight_text(value), ha="center", va="center", fontsize=8,
                    color="black" if value > middle else "white")
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
        ax.add_patch(plt.Rectangle((x - width / 2, -height / 2), width, height, facecolor=fill, alpha=0.45,
                                   edgecolor="black", linewidth=1.2))
        ax.text(x, 0, name, ha="center", va="center", fontsize=10)
    for left, right in zip(centres[:-1], centres[1:]):
        ax.annotate("", xy=(right - width / 2, 0.2), xytext=(left + width / 2, 0.2),
                    arrowprops={"arrowstyle": "-|>", "color": forward, "linewidth": 2})
        ax.annotate("", xy=(left + width / 2, -0.2), xytext=(right - width / 2, -0.2),
                    arrowprops={"arrowstyle": "-|>", "color": backward, "linewidth": 2, "linestyle": "--"})
    for x, note in zip(centres[1:], notes):
        ax.text(x, -height / 2 - 0.08, note, ha="center", va="top", fontsize=8)
    span = (centres[0] - width / 2, centres[-1] + width / 2)
    ax.annotate("forward pass: values", xy=(span[1], 0.7), xytext=(span[0], 0.7), va="center",
                fontsize=10, color=forward, arrowprops={"arrowstyle": "-|>", "color": forward, "linewidth": 1.5})
    ax.annotate("backward pass: gradients of the loss", xy=(span[0], -1.2), xytext=(span[1], -1.2),
                va="center", ha="right", fontsize=10, color=backward,
                arrowprops={"arrowstyle": "-|>", "color": backward, "linewidth": 1.5, "linestyle": "--"})
    ax.set_xlim(span[0] - 0.2, span[1] + 0.2)
    ax.set_ylim(-1.4, 0.95)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return fig
