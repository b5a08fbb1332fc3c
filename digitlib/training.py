"""Training that the whole book shares: one recipe, one seeded run, one cache entry.

:func:`train` trains the model a :class:`Recipe` describes on MNIST, seeded and
deterministic, and keeps the trained model (``.keras``) and its history on disk. Any
chapter that asks for the same recipe later gets them back in seconds. The cache key
covers what changes the result: the recipe, the data's checksums, the TensorFlow, Keras
and NumPy versions, Keras's dtype policy and the code the training runs (digitlib's
functions that a recipe reaches, without their docstrings and comments). It does not
cover the processor or the number of threads, which can change the last bits of the
weights: a cache shared between different machines serves each the first one's model.

The cache never costs a result: a model that cannot be written to the cache (a read-only
or full disk) is returned with a warning, an entry another user's permissions hide is
trained around, never called damaged, and processes that share the cache may start at
once.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import functools
import hashlib
import importlib
import inspect
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from digitlib import data, models
from digitlib._checks import checked_int, checked_number
from digitlib.reproducibility import set_seed

#: Environment variable naming the cache directory.
CACHE_ENV = "DIGITLIB_CACHE"
_ENTRY_FILES = ("model.keras", "history.json")
#: A staging folder (``.partial-*``) untouched for this long was left by a killed process.
STALE_PARTIAL_SECONDS = 3600


class StopAtAccuracy(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose ``monitor`` reaches ``target``."""

    def __init__(self, target: float, monitor: str = "val_accuracy"):
        super().__init__()
        target = checked_number(target, "target", 0, 1, include_low=False, include_high=True)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must name a logged metric, got {monitor!r}")
        self.target = float(target)
        self.monitor = monitor
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise ValueError(
                f"StopAtAccuracy: the training logs have no {self.monitor!r}; they have {sorted(logs or {})}"
            )
        if logs[self.monitor] >= self.target:
            self.stopped_epoch = epoch + 1
            self.model.stop_training = True
            print(
                f"Stopping: {self.monitor} {logs[self.monitor]:.4f} reached the target "
                f"{self.target} after epoch {epoch + 1}."
            )


class EpochLog(keras.callbacks.Callback):
    """Keep each epoch's log line (in the style of Keras's ``verbose=2``) and seconds, and
    print each line as the epoch ends where ``verbose`` is 2."""

    def __init__(self, epochs: int, verbose: int = 2):
        super().__init__()
        self.epochs = epochs
        self.verbose = verbose
        self.lines: list[str] = []
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.seconds.append(seconds)
        line = _log_line(epoch + 1, self.epochs, seconds, logs or {})
        self.lines.append(line)
        if self.verbose == 2:
            print(line, flush=True)


def _log_line(epoch: int, epochs: int, seconds: float, logs: dict) -> str:
    metrics = " - ".join(f"{name}: {value:.4f}" for name, value in sorted(logs.items()))
    return f"Epoch {epoch}/{epochs} - {seconds:.1f}s - {metrics}"


def _trained_on() -> str:
    return f"{datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPU cores"


def _summary(history: TrainingHistory) -> str:
    """The one line of ``verbose=1``: epochs run, their seconds and the last accuracy."""
    metric = "val_accuracy" if "val_accuracy" in history.history else "accuracy"
    values = history.history.get(metric, [])
    last = f", {metric} {values[-1]:.2%}" if values else ""
    epochs = f"{history.epochs_run} epoch" + ("s" if history.epochs_run != 1 else "")
    return f"{epochs} in {history.seconds:.1f} s{last}"


