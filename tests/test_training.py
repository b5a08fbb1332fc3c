"""digitlib.train: seeded training, the on-disk cache and its failure modes, callbacks."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import digitlib
from digitlib import data, training
from digitlib.training import Recipe

# 1,000 training and 200 test images keep each run to a second or two.
TINY = Recipe(epochs=2, batch_size=64)


@pytest.fixture
def small_mnist(monkeypatch, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    small = (x_train[:1000], y_train[:1000]), (x_test[:200], y_test[:200])
    monkeypatch.setattr(data, "load_mnist", lambda path=None: small)
    return small


@pytest.fixture
def cache(tmp_path, monkeypatch, small_mnist):
    folder = tmp_path / "cache"
    monkeypatch.setenv(training.CACHE_ENV, str(folder))
    return folder


def _entries(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


# --- recipes ----------------------------------------------------------------------------------


def test_default_recipe_is_the_classic_one():
    recipe = Recipe()
    assert (recipe.model, recipe.optimizer, recipe.learning_rate) == ("simple_convnet", "adam", 0.001)
    assert (recipe.batch_size, recipe.epochs, recipe.validation_split) == (128, 15, 0.1)
    assert recipe.loss == "categorical_crossentropy" and recipe.train_size is None
    assert recipe.lr_schedule == "constant"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "resnet"}, "unknown model"),
        ({"model_options": {"dropot": 0.2}}, "bad model_options"),
        ({"model_options": [("dropout", 0.2)]}, "model_options must be a dict"),
        ({"optimizer": "adamm"}, "unknown optimizer"),
        ({"loss": "cross_entropy"}, "unknown loss"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 2.0}, "epochs"),
        ({"train_size": -5}, "train_size"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"validation_split": 1.0}, "validation_split"),  # the excluded end
        ({"validation_split": -0.1}, "validation_split"),
        ({"validation_split": 0}, "validation_split"),  # an int: 0.0 is allowed, 0 is not
        ({"validation_split": 0.0, "callbacks": {"early_stopping": {}}}, "holds out no validation part"),
        ({"seed": -1}, "seed"),
        ({"callbacks": {"reduce_lr": {}}}, "unknown callbacks"),
        ({"callbacks": {"early_stopping": 3}}, "must be a dict"),
        ({"callbacks": {"early_stopping": {"patients": 3}}}, "bad options for callback"),
        ({"callbacks": {"stop_at_accuracy": {"target": 1.5}}}, "target"),
        ({"model_options": {"dropout": np.float32(0.2)}}, "plain JSON"),
    ],
)
def test_bad_recipes_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**changes)


def test_replace_changes_one_field_and_checks_it():
    assert Recipe().replace(epochs=3) == Recipe(epochs=3)
    with pytest.raises(ValueError, match="epochs"):
        Recipe().replace(epochs=0)


def test_cache_key_covers_recipe_data_versions_and_code(monkeypatch):
    key = training.cache_key(TINY)
    assert key == training.cache_key(Recipe(epochs=2, batch_size=64))
    changed = [
        TINY.replace(epochs=3),
        TINY.replace(batch_size=32),
        TINY.replace(seed=1),
        TINY.replace(learning_rate=0.002),
        TINY.replace(train_size=500),
        TINY.replace(validation_split=0.2),
        TINY.replace(model_options={"dropout": 0.25}),
        TINY.replace(optimizer="sgd"),
        TINY.replace(callbacks={"early_stopping": {"patience": 2}}),
        TINY.replace(lr_schedule="cosine"),
    ]
    keys = {training.cache_key(recipe) for recipe in changed}
    assert len(keys) == len(changed) and key not in keys
    monkeypatch.setattr(keras, "__version__", "3.0.0")
    assert training.cache_key(TINY) != key
    monkeypatch.undo()
    monkeypatch.setitem(data.MNIST_SHA256, "x_train", "0" * 64)
    assert training.cache_key(TINY) != key
    monkeypatch.undo()
    monkeypatch.setattr(training, "_code_digest", lambda recipe: "edited")
    assert training.cache_key(TINY) != key
    monkeypatch.undo()
    keras.config.set_dtype_policy("float64")
    try:
        assert training.cache_key(TINY) != key, "a float64 model must not be served to a float32 session"
    finally:
        keras.config.set_dtype_policy("float32")
    assert training.cache_key(TINY) == key


def _edited(module_edits):
    """A source lookup for _code_digest with some modules' text edited: {module: (old, new)}."""

    def source(module):
        text = training._module_source(module)
        if module in module_edits:
            old, new = module_edits[module]
            assert old in text, old
            text = text.replace(old, new, 1)
        return text

    return source


