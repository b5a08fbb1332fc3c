"""digitlib.train: seeded training, the on-disk cache and its failure modes, callbacks."""

from __future__ import annotations

import json
import re
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
        ({"validation_split": 1}, "validation_split"),
        ({"validation_split": -0.1}, "validation_split"),
        ({"validation_split": 0}, "validation_split"),
        ({"validation_split": 0.0, "callbacks": {"early_stopping": {}}}, "holds out no validation part"),
        ({"seed": -1}, "seed"),
        ({"callbacks": {"reduce_lr": {}}}, "unknown callbacks"),
        ({"callbacks": {"early_stopping": 3}}, "must be a dict"),
        ({"callbacks": {"early_stopping": {"patients": 3}}}, "bad options for callback"),
        ({"callbacks": {"stop_at_accuracy": {"target": 1.5}}}, "target"),
        ({"model_options": {"dropout": np.float32(0.2)}}, "plain JSON"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"lr_schedule": None}, "lr_schedule"),
    ],
)
def test_bad_recipes_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**changes)


def test_replace_changes_one_field():
    recipe = Recipe().replace(epochs=3)
    assert recipe.epochs == 3 and recipe.batch_size == 128


def test_cache_key_covers_recipe_data_versions_and_code(monkeypatch):
    key = training.cache_key(TINY)
    assert key == training.cache_key(Recipe(epochs=2, batch_size=64))
    changed = [
        TINY.replace(epochs=3), TINY.replace(batch_size=32), TINY.replace(seed=1),
        TINY.replace(learning_rate=0.002), TINY.replace(train_size=500), TINY.replace(validation_split=0.2),
        TINY.replace(model_options={"dropout": 0.25}), TINY.replace(optimizer="sgd"),
        TINY.replace(callbacks={"early_stopping": {"patience": 2}}),
    ]
    keys = {training.cache_key(recipe) for recipe in changed}
    assert len(keys) == len(changed) and key not in keys
    monkeypatch.setattr(keras, "__version__", "3.0.0")
    assert training.cache_key(TINY) != key
    monkeypatch.undo()
    monkeypatch.setitem(data.MNIST_SHA256, "x_train", "0" * 64)
    assert training.cache_key(TINY) != key
    monkeypatch.undo()
    monkeypatch.setattr(training, "_code_digest", lambda: "edited")
    assert training.cache_key(TINY) != key


def test_the_code_digest_covers_the_training_data_and_model_code():
    # an edit to any of these files changes every key
    digest = training._code_digest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert {Path(m.__file__).name for m in (data, digitlib.models, training)} == {"data.py", "models.py", "training.py"}


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


def test_verbose_1_prints_one_line_a_dot_per_epoch_trained_or_cached(cache, capsys):
    _, history = digitlib.train(TINY, verbose=1)
    trained = capsys.readouterr().out
    _, again = digitlib.train(TINY, verbose=1)
    assert again.from_cache
    assert capsys.readouterr().out == trained
    accuracy = history.history["val_accuracy"][-1]
    assert trained == f".. 2 epochs, val_accuracy {accuracy:.2%}\n"


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
    plain.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
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
    assert training.cache_key(recipe) != training.cache_key(TINY)


def test_validation_split_zero_takes_the_first_train_size_of_all_images(small_mnist, cache):
    model, history = digitlib.train(TINY.replace(validation_split=0.0, train_size=500), verbose=0)
    plain, plain_history = _plain_fit(small_mnist, size=500)
    assert history.history == plain_history.history
    assert _same_weights(model, plain)
    with pytest.raises(ValueError, match="at most the 1,000 training images"):
        digitlib.train(TINY.replace(validation_split=0.0, train_size=1001), verbose=0)


def test_train_size_uses_the_first_training_images_and_the_whole_validation_part(cache):
    _, history = digitlib.train(TINY.replace(epochs=1, train_size=100, batch_size=100), verbose=0)
    assert history.epochs_run == 1
    with pytest.raises(ValueError, match="train_size must be an int in 1..900"):
        digitlib.train(TINY.replace(train_size=901), verbose=0)