#: The learning-rate schedules a :class:`Recipe` can name.
LR_SCHEDULES = ("constant", "cosine")
_CALLBACKS = {"early_stopping": keras.callbacks.EarlyStopping, "stop_at_accuracy": StopAtAccuracy}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run's result.

    ``model`` names an architecture in :data:`digitlib.models.ARCHITECTURES` and
    ``model_options`` are its keyword arguments. ``callbacks`` maps
    ``"early_stopping"`` (Keras's ``EarlyStopping``) or ``"stop_at_accuracy"``
    (:class:`StopAtAccuracy`) to their keyword arguments. ``train_size`` trains on the
    first ``train_size`` training images only; the validation part is always the whole
    last ``validation_split`` of the 60,000. ``validation_split=0.0`` means what it means to
    Keras's ``model.fit``: no validation part, train on all 60,000 (the final run of a
    recipe chosen on validation). ``lr_schedule`` is ``"constant"`` (the
    learning rate stays ``learning_rate``) or ``"cosine"`` (it falls from
    ``learning_rate`` to 0 along a half cosine over all ``epochs``).
    """

    model: str = "simple_convnet"
    model_options: dict = dataclasses.field(default_factory=dict)
    optimizer: str = "adam"
    learning_rate: float = 0.001
    lr_schedule: str = "constant"
    loss: str = "categorical_crossentropy"
    batch_size: int = 128
    epochs: int = 15
    validation_split: float = 0.1
    seed: int = 0
    train_size: int | None = None
    callbacks: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.model not in models.ARCHITECTURES:
            raise ValueError(f"unknown model {self.model!r}; choose one of {sorted(models.ARCHITECTURES)}")
        for name in ("model_options", "callbacks"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a dict, got {getattr(self, name)!r}")
        unknown = sorted(set(self.callbacks) - set(_CALLBACKS))
        if unknown:
            raise ValueError(f"unknown callbacks {unknown}; choose from {sorted(_CALLBACKS)}")
        _make_callbacks(self.callbacks)  # bad options fail here, not after the data loads
        try:
            inspect.signature(models.ARCHITECTURES[self.model]).bind(**self.model_options)
        except TypeError as error:
            raise ValueError(f"bad model_options for {self.model!r}: {error}") from None
        checked_int(self.batch_size, "batch_size")
        checked_int(self.epochs, "epochs")
        if self.train_size is not None:
            checked_int(self.train_size, "train_size")
        checked_number(self.learning_rate, "learning_rate", include_low=False)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not isinstance(self.validation_split, float) or not 0 <= self.validation_split < 1:
            raise ValueError(f"validation_split must be a float in [0, 1), got {self.validation_split!r}")
        if self.validation_split == 0 and self.callbacks:
            raise ValueError(
                "callbacks watch the validation metrics, and validation_split=0.0 "
                f"holds out no validation part; drop {sorted(self.callbacks)}"
            )
        checked_int(self.seed, "seed", low=0, high=2**32 - 1)
        for name, module in (("optimizer", keras.optimizers), ("loss", keras.losses)):
            try:
                module.get(getattr(self, name))
            except (ValueError, TypeError):
                raise ValueError(f"unknown {name} {getattr(self, name)!r}") from None
        try:
            json.dumps(dataclasses.asdict(self), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"a recipe must hold plain JSON values only: {error}") from None

    def replace(self, **changes) -> Recipe:
        """A copy of this recipe with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainingHistory:
    """What a training run recorded, whether it just ran or came from the cache.

    ``history`` has the same layout as Keras's ``History.history``: one list of
    per-epoch values per metric, e.g. ``history["val_loss"]``.
    """

    history: dict
    epoch_seconds: list
    log: list
    recipe: Recipe
    key: str
    trained_on: str
    from_cache: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.epoch_seconds)

    @property
    def seconds(self) -> float:
        """Total training time of the run, in seconds."""
        return float(sum(self.epoch_seconds))


