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


def plot_digit_grid(images, labels=None, predictions=None, ncols: int = 5, title: str = "MNIST digits"):
    """Show digits in a grid, each titled by its label, or by prediction and label.

    With ``predictions`` and ``labels`` each panel reads "pred P / true T" and a wrong
    prediction is marked: its title and frame turn :data:`MISTAKE_COLOR` and gain a cross.
    """
    images = _as_images(images)
    n = len(images)
    labels = _check_length(labels, n, "labels")
    predictions = _check_length(predictions, n, "predictions")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = _new_figure((1.6 * ncols, 1.75 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(images[i], cmap=CMAP)
        wrong = predictions is not None and labels is not None and predictions[i] != labels[i]
        if predictions is not None and labels is not None:
            text = f"pred {predictions[i]} / true {labels[i]}" + (" ✗" if wrong else "")
        elif predictions is not None:
            text = f"pred {predictions[i]}"
        elif labels is not None:
            text = f"{labels[i]}"
        else:
            text = ""
        ax.set_title(text, fontsize=9, color=MISTAKE_COLOR if wrong else "black")
        if wrong:
            for spine in ax.spines.values():
                spine.set_color(MISTAKE_COLOR)
                spine.set_linewidth(3)
    fig.suptitle(title)
    return fig


def plot_digit_pixels(image, title: str = "One digit as 28 × 28 numbers"):
    """Show one digit as an image with each pixel's value written in its cell."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W) or (H, W, 1), got shape {image.shape}")
    fig = _new_figure((11, 10))
    ax = fig.add_subplot()
    shown = ax.imshow(image, cmap=CMAP)
    lo, hi = float(image.min()), float(image.max())
    middle = (lo + hi) / 2
    for (row, col), value in np.ndenumerate(image):
        text = f"{value:g}" if np.issubdtype(image.dtype, np.floating) else str(value)
        ax.text(col, row, text, ha="center", va="center", fontsize=6,
                color="black" if value > middle else "white")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label="pixel value", shrink=0.8)
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