LENET = Recipe(model="lenet5")


@pytest.mark.parametrize(
    "edit, changes_book_model, changes_lenet",
    [
        (("digitlib.models", ('"""The book\'s model:', '"""The model of this book:')), False, False),
        (("digitlib.training", ("# EpochLog prints one line per epoch instead", "# a line per epoch")), False, False),
        (("digitlib.training", ("_remove_stale_partials(entry.parent)", "pass")), False, False),
        (
            (
                "digitlib.models",
                (
                    'kernel_size=(3, 3), activation="relu", name="conv1"',
                    'kernel_size=(5, 5), activation="relu", name="conv1"',
                ),
            ),
            True,
            False,
        ),
        (
            (
                "digitlib.data",
                (
                    "return images.astype(np.float32) / np.float32(255)",
                    "return images.astype(np.float32) / np.float32(256)",
                ),
            ),
            True,
            True,
        ),
        (("digitlib._checks", ("value < low", "value <= low")), True, True),
    ],
    ids=[
        "a docstring",
        "a comment",
        "cache code",
        "the book model's code",
        "the preprocessing",
        "a shared argument check",
    ],
)
def test_the_code_digest_follows_the_code_that_trains(edit, changes_book_model, changes_lenet):
    """Kept out: docstrings, comments, code off the training path, another architecture. Followed:
    a reached module's attribute (data.preprocess) and, through it, a name it imports (checked_int)."""
    module, change = edit
    source = _edited({module: change})
    assert (training._code_digest(TINY, source) != training._code_digest(TINY)) == changes_book_model
    assert (training._code_digest(LENET, source) != training._code_digest(LENET)) == changes_lenet


def test_the_code_digest_follows_relative_imports_too():
    source = "from . import data\nfrom ._checks import checked_int\nfrom .models import mlp as m\n"
    _, imported = training._definitions(source)
    assert imported == {
        "data": ("digitlib.data", None),
        "checked_int": ("digitlib._checks", "checked_int"),
        "m": ("digitlib.models", "mlp"),
    }


# --- training and the cache -------------------------------------------------------------------