@pytest.mark.parametrize(
    "damage",
    ["truncate model", "alter history", "drop manifest", "garbage manifest", "drop model", "replace by file"],
)
def test_a_damaged_entry_is_reported_and_retrained(cache, capsys, damage):
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
    elif damage == "drop model":
        (entry / "model.keras").unlink()
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


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_no_entry(cache, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(training, "_file_sha256", fail)  # after model.keras is written
        with pytest.raises(type(error)):
            digitlib.train(TINY, verbose=0)
    assert _entries(cache) == []  # neither the entry nor the staging folder
    assert not digitlib.train(TINY, verbose=0)[1].from_cache


def test_cache_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(training.CACHE_ENV, str(tmp_path / "mine"))
    assert digitlib.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(training.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert digitlib.cache_dir() == tmp_path / "xdg" / "digitlib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert digitlib.cache_dir() == tmp_path / "home" / ".cache" / "digitlib"


@pytest.mark.parametrize("recipe, verbose", [("adam", 1), (TINY, 3), (TINY, -1)])
def test_train_refuses_bad_arguments(recipe, verbose, cache):
    with pytest.raises(ValueError, match="recipe|verbose"):
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


@pytest.mark.parametrize("target, monitor", [(0, "val_accuracy"), (1.2, "accuracy"), (True, "accuracy"), (0.9, "")])
def test_stop_at_accuracy_refuses_bad_arguments(target, monitor):
    with pytest.raises(ValueError):
        digitlib.StopAtAccuracy(target, monitor=monitor)


def test_early_stopping_from_the_recipe_stops_and_restores(cache):
    # min_delta no epoch can beat: the second epoch "fails to improve" and training stops
    recipe = TINY.replace(
        epochs=6,
        callbacks={"early_stopping": {"monitor": "val_loss", "patience": 1, "min_delta": 10.0,
                                      "restore_best_weights": True}},
    )
    _, history = digitlib.train(recipe, verbose=0)
    assert history.epochs_run == 2


# --- learning-rate schedule ---------------------------------------------------------------------


def test_a_cosine_schedule_falls_from_the_learning_rate_to_zero_over_all_steps(small_mnist):
    (x, y), _ = small_mnist
    train, validation = (data.scale_images(x[:100])[..., None], data.one_hot(y[:100])), (
        data.scale_images(x[100:120])[..., None], data.one_hot(y[100:120]))
    recipe = Recipe(epochs=2, batch_size=32, learning_rate=0.01, lr_schedule="cosine")
    assert training.cache_key(recipe) != training.cache_key(recipe.replace(lr_schedule="constant"))
    model = digitlib.simple_convnet()
    training.compile_and_fit(model, recipe, train, validation)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert schedule.initial_learning_rate == 0.01
    assert schedule.decay_steps == 2 * 4  # 100 images in batches of 32: 4 steps an epoch
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(4)) == pytest.approx(0.005)  # half way: cos(pi / 2)
    assert int(model.optimizer.iterations) == 8
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)  # all steps used

    constant = digitlib.simple_convnet()
    training.compile_and_fit(constant, recipe.replace(lr_schedule="constant"), train, validation)
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.01, rel=1e-7)


@pytest.mark.parametrize("schedule", ["linear", None, 1, "Cosine", ""])
def test_bad_lr_schedules_are_refused(schedule):
    with pytest.raises(ValueError, match=r"lr_schedule must be one of \('constant', 'cosine'\)"):
        Recipe(lr_schedule=schedule)


def test_the_schedule_is_part_of_the_recipe_and_its_key():
    cosine = TINY.replace(lr_schedule="cosine")
    assert cosine.to_dict()["lr_schedule"] == "cosine" and TINY.to_dict()["lr_schedule"] == "constant"
    assert training.cache_key(cosine) != training.cache_key(TINY)
    assert training.cache_key(cosine) == training.cache_key(Recipe(epochs=2, batch_size=64, lr_schedule="cosine"))


def _arrays(small_mnist, count):
    (x, y), _ = small_mnist
    return data.scale_images(x[:count])[..., None], data.one_hot(y[:count])


@pytest.mark.parametrize(
    "count, batch_size, epochs, steps",
    [(100, 32, 2, 8), (64, 32, 1, 2), (65, 32, 1, 3), (40, 50, 2, 2)],  # epochs * ceil(count / batch_size)
)
def test_cosine_decay_steps_cover_every_batch(small_mnist, count, batch_size, epochs, steps):
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    recipe = Recipe(epochs=epochs, batch_size=batch_size, learning_rate=0.003, lr_schedule="cosine")
    training.compile_and_fit(model, recipe, _arrays(small_mnist, count), _arrays(small_mnist, 10))
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert (schedule.initial_learning_rate, schedule.decay_steps, schedule.alpha) == (0.003, steps, 0.0)
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
    recipe = Recipe(model="modern_convnet", model_options={"filters": [8, 16]}, epochs=2, batch_size=32,
                    train_size=100, learning_rate=0.01, lr_schedule="cosine")
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
    assert training.cache_key(recipe) != training.cache_key(recipe.replace(lr_schedule="constant"))