def cache_dir() -> Path:
    """Where trained models are kept: ``$DIGITLIB_CACHE``, else ``~/.cache/digitlib``
    (under ``$XDG_CACHE_HOME`` when that is set), shared by every build of the book."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "digitlib"


def _without_docstrings(node: ast.AST) -> ast.AST:
    node = ast.parse(ast.unparse(node)).body[0]  # a copy
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (
            isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            inner.body = body[1:] or [ast.Pass()]
    return node


@functools.lru_cache(maxsize=16)
def _definitions(source: str) -> tuple[dict, dict]:
    """A module's top-level definitions by name, and the digitlib names it imports:
    ``{local name: (module, name)}``, name ``None`` for a module."""
    definitions, imported = {}, {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    definitions[target.id] = node
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:  # from . import x, from .module import x
                module = f"digitlib.{module}".rstrip(".")
            if not (module + ".").startswith("digitlib."):
                continue
            for alias in node.names:
                if module == "digitlib":
                    imported[alias.asname or alias.name] = (f"digitlib.{alias.name}", None)
                else:
                    imported[alias.asname or alias.name] = (module, alias.name)
    return definitions, imported


def _references(definition: ast.AST) -> list[ast.AST]:
    """The names and attributes a definition uses, less its parameters, its local variables
    and its type annotations (which run no code)."""
    annotations, local = set(), set()
    for node in ast.walk(definition):
        for annotation in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if annotation is not None:
                annotations |= {id(inner) for inner in ast.walk(annotation)}
        if isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node is not definition:
            local.add(node.id)
    if isinstance(definition, (ast.Assign, ast.AnnAssign)):
        local = set()  # a module-level assignment's targets are the definition itself
    return [
        node
        for node in ast.walk(definition)
        if id(node) not in annotations
        and (isinstance(node, ast.Attribute) or (isinstance(node, ast.Name) and node.id not in local))
    ]


@functools.cache
def _module_source(module: str) -> str:
    return inspect.getsource(importlib.import_module(module))


def _code_digest(recipe: Recipe, source=_module_source) -> str:
    """Digest of the code that trains ``recipe``: :func:`_run` and the architecture's function,
    with every digitlib definition they reach, docstrings and comments left out. The registry
    of architectures is not followed, so an edit to one architecture keys only its own models.
    ``source`` maps a module's name to its source text."""
    start = [(__name__, "_run"), (models.__name__, models.ARCHITECTURES[recipe.model].__name__)]
    skip = {(models.__name__, "ARCHITECTURES")}
    seen, parts = set(), []
    while start:
        module, name = start.pop()
        if (module, name) in seen or (module, name) in skip:
            continue
        seen.add((module, name))
        definitions, imported = _definitions(source(module))
        if name not in definitions:
            continue
        parts.append(f"{module}.{name} {ast.dump(_without_docstrings(definitions[name]))}")
        for node in _references(definitions[name]):
            if isinstance(node, ast.Name):
                if node.id in definitions:
                    start.append((module, node.id))
                elif node.id in imported and imported[node.id][1] is not None:
                    start.append(imported[node.id])
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and imported.get(node.value.id, (None, ""))[1] is None
                and node.value.id in imported
            ):
                start.append((imported[node.value.id][0], node.attr))
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def cache_key(recipe: Recipe) -> str:
    """The hex digest that names ``recipe``'s cache entry."""
    import tensorflow as tf

    inputs = {
        "recipe": recipe.to_dict(),
        "data": data.MNIST_SHA256,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "dtype_policy": keras.config.dtype_policy().name,
        "digitlib_code": _code_digest(recipe),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def compile_and_fit(model, recipe: Recipe, train, validation, callbacks=()):
    """Compile ``model`` and fit it as ``recipe`` says: the plain Keras calls.
    ``validation`` is ``(x_val, y_val)``, or ``None`` to fit without one."""
    x_train, y_train = train
    learning_rate = recipe.learning_rate
    if recipe.lr_schedule == "cosine":
        total_steps = recipe.epochs * math.ceil(len(x_train) / recipe.batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=total_steps)
    optimizer = keras.optimizers.get({"class_name": recipe.optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=optimizer, loss=recipe.loss, metrics=["accuracy"])
    return model.fit(
        x_train,
        y_train,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        validation_data=validation,
        callbacks=list(callbacks),
        verbose=0,  # EpochLog prints one line per epoch instead
    )


def _make_callbacks(specs: dict) -> list:
    made = []
    for name, options in specs.items():
        if not isinstance(options, dict):
            raise ValueError(f"the options of callback {name!r} must be a dict, got {options!r}")
        try:
            made.append(_CALLBACKS[name](**options))
        except TypeError as error:
            raise ValueError(f"bad options for callback {name!r}: {error}") from None
    return made


def _training_data(recipe: Recipe):
    """The recipe's training part and validation part (``None`` for ``validation_split=0.0``)."""
    if recipe.validation_split > 0:
        return data.training_splits(recipe.validation_split, recipe.train_size)
    (images, labels), _ = data.load_mnist()
    size = len(images) if recipe.train_size is None else recipe.train_size
    if size > len(images):
        raise ValueError(f"train_size must be at most the {len(images):,} training images, got {size}")
    x, y = data.preprocess(images[:size], labels[:size])
    return (x, y), None


def _run(recipe: Recipe, key: str, verbose: int):
    """Train from scratch; returns the model and its :class:`TrainingHistory`."""
    callbacks = _make_callbacks(recipe.callbacks)
    train_part, validation_part = _training_data(recipe)
    set_seed(recipe.seed)
    model = models.build_model(recipe.model, **recipe.model_options)
    log = EpochLog(recipe.epochs, verbose=verbose)
    keras_history = compile_and_fit(model, recipe, train_part, validation_part, callbacks + [log])
    history = {name: [float(v) for v in values] for name, values in keras_history.history.items()}
    return model, TrainingHistory(history, log.seconds, log.lines, recipe, key, _trained_on())


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_partials(folder: Path) -> None:
    """Remove the staging folders that killed processes left behind."""
    for path in folder.glob(".partial-*"):
        try:
            if time.time() - path.stat().st_mtime > STALE_PARTIAL_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _save_entry(entry: Path, model, history: TrainingHistory) -> None:
    """Write the entry into a temporary directory beside it, then rename it into place,
    so an interrupted write never leaves a partial entry under the real name. Raises
    ``OSError`` when the cache cannot be written."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(entry.parent)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=entry.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would hide the entry from other users
        model.save(staging / "model.keras")
        record = {k: v for k, v in dataclasses.asdict(history).items() if k not in ("recipe", "from_cache")}
        (staging / "history.json").write_text(json.dumps(record, indent=1))
        manifest = {
            "recipe": history.recipe.to_dict(),
            "sha256": {name: _file_sha256(staging / name) for name in _ENTRY_FILES},
        }
        (staging / "entry.json").write_text(json.dumps(manifest, indent=1))
        try:
            os.rename(staging, entry)
        except OSError:
            if not entry.is_dir():
                raise
            # another process finished the same entry first; keep theirs
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a rename


def _remove(path: Path) -> None:
    """Remove a file, a link or a folder; what another process removed first is no error."""

    def gone_already(function, name, error):
        if not isinstance(error if isinstance(error, BaseException) else error[1], FileNotFoundError):
            raise error if isinstance(error, BaseException) else error[1]

    if path.is_dir() and not path.is_symlink():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=gone_already)
        else:
            shutil.rmtree(path, onerror=gone_already)
    else:
        path.unlink(missing_ok=True)


def _load_entry(entry: Path, recipe: Recipe):
    """Load a complete, unaltered entry; raise ``ValueError`` saying what is wrong otherwise."""
    try:
        manifest = json.loads((entry / "entry.json").read_text())
        expected = manifest["sha256"]
        for name in _ENTRY_FILES:
            if _file_sha256(entry / name) != expected[name]:
                raise ValueError(f"{name} does not match its checksum")
        record = json.loads((entry / "history.json").read_text())
        model = keras.saving.load_model(entry / "model.keras")
        history = TrainingHistory(recipe=recipe, from_cache=True, **record)
    except (ValueError, PermissionError):
        raise
    except Exception as error:  # missing file, bad JSON, a .keras file Keras cannot read
        raise ValueError(f"{type(error).__name__}: {error}") from None
    if (
        manifest.get("recipe") != json.loads(json.dumps(recipe.to_dict()))
        or history.key != entry.name.rsplit("-", 1)[-1]
    ):
        raise ValueError("it was written for another recipe")
    return model, history


def train(recipe: Recipe | None = None, *, verbose: int = 2, use_cache: bool = True):
    """Train the model ``recipe`` describes on MNIST, or load it from the cache.

    Returns ``(model, history)``: the trained, compiled Keras model and its
    :class:`TrainingHistory`. ``verbose`` reads as in Keras's ``model.fit``: 2 prints one
    line per epoch, 1 one line when the run ends (its epochs, seconds and last accuracy),
    0 nothing. A model loaded from the cache prints what its training printed, so a page
    reads the same whether the model was trained now or earlier. A damaged cache entry is
    reported, removed and trained again. ``use_cache=False`` neither reads nor writes the
    cache. A model the cache cannot take is returned all the same, with a warning. Either
    way, trained or loaded, the global random state is left seeded with ``recipe.seed``.
    """
    recipe = Recipe() if recipe is None else recipe
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a digitlib.Recipe, got {type(recipe).__name__}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    key = cache_key(recipe)
    entry = cache_dir() / f"{recipe.model}-{key}"
    unwritable = None  # why the trained model cannot go into the cache
    if use_cache and os.path.lexists(entry):
        try:
            model, history = _load_entry(entry, recipe)
        except PermissionError as problem:  # someone else's entry: not ours to use, nor damaged
            unwritable = f"its entry {entry} cannot be read: {problem}"
        except ValueError as problem:
            print(f"The cache entry {entry} is damaged ({problem}); training again.")
            try:
                _remove(entry)
            except OSError as error:
                unwritable = f"the damaged entry cannot be removed: {error}"
        else:
            if verbose == 2:
                print("\n".join(history.log), flush=True)
            elif verbose == 1:
                print(_summary(history), flush=True)
            set_seed(recipe.seed)
            return model, history
    model, history = _run(recipe, key, verbose)
    if verbose == 1:
        print(_summary(history), flush=True)
    if use_cache and unwritable is None:
        try:
            _save_entry(entry, model, history)
        except OSError as error:
            unwritable = f"{type(error).__name__}: {error}"
    if use_cache and unwritable is not None:
        warnings.warn(
            f"the trained model is not kept in the cache ({unwritable}); it is returned all the same, "
            "and the next run of this recipe trains it again",
            stacklevel=2,
        )
    set_seed(recipe.seed)
    return model, history


def keep(recipe: Recipe, model, history, epoch_seconds) -> TrainingHistory:
    """Keep a run that a page trained with ``model.fit`` itself as ``recipe``'s cache entry, so
    that a later ``train(recipe)`` loads it instead of training the same run again.

    ``history`` is what ``model.fit`` returned (or its ``history`` dict) and ``epoch_seconds``
    each epoch's seconds. The run must be the one ``train(recipe)`` would make: seeded with
    ``recipe.seed`` before the model was built, and fitted as :func:`compile_and_fit` fits. The
    model must have the layers of ``recipe``'s architecture. An entry already in the cache stays
    as it is; a cache that cannot be written costs a warning. Returns the run's history."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a digitlib.Recipe, got {type(recipe).__name__}")
    state = random.getstate()  # building draws Keras's default seeds from Python's generator
    expected = models.build_model(recipe.model, **recipe.model_options)
    random.setstate(state)
    if not isinstance(model, keras.Model) or [_layer_config(layer) for layer in model.layers] != [
        _layer_config(layer) for layer in expected.layers
    ]:
        raise ValueError(f"the model does not have the layers of the recipe's architecture, {recipe.model!r}")
    values = getattr(history, "history", history)
    if not isinstance(values, dict) or "loss" not in values:
        raise ValueError("history must be what model.fit returned, or its history dict")
    values = {name: [float(v) for v in series] for name, series in values.items()}
    epochs_run = len(values["loss"])
    seconds = [float(s) for s in epoch_seconds]
    if len(seconds) != epochs_run or (not recipe.callbacks and epochs_run != recipe.epochs):
        raise ValueError(
            f"the run has {epochs_run} epochs of history and {len(seconds)} epoch times; "
            f"the recipe asks for {recipe.epochs}"
        )
    if ("val_loss" in values) != (recipe.validation_split > 0):
        raise ValueError("the run's validation metrics do not match the recipe's validation_split")
    log = [
        _log_line(epoch + 1, recipe.epochs, seconds[epoch], {name: series[epoch] for name, series in values.items()})
        for epoch in range(epochs_run)
    ]
    key = cache_key(recipe)
    kept = TrainingHistory(values, seconds, log, recipe, key, _trained_on())
    entry = cache_dir() / f"{recipe.model}-{key}"
    if not os.path.lexists(entry):
        try:
            _save_entry(entry, model, kept)
        except OSError as error:
            warnings.warn(f"the run is not kept in the cache ({type(error).__name__}: {error})", stacklevel=2)
    return kept


def _layer_config(layer) -> dict:
    config = layer.get_config()
    config.pop("dtype", None)
    return config
