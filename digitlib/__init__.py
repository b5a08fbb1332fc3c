"""digitlib: the small library shared by the chapters of the book.

Each chapter imports it at the top (``import digitlib``); the chapter shows the idea,
digitlib keeps the reusable piece: the bundled MNIST data, the models, the plots.

Importing digitlib is cheap and changes nothing in the process: each name loads its module
on first use, and TensorFlow loads only with what needs it (the models, training, the drawing
pad). :func:`import_tensorflow` loads it without its start-up log lines; the chapters' set-up
cell calls it.
"""

from __future__ import annotations

import importlib
import importlib.metadata

# Where each name the chapters use lives; the rest of each module is there by its module's
# name (digitlib.data.one_hot, digitlib.training.cache_dir).
_HOMES = {
    "data": [
        "add_channel_axis",
        "load_mnist",
        "preprocess",
        "scale_images",
        "training_splits",
        "validation_split_sizes",
    ],
    "drawing_pad": ["DrawingPad"],
    "models": [
        "ARCHITECTURES",
        "augmentation",
        "build_model",
        "feature_maps",
        "modern_convnet",
        "multiply_adds",
        "simple_convnet",
    ],
    "notebook": ["ClaimError", "check", "glue", "markdown_table", "show_source"],
    "own_digits": ["draw_strokes", "predict_digit", "prepare_digit"],
    "plotting": [
        "plot_backpropagation",
        "plot_channels_volume",
        "plot_class_counts",
        "plot_confidence_histogram",
        "plot_confusion_matrix",
        "plot_digit_grid",
        "plot_digit_pixels",
        "plot_feature_maps",
        "plot_filters",
        "plot_image_grid",
        "plot_images",
        "plot_kernel_fit",
        "plot_learning_curves",
        "plot_lines",
        "plot_loss_curves",
        "plot_mistakes",
        "plot_model_pipeline",
        "plot_prediction",
        "plot_preparation_steps",
        "plot_receptive_field",
        "plot_sliding_window",
        "plot_tradeoff",
        "receptive_field",
    ],
    "reproducibility": ["set_seed"],
    "training": ["Recipe", "StopAtAccuracy", "train"],
    "_tensorflow": ["import_tensorflow"],
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
_SUBMODULES = (
    "data",
    "drawing_pad",
    "models",
    "notebook",
    "operations",
    "own_digits",
    "plotting",
    "reproducibility",
    "training",
)

__all__ = sorted([*_MODULE_OF, "operations"])

try:
    __version__ = importlib.metadata.version("digitlib")  # pyproject.toml's, once installed
except importlib.metadata.PackageNotFoundError:
    __version__ = "unknown"


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f"digitlib.{_MODULE_OF[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"digitlib.{name}")
    else:
        raise AttributeError(f"module 'digitlib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_MODULE_OF, *_SUBMODULES})