def test_train_then_load_from_the_cache(cache, capsys, monkeypatch):
    model, history = digitlib.train(TINY)
    printed = capsys.readouterr().out
    assert not history.from_cache and history.epochs_run == 2
    assert printed.splitlines() == history.log
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.history.values())
    [entry] = _entries(cache)
    assert entry == f"simple_convnet-{training.cache_key(TINY)}"
    assert sorted(p.name for p in (cache / entry).iterdir()) == ["entry.json", "history.json", "model.keras"]

    monkeypatch.setattr(training, "_run", lambda *a, **k: pytest.fail("trained again despite the cache"))
    loaded, again = digitlib.train(TINY)
    printed = capsys.readouterr().out
    assert again.from_cache
    assert printed.splitlines() == history.log  # the original log, replayed as it was printed
    assert again.history == history.history and again.epoch_seconds == history.epoch_seconds
    assert _same_weights(model, loaded)
    x = np.zeros((3, 28, 28, 1), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.optimizer is not None  # compiled, ready for evaluate()


def test_verbose_0_prints_nothing(cache, capsys):
    digitlib.train(TINY, verbose=0)
    digitlib.train(TINY, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_1_prints_one_line_when_the_run_ends_trained_or_cached(cache, capsys):
    _, history = digitlib.train(TINY, verbose=1)
    trained = capsys.readouterr().out
    _, again = digitlib.train(TINY, verbose=1)
    assert again.from_cache
    assert capsys.readouterr().out == trained
    accuracy = history.history["val_accuracy"][-1]
    assert trained == f"2 epochs in {history.seconds:.1f} s, val_accuracy {accuracy:.2%}\n"
    _, one = digitlib.train(TINY.replace(epochs=1), verbose=1)
    assert capsys.readouterr().out.startswith(f"1 epoch in {one.seconds:.1f} s, val_accuracy ")


def test_epoch_log_lines_look_like_keras_verbose_2(cache):
    _, history = digitlib.train(TINY, verbose=0)
    for number, line in enumerate(history.log, start=1):
        assert re.fullmatch(
            rf"Epoch {number}/2 - \d+\.\ds - accuracy: \d\.\d{{4}} - loss: \d+\.\d{{4}}"
            r" - val_accuracy: \d\.\d{4} - val_loss: \d+\.\d{4}",
            line,
        ), line
    assert len(history.epoch_seconds) == 2 and history.seconds == pytest.approx(sum(history.epoch_seconds))


def test_same_recipe_same_weights_and_history(small_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path))
    first, history_a = digitlib.train(TINY, use_cache=False, verbose=0)
    second, history_b = digitlib.train(TINY, use_cache=False, verbose=0)
    assert _same_weights(first, second) and history_a.history == history_b.history
    assert _entries(tmp_path) == []  # use_cache=False writes nothing
    other, _ = digitlib.train(TINY.replace(seed=1), use_cache=False, verbose=0)
    assert not _same_weights(first, other)


def _plain_fit(small_mnist, size=None, **fit_options):
    """TINY's recipe written out as the classic tutorials' Keras calls, on the first ``size``
    images of small_mnist (all of them by default)."""
    (x, y), _ = small_mnist
    x, y = digitlib.preprocess(x[:size], y[:size])
    digitlib.set_seed(TINY.seed)
    plain = digitlib.simple_convnet()
    plain.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return plain, plain.fit(x, y, batch_size=64, epochs=2, verbose=0, **fit_options)


def test_equals_the_plain_keras_fit_with_validation_split(small_mnist, tmp_path, monkeypatch):
    """digitlib's path is exactly what the classic tutorials' model.fit call does."""
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path))
    model, history = digitlib.train(TINY, use_cache=False, verbose=0)
    plain, plain_history = _plain_fit(small_mnist, validation_split=0.1)
    assert history.history == plain_history.history
    assert _same_weights(model, plain)


