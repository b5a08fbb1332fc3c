"""Read my digit: a drawing pad on which the book's model reads a digit as it is drawn.

:class:`DrawingPad` displays, in a notebook (Jupyter, Colab) or on a page of the book, a canvas
to draw on with mouse, pen or finger, the 28 × 28 image the model receives, the model's ten
probabilities and the feature maps of its first convolution layer. Everything runs in the
browser: the preparation mirrors :func:`digitlib.prepare_digit` (``resources/read_my_digit.js``)
and TensorFlow.js (its core and CPU backend, bundled in ``resources/tfjs``) runs the model, whose
weights the page carries. The page needs no server and no network.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import keras
import numpy as np
from matplotlib import colormaps

from digitlib import own_digits
from digitlib.plotting import CMAP

RESOURCES = Path(__file__).parent / "resources"
#: TensorFlow.js's core and CPU backend (npm packages @tensorflow/tfjs-core and
#: @tensorflow/tfjs-backend-cpu, Apache-2.0), loaded in this order.
TFJS = ("tfjs/tf-core.min.js", "tfjs/tf-backend-cpu.min.js")
#: The layers the browser's forward pass runs, in order: the book's model, digitlib.simple_convnet.
LAYOUT = (
    keras.layers.Conv2D,
    keras.layers.MaxPooling2D,
    keras.layers.Conv2D,
    keras.layers.MaxPooling2D,
    keras.layers.Flatten,
    keras.layers.Dropout,
    keras.layers.Dense,
)
#: The names the page gives the layers with weights.
WEIGHTED = ("conv1", "conv2", "classifier")
#: The pad's side in pixels and the pen's width: a digit drawn across most of the pad comes out
#: with strokes about as wide as MNIST's (2 to 4 pixels in the 28 × 28 frame).
PAD = 280
PEN_WIDTH = 18
MAP_COLUMNS, MAP_GAP = 8, 2


def _refuse(model, problem: str):
    raise ValueError(
        f"DrawingPad runs the book's model (digitlib.simple_convnet) in the browser, "
        f"but {getattr(model, 'name', 'this model')!r} differs: {problem}"
    )


def _check_layout(model) -> list:
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    layers = list(model.layers)
    if [type(layer) for layer in layers] != list(LAYOUT):
        _refuse(model, "its layers are " + ", ".join(type(layer).__name__ for layer in layers))
    if tuple(model.input_shape[1:]) != (own_digits.FRAME, own_digits.FRAME, 1):
        _refuse(model, f"it takes inputs of shape {model.input_shape}, not (None, 28, 28, 1)")
    for layer in layers:
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D):
            expected = {
                "strides": (1, 1),
                "padding": "valid",
                "dilation_rate": (1, 1),
                "activation": "relu",
                "use_bias": True,
                "groups": 1,
            }
        elif isinstance(layer, keras.layers.MaxPooling2D):
            expected = {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}
        elif isinstance(layer, keras.layers.Dense):
            expected = {"activation": "softmax", "use_bias": True}
        else:
            continue
        for key, value in expected.items():
            if (tuple(config[key]) if isinstance(config[key], list) else config[key]) != value:
                _refuse(model, f"layer {layer.name!r} has {key}={config[key]!r}, not {value!r}")
        if config.get("data_format", "channels_last") != "channels_last":
            _refuse(model, f"layer {layer.name!r} is not channels_last")
    return [layer for layer in layers if layer.weights]


def _array(values) -> dict:
    values = np.ascontiguousarray(keras.ops.convert_to_numpy(values), dtype="<f4")
    return {"shape": list(values.shape), "data": base64.b64encode(values.tobytes()).decode("ascii")}


def model_spec(model) -> dict:
    """What the page needs of ``model``: its weights (float32, base64) and the constants of the
    preparation and the drawing. Raises ``ValueError`` for a model that is not laid out like
    the book's."""
    weighted = _check_layout(model)
    colormap = np.round(255 * colormaps[CMAP](np.linspace(0, 1, 256))[:, :3]).astype(np.uint8)
    return {
        "weights": {
            name: {"kernel": _array(layer.kernel), "bias": _array(layer.bias)}
            for name, layer in zip(WEIGHTED, weighted)
        },
        "constants": {
            "frame": own_digits.FRAME,
            "box": own_digits.BOX,
            "centre": list(own_digits.CENTRE),
            "ink_threshold": own_digits.INK_THRESHOLD,
            "min_contrast": own_digits.MIN_CONTRAST,
            "max_ink_share": own_digits.MAX_INK_SHARE,
            "frame_side_share": own_digits.FRAME_SIDE_SHARE,
            "frame_min_side": own_digits.FRAME_MIN_SIDE,
            "luminance": own_digits.LUMINANCE.tolist(),
            "pen_width": PEN_WIDTH,
            "map_columns": MAP_COLUMNS,
            "map_gap": MAP_GAP,
        },
        "colormap": base64.b64encode(colormap.tobytes()).decode("ascii"),
    }


