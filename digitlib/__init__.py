"""digitlib: the small library shared by the chapters of the book.

Each chapter imports it at the top (``import digitlib``); the chapter shows the idea,
digitlib keeps the reusable piece: the bundled MNIST data, the models, the plots.
"""

from digitlib._tensorflow import import_tensorflow

import_tensorflow()  # before Keras loads TensorFlow, so its INFO start-up lines are dropped

from digitlib.data import (  # noqa: E402
    MNIST_PATH,
    add_channel_axis,
    array_sha256,
    load_mnist,
    one_hot,
    preprocess,
    scale_images,
    training_splits,
    validation_split_sizes,
)
from digitlib import operations  # noqa: E402
from digitlib.models import (  # noqa: E402
    ARCHITECTURES,
    augmentation,
    build_model,
    feature_maps,
    modern_convnet,
    multiply_adds,
    simple_convnet,
)
from digitlib.drawing_pad import DrawingPad  # noqa: E402
from digitlib.notebook import ClaimError, check, glue, markdown_table, show_source  # noqa: E402
from digitlib.own_digits import draw_strokes, predict_digit, prepare_digit  # noqa: E402
from digitlib.plotting import (  # noqa: E402
    plot_channels_volume,
    plot_class_counts,
    plot_confidence_histogram,
    plot_confusion_matrix,
    plot_digit_grid,
    plot_digit_pixels,
    plot_feature_maps,
    plot_filters,
    plot_backpropagation,
    plot_image_grid,
    plot_images,
    plot_kernel_fit,
    plot_learning_curves,
    plot_lines,
    plot_loss_curves,
    plot_mistakes,
    plot_model_pipeline,
    plot_prediction,
    plot_preparation_steps,
    plot_receptive_field,
    plot_sliding_window,
    plot_tradeoff,
    receptive_field,
)
from digitlib.reproducibility import set_seed  # noqa: E402
from digitlib.training import Recipe, StopAtAccuracy, TrainingHistory, cache_dir, train  # noqa: E402

__all__ = [
    "ARCHITECTURES",
    "ClaimError",
    "DrawingPad",
    "MNIST_PATH",
    "Recipe",
    "StopAtAccuracy",
    "TrainingHistory",
    "add_channel_axis",
    "array_sha256",
    "augmentation",
    "build_model",
    "cache_dir",
    "check",
    "draw_strokes",
    "feature_maps",
    "glue",
    "load_mnist",
    "markdown_table",
    "modern_convnet",
    "multiply_adds",
    "one_hot",
    "operations",
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
    "predict_digit",
    "prepare_digit",
    "preprocess",
    "receptive_field",
    "scale_images",
    "set_seed",
    "show_source",
    "simple_convnet",
    "train",
    "training_splits",
    "validation_split_sizes",
]
__version__ = "0.1.0"
