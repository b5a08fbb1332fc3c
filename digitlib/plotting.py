"""Figures for the book. Each function returns its Matplotlib figure so tests can inspect it.

All images use one perceptually uniform colormap (:data:`CMAP`) and every figure has a
white background, so it reads the same on the book's light and dark themes.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
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
    if np.issubdtype(x.dtype, np.integer):
        ax.set_xticks(x)  # whole steps only, e.g. pixels or epochs
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
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