def weights_from_spec(spec: dict) -> dict[str, dict[str, np.ndarray]]:
    """The arrays of a :func:`model_spec`, decoded: ``{layer: {"kernel": ..., "bias": ...}}``."""
    return {
        name: {
            part: np.frombuffer(base64.b64decode(array["data"]), dtype="<f4").reshape(array["shape"])
            for part, array in layer.items()
        }
        for name, layer in spec["weights"].items()
    }


def _script(text: str) -> str:
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


class DrawingPad:
    """The drawing pad for ``model``, the book's model (laid out as
    :func:`digitlib.simple_convnet`); display it as a notebook cell's value. ``html`` is the
    whole widget, scripts and weights included. Raises ``ValueError`` for another layout."""

    def __init__(self, model):
        spec = json.dumps(model_spec(model), separators=(",", ":")).replace("</", "<\\/")
        zero, low, high = (
            f"rgb({r}, {g}, {b})" for r, g, b in np.round(255 * colormaps[CMAP]([0.0, 0.3, 0.8])[:, :3]).astype(int)
        )
        _, map_height, map_width, channels = model.layers[0].output.shape
        rows = math.ceil(channels / MAP_COLUMNS)
        maps_width = MAP_COLUMNS * map_width + (MAP_COLUMNS - 1) * MAP_GAP
        maps_height = rows * map_height + (rows - 1) * MAP_GAP
        bars = "".join(
            f'<div class="rmd-bar"><span class="rmd-digit">{digit}</span><span class="rmd-track">'
            f'<span class="rmd-fill"></span></span><span class="rmd-value"></span></div>'
            for digit in range(10)
        )
        style = (
            (RESOURCES / "read_my_digit.css")
            .read_text()
            .replace("{low}", low)
            .replace("{high}", high)
            .replace("{zero}", zero)
        )
        scripts = [(RESOURCES / name).read_text() for name in (*TFJS, "read_my_digit.js")]
        self.html = f"""<div class="rmd">
<style>{style}</style>
<div class="rmd-panel">
<p class="rmd-caption">Draw one digit</p>
<canvas id="pad" width="{PAD}" height="{PAD}" role="img"
 aria-label="Drawing pad: draw one digit here with the mouse, a pen or a finger"></canvas>
<button type="button" id="clear">Clear</button>
</div>
<div class="rmd-panel rmd-readout">
<p class="rmd-caption">What the model receives (28 × 28)</p>
<canvas id="model-input" width="28" height="28" role="img"
 aria-label="The drawing prepared as an MNIST image: cropped, scaled into 20 × 20 pixels and centred"></canvas>
<div id="prediction" data-digit="" data-probabilities="[]">
<p class="rmd-caption">The model's ten probabilities</p>
<p class="rmd-answer" aria-live="polite"></p>
{bars}
</div>
</div>
<div class="rmd-panel rmd-wide">
<p class="rmd-caption">The {channels} feature maps of the first convolution layer, on one scale</p>
<canvas id="feature-maps" width="{maps_width}" height="{maps_height}" role="img"
 aria-label="The first convolution layer's {channels} feature maps of the drawing"></canvas>
</div>
<script type="application/json" id="read-my-digit-model">{spec}</script>
{"".join(_script(text) for text in scripts)}
</div>"""

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<DrawingPad: {len(self.html):,} characters of HTML>"