def test_validation_split_zero_fits_on_every_training_image_like_keras(small_mnist, tmp_path, monkeypatch):
    """validation_split=0.0 is the final run: all 1,000 images here, no validation metrics,
    and exactly what model.fit does without validation_split."""
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path))
    recipe = TINY.replace(validation_split=0.0)
    model, history = digitlib.train(recipe, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    plain, plain_history = _plain_fit(small_mnist)
    assert history.history == plain_history.history
    assert _same_weights(model, plain)
    again, _ = digitlib.train(recipe, verbose=0)  # and it caches like any other recipe
    assert _same_weights(model, again) and len(_entries(tmp_path)) == 1


def test_validation_split_zero_takes_the_first_train_size_of_all_images(small_mnist, cache):
    model, history = digitlib.train(TINY.replace(validation_split=0.0, train_size=500), verbose=0)
    plain, plain_history = _plain_fit(small_mnist, size=500)
    assert history.history == plain_history.history
    assert _same_weights(model, plain)
    with pytest.raises(ValueError, match="at most the 1,000 training images"):
        digitlib.train(TINY.replace(validation_split=0.0, train_size=1001), verbose=0)


def test_train_size_uses_the_first_training_images_and_the_whole_validation_part(small_mnist, cache):
    model, history = digitlib.train(TINY.replace(epochs=1, train_size=100, batch_size=100), verbose=0)
    assert int(model.optimizer.iterations) == 1  # one batch of 100, not nine of the 900
    (x, y), _ = small_mnist
    validation = model.evaluate(*digitlib.preprocess(x[900:], y[900:]), verbose=0, return_dict=True)
    assert history.history["val_accuracy"] == [pytest.approx(validation["accuracy"], abs=1e-6)]  # all last 100
    with pytest.raises(ValueError, match="train_size must be an int in 1..900"):
        digitlib.train(TINY.replace(train_size=901), verbose=0)


@pytest.mark.parametrize(
    "damage",
    ["truncate model", "alter history", "drop manifest", "garbage manifest", "replace by file"],
)
def test_a_damaged_entry_is_reported_and_retrained(cache, capsys, damage):
    """One case per way _load_entry fails: each file's checksum, a missing file, bad JSON, an entry that is
    no folder."""
    model, history = digitlib.train(TINY, verbose=0)
    entry = cache / _entries(cache)[0]
    if damage == "truncate model":
        blob = (entry / "model.keras").read_bytes()
        (entry / "model.keras").write_bytes(blob[: len(blob) // 2])
    elif damage == "alter history":
        record = json.loads((entry / "history.json").read_text())
        record["history"]["val_accuracy"][-1] = 1.0
        (entry / "history.json").write_text(json.dumps(record))
    elif damage == "drop manifest":
        (entry / "entry.json").unlink()
    elif damage == "garbage manifest":
        (entry / "entry.json").write_text("{not json")
    else:
        for path in entry.iterdir():
            path.unlink()
        entry.rmdir()
        entry.write_text("not a directory")
    retrained, again = digitlib.train(TINY, verbose=0)
    assert f"The cache entry {entry} is damaged" in capsys.readouterr().out
    assert not again.from_cache
    assert _same_weights(model, retrained) and again.history == history.history
    assert digitlib.train(TINY, verbose=0)[1].from_cache  # and the entry is whole again


def test_an_entry_checksummed_for_another_recipe_is_not_loaded(cache, capsys):
    digitlib.train(TINY, verbose=0)
    entry = cache / _entries(cache)[0]
    manifest = json.loads((entry / "entry.json").read_text())
    manifest["recipe"]["epochs"] = 7
    (entry / "entry.json").write_text(json.dumps(manifest))
    _, history = digitlib.train(TINY, verbose=0)
    assert "written for another recipe" in capsys.readouterr().out and not history.from_cache


def test_an_interrupted_write_leaves_no_entry(cache, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "_file_sha256", fail)  # after model.keras is written
        with pytest.raises(KeyboardInterrupt):
            digitlib.train(TINY, verbose=0)
    assert _entries(cache) == []  # neither the entry nor the staging folder
    assert not digitlib.train(TINY, verbose=0)[1].from_cache


def test_a_failed_write_returns_the_trained_model_with_one_warning(cache, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    reference, _ = digitlib.train(TINY, verbose=0, use_cache=False)
    with monkeypatch.context() as patch:
        patch.setattr(training, "_file_sha256", full)  # after model.keras is written
        with pytest.warns(UserWarning, match="not kept in the cache .*No space left on device") as caught:
            model, history = digitlib.train(TINY, verbose=0)
    assert len([w for w in caught if w.category is UserWarning]) == 1
    assert _same_weights(model, reference) and not history.from_cache
    assert _entries(cache) == []  # no staging folder left either


def test_a_cache_path_that_is_a_file_costs_no_training(cache, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path / "a-file"))
    with pytest.warns(UserWarning, match="not kept in the cache"):
        model, history = digitlib.train(TINY, verbose=0)
    assert history.epochs_run == TINY.epochs


def test_a_dangling_link_at_the_entry_is_replaced(cache, capsys):
    key = training.cache_key(TINY)
    cache.mkdir()
    (cache / f"{TINY.model}-{key}").symlink_to(cache / "nowhere")
    digitlib.train(TINY, verbose=0)
    assert "is damaged" in capsys.readouterr().out
    assert digitlib.train(TINY, verbose=0)[1].from_cache


def test_staging_folders_of_killed_processes_are_cleaned_up(cache):
    cache.mkdir()
    stale, fresh = cache / ".partial-killed", cache / ".partial-writing"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"half a model")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(stale, (two_hours_ago, two_hours_ago))
    digitlib.train(TINY, verbose=0)
    assert not stale.exists() and fresh.exists()  # another process may still be writing that one


def test_the_random_state_after_train_is_the_same_trained_or_loaded(cache):
    def draws():
        return random.random(), float(np.random.random())

    digitlib.set_seed(11)
    assert not digitlib.train(TINY, verbose=0)[1].from_cache
    after_training = draws()
    digitlib.set_seed(12)
    assert digitlib.train(TINY, verbose=0)[1].from_cache
    assert draws() == after_training


# --- the cache under real permissions and processes --------------------------------------------

# A child process that trains TINY on the first 1,000 images (as small_mnist) and reports.
CHILD = """
import json, sys, warnings
import digitlib
from digitlib import data
(x, y), (xt, yt) = data.load_mnist()
small = (x[:1000], y[:1000]), (xt[:200], yt[:200])
data.load_mnist = lambda path=None: small
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model, history = digitlib.train(digitlib.Recipe(epochs=2, batch_size=64), verbose=0)
print(json.dumps({"from_cache": history.from_cache, "epochs": history.epochs_run,
                  "warnings": [str(w.message) for w in caught if w.category is UserWarning]}))
"""


def _bound_by_permissions() -> list[str]:
    """The command for a Python that file permissions bind: root without the capabilities
    that override them (as another user would be), or this user as it is."""
    if os.geteuid() != 0:
        return [sys.executable]
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without util-linux's setpriv: permissions cannot bind a child process")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all", sys.executable]


def _child(cache, bound=False):
    command = (_bound_by_permissions() if bound else [sys.executable]) + ["-c", CHILD]
    return subprocess.Popen(
        command,
        env=dict(os.environ, **{training.CACHE_ENV: str(cache)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _as_another_user(path: Path):
    """Hand ``path`` and everything in it to another user (root can; others skip)."""
    if os.geteuid() != 0:
        pytest.skip("only root can give files to another user here")
    for item in [path, *path.rglob("*")]:
        os.chown(item, 65534, 65534, follow_symlinks=False)


def test_a_read_only_cache_returns_the_trained_model_with_a_warning(cache):
    cache.mkdir()
    cache.chmod(0o555)
    try:
        report = _report(_child(cache, bound=True))
    finally:
        cache.chmod(0o755)
    assert report["epochs"] == 2 and not report["from_cache"]
    assert len(report["warnings"]) == 1 and "Permission denied" in report["warnings"][0]


def test_a_read_only_cache_with_a_damaged_entry_still_trains(cache):
    cache.mkdir()
    entry = cache / f"{TINY.model}-{training.cache_key(TINY)}"
    entry.mkdir()
    (entry / "entry.json").write_text("{not json")
    cache.chmod(0o555)
    try:
        report = _report(_child(cache, bound=True))
    finally:
        cache.chmod(0o755)
    assert not report["from_cache"] and len(report["warnings"]) == 1
    assert "cannot be removed" in report["warnings"][0] and entry.exists()


def test_another_users_entries_are_shared(cache):
    digitlib.train(TINY, verbose=0)
    _as_another_user(cache)
    report = _report(_child(cache, bound=True))
    assert report == {"from_cache": True, "epochs": 2, "warnings": []}


def test_an_entry_another_user_keeps_private_is_trained_around_not_removed(cache):
    digitlib.train(TINY, verbose=0)
    entry = cache / _entries(cache)[0]
    entry.chmod(0o700)
    _as_another_user(entry)
    report = _report(_child(cache, bound=True))
    assert not report["from_cache"] and len(report["warnings"]) == 1 and "cannot be read" in report["warnings"][0]
    assert entry.is_dir() and (entry / "model.keras").exists()


def test_three_processes_that_find_one_damaged_entry_all_succeed(cache):
    digitlib.train(TINY, verbose=0)
    entry = cache / _entries(cache)[0]
    (entry / "entry.json").write_text("{not json")
    for i in range(3000):  # a removal long enough for the processes to meet in it
        (entry / f"junk-{i}").write_bytes(b"x")
    reports = [_report(process) for process in [_child(cache) for _ in range(3)]]
    assert all(report["epochs"] == 2 and not report["warnings"] for report in reports)
    assert digitlib.train(TINY, verbose=0)[1].from_cache  # one whole entry in the end
    assert [name for name in _entries(cache) if name.startswith(".partial-")] == []


def test_cache_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path / "mine"))
    assert training.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(training.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert training.cache_dir() == tmp_path / "xdg" / "digitlib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert training.cache_dir() == tmp_path / "home" / ".cache" / "digitlib"


@pytest.mark.parametrize(
    "recipe, verbose, message",
    [
        ("adam", 1, "recipe must be a digitlib.Recipe"),
        (TINY, 3, "verbose must be 0, 1 or 2"),
        (TINY, -1, "verbose must be 0, 1 or 2"),
    ],
)
def test_train_refuses_bad_arguments(recipe, verbose, message, cache):
    with pytest.raises(ValueError, match=message):
        digitlib.train(recipe, verbose=verbose)


# --- callbacks --------------------------------------------------------------------------------


def test_stop_at_accuracy_stops_after_the_first_epoch_that_reaches_the_target(cache, capsys):
    recipe = TINY.replace(epochs=5, callbacks={"stop_at_accuracy": {"target": 0.01}})
    _, history = digitlib.train(recipe)
    assert history.epochs_run == 1
    assert "Stopping: val_accuracy" in capsys.readouterr().out
    _, history = digitlib.train(TINY.replace(epochs=3, callbacks={"stop_at_accuracy": {"target": 1.0}}))
    assert history.epochs_run == 3  # never reached: runs every epoch


def test_stop_at_accuracy_names_a_missing_metric():
    callback = digitlib.StopAtAccuracy(0.9, monitor="val_acc")
    with pytest.raises(ValueError, match="no 'val_acc'"):
        callback.on_epoch_end(0, {"val_accuracy": 0.95})


@pytest.mark.parametrize(
    "target, monitor, message",
    [(0, "val_accuracy", "target"), (1.2, "accuracy", "target"), (True, "accuracy", "target"), (0.9, "", "monitor")],
)
def test_stop_at_accuracy_refuses_bad_arguments(target, monitor, message):
    with pytest.raises(ValueError, match=message):
        digitlib.StopAtAccuracy(target, monitor=monitor)


def test_early_stopping_from_the_recipe_stops_and_restores(cache):
    # min_delta no epoch can beat: the second epoch "fails to improve" and training stops
    recipe = TINY.replace(
        epochs=6,
        callbacks={
            "early_stopping": {"monitor": "val_loss", "patience": 1, "min_delta": 10.0, "restore_best_weights": True}
        },
    )
    _, history = digitlib.train(recipe, verbose=0)
    assert history.epochs_run == 2


# --- learning-rate schedule ---------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["linear", "Cosine", "", None])
def test_bad_lr_schedules_are_refused(schedule):
    with pytest.raises(ValueError, match=r"lr_schedule must be one of \('constant', 'cosine'\)"):
        Recipe(lr_schedule=schedule)


def _arrays(small_mnist, count):
    (x, y), _ = small_mnist
    return data.scale_images(x[:count])[..., None], data.one_hot(y[:count])


@pytest.mark.parametrize(
    "count, batch_size, epochs, steps",
    [(64, 32, 1, 2), (65, 32, 1, 3), (40, 50, 2, 2)],  # epochs * ceil(count / batch_size)
)
def test_cosine_decay_steps_cover_every_batch(small_mnist, count, batch_size, epochs, steps):
    """Falls from the learning rate to 0 along a half cosine: batches that fill up, one left over, one
    batch larger than the data (over two epochs)."""
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    recipe = Recipe(epochs=epochs, batch_size=batch_size, learning_rate=0.003, lr_schedule="cosine")
    training.compile_and_fit(model, recipe, _arrays(small_mnist, count), _arrays(small_mnist, 10))
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert (schedule.initial_learning_rate, schedule.decay_steps, schedule.alpha) == (0.003, steps, 0.0)
    assert float(schedule(0)) == pytest.approx(0.003) and float(schedule(steps / 2)) == pytest.approx(0.0015)
    assert int(model.optimizer.iterations) == steps
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_a_constant_rate_stays_the_learning_rate(small_mnist):
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    recipe = Recipe(epochs=2, batch_size=32, learning_rate=0.003)
    training.compile_and_fit(model, recipe, _arrays(small_mnist, 64), _arrays(small_mnist, 10))
    assert not isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    assert int(model.optimizer.iterations) == 4
    assert float(model.optimizer.learning_rate) == float(np.float32(0.003))  # exactly, in float32


def test_train_with_a_cosine_schedule_counts_train_size_and_survives_the_cache(cache):
    recipe = Recipe(
        model="modern_convnet",
        model_options={"filters": [8, 16]},
        epochs=2,
        batch_size=32,
        train_size=100,
        learning_rate=0.01,
        lr_schedule="cosine",
    )
    model, history = digitlib.train(recipe, verbose=0)
    assert not history.from_cache and history.epochs_run == 2
    assert model.optimizer._learning_rate.decay_steps == 8  # 100 images, not the 900 of the training part
    loaded, again = digitlib.train(recipe, verbose=0)
    assert again.from_cache and _same_weights(model, loaded)
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert (schedule.initial_learning_rate, schedule.decay_steps) == (0.01, 8)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


# --- a run a page trains with model.fit itself, kept for later pages --------------------------


class _EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def _page_fit(small_mnist, recipe=TINY):
    """The Training chapter's run: seeded, the model built and compiled, measured untrained,
    then fitted with validation_split and a timer."""
    (x, y), _ = small_mnist
    x, y = digitlib.preprocess(x, y)
    digitlib.set_seed(recipe.seed)
    model = digitlib.simple_convnet()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    model.evaluate(x, y, verbose=0)
    timer = _EpochTimer()
    history = model.fit(x, y, batch_size=64, epochs=recipe.epochs, validation_split=0.1, callbacks=[timer], verbose=0)
    return model, history, timer.seconds


def test_a_kept_run_is_what_train_loads_and_what_it_would_have_trained(cache, small_mnist):
    model, history, seconds = _page_fit(small_mnist)
    kept = training.keep(TINY, model, history, seconds)
    assert kept.epoch_seconds == seconds and kept.history == history.history
    loaded, again = digitlib.train(TINY, verbose=0)
    assert again.from_cache and again.history == history.history and again.epoch_seconds == seconds
    assert again.log == [
        training._log_line(epoch + 1, 2, seconds[epoch], {k: v[epoch] for k, v in history.history.items()})
        for epoch in range(2)
    ]
    assert _same_weights(loaded, model)
    trained, _ = digitlib.train(TINY, use_cache=False, verbose=0)  # the page's run is the recipe's
    assert _same_weights(trained, model)


def test_keep_leaves_an_entry_that_is_there_and_the_random_state_as_they_are(cache, small_mnist):
    model, history, seconds = _page_fit(small_mnist)
    training.keep(TINY, model, history, seconds)
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    state = random.getstate()
    training.keep(TINY, model, history, [s + 1 for s in seconds])
    assert random.getstate() == state
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before
    assert digitlib.train(TINY, verbose=0)[1].epoch_seconds == seconds


@pytest.mark.parametrize(
    "recipe, change, message",
    [
        (TINY.replace(model="lenet5"), None, "layers of the recipe's architecture"),
        (TINY.replace(epochs=3), None, "the recipe asks for 3"),
        (TINY, "one time short", "1 epoch times"),
        (TINY.replace(validation_split=0.0), None, "validation metrics"),
    ],
)
def test_keep_refuses_a_run_that_is_not_the_recipes(cache, small_mnist, recipe, change, message):
    model, history, seconds = _page_fit(small_mnist)
    with pytest.raises(ValueError, match=message):
        training.keep(recipe, model, history, seconds[:1] if change else seconds)
    assert _entries(cache) == []


def test_keep_warns_where_the_cache_cannot_be_written(cache, small_mnist):
    model, history, seconds = _page_fit(small_mnist)
    cache.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="not kept in the cache"):
        kept = training.keep(TINY, model, history, seconds)
    assert kept.history == history.history
