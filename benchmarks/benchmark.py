"""Speed figures for benchmarks/README.md: training throughput and book build times.

    python benchmarks/benchmark.py throughput   # digitlib.train against plain model.fit
    python benchmarks/benchmark.py build        # cold build, warm rebuild, re-execution, machine speed
    python benchmarks/benchmark.py all

Run it on a quiet machine: each figure is a wall-clock time. Throughput runs the two paths
side by side in each round, alternating which goes first, and reports the median of the
rounds' ratios, so a burst of load elsewhere hits both paths alike.
Prints Markdown tables; ``--json FILE`` also writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _plain_fit(epochs: int) -> None:
    """What the classic tutorials write: arrays in, validation_split, model.fit."""
    import keras

    import digitlib

    (x, y), _ = digitlib.load_mnist()
    x, y = digitlib.preprocess(x, y)
    digitlib.set_seed(0)
    model = digitlib.simple_convnet()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(x, y, batch_size=128, epochs=epochs, validation_split=0.1, verbose=0)


def _training_images(epochs: int) -> int:
    """Images the book's recipe trains on in ``epochs`` epochs (54,000 an epoch)."""
    import digitlib

    return digitlib.validation_split_sizes(60000, 0.1)[0] * epochs


def _digitlib_train(epochs: int) -> None:
    import digitlib

    digitlib.train(digitlib.Recipe(epochs=epochs), use_cache=False, verbose=0)


def throughput(epochs: int, rounds: int) -> dict:
    """Images per second of training the book's model (54,000 images an epoch, with its
    validation pass) along each path, from loading the data to a trained model."""
    import digitlib

    images = _training_images(epochs)
    _plain_fit(1)  # warm-up: imports, the first graph tracing
    paths = {"digitlib.train": _digitlib_train, "plain model.fit": _plain_fit}
    seconds = {name: [] for name in paths}
    for round_number in range(rounds):
        order = list(paths) if round_number % 2 == 0 else list(reversed(paths))
        for name in order:
            start = time.perf_counter()
            paths[name](epochs)
            seconds[name].append(time.perf_counter() - start)
            print(f"round {round_number + 1}: {name}: {images / seconds[name][-1]:,.0f} images/s", flush=True)

    with tempfile.TemporaryDirectory() as folder:  # a cache hit: load instead of training
        os.environ[digitlib.training.CACHE_ENV] = folder
        recipe = digitlib.Recipe(epochs=1)
        digitlib.train(recipe, verbose=0)
        start = time.perf_counter()
        digitlib.train(recipe, verbose=0)
        cache_hit = time.perf_counter() - start
        del os.environ[digitlib.training.CACHE_ENV]

    rates = {name: images / statistics.median(values) for name, values in seconds.items()}
    # each round's two runs are neighbours in time, so their ratio cancels slow drifts in the
    # machine's speed; the median over rounds is the figure, min and max its spread
    ratios = [plain / ours for ours, plain in zip(seconds["digitlib.train"], seconds["plain model.fit"])]
    return {
        "epochs": epochs,
        "rounds": rounds,
        "images_per_second": rates,
        "seconds": seconds,
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "cache_hit_seconds": cache_hit,
    }


def _build(path_output: Path, cache: Path) -> tuple[float, dict]:
    environment = dict(os.environ, **{"DIGITLIB_CACHE": str(cache)})
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(ROOT),
        "--path-output",
        str(path_output),
        "-W",
        "-n",
        "--keep-going",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"the build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    executed = {
        name: float(seconds)
        for name, seconds in re.findall(r"(\S+): Executed notebook in ([\d.]+) seconds", result.stdout)
    }
    return elapsed, executed


def machine_speed(epochs: int = 2) -> float:
    """Images per second at which this machine trains the book's model right now (cache
    off, 54,000 images an epoch, with validation), after a one-epoch warm-up. Build times
    from different machines compare only beside this figure."""
    _digitlib_train(1)
    start = time.perf_counter()
    _digitlib_train(epochs)
    return _training_images(epochs) / (time.perf_counter() - start)


def build_times(models: Path | None = None) -> dict:
    """A cold build (empty build folder and model cache), a warm rebuild (nothing
    changed) and a re-execution (empty build folder, warm model cache), with the
    machine's speed measured before and after them. The models trained on the way are
    kept in ``models`` if given (it must be empty or absent)."""
    if models is not None and models.exists() and any(models.iterdir()):
        sys.exit(f"--models {models} must be an empty or new folder, for a cold build")
    speed_before = machine_speed()
    print(f"machine speed before the builds: {speed_before:,.0f} images/s", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        cache = models if models is not None else folder / "models"
        cold, cold_chapters = _build(folder / "book", cache)
        warm, _ = _build(folder / "book", cache)
        shutil.rmtree(folder / "book")
        reexecute, reexecute_chapters = _build(folder / "book", cache)
    speed_after = machine_speed()
    return {
        "images_per_second_before": speed_before,
        "images_per_second_after": speed_after,
        "cold_seconds": cold,
        "cold_chapters": cold_chapters,
        "warm_seconds": warm,
        "reexecute_seconds": reexecute,
        "reexecute_chapters": reexecute_chapters,
    }


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def report(results: dict) -> str:
    lines = []
    if "throughput" in results:
        t = results["throughput"]
        lines += [
            f"Training throughput, book model, batch 128 ({t['epochs']} epochs, median of {t['rounds']} rounds):",
            "",
            "| Path | Images per second |",
            "| --- | --- |",
            *[f"| {name} | {rate:,.0f} |" for name, rate in t["images_per_second"].items()],
            f"| ratio, median of the rounds' ratios (target >= 1.0) | {t['ratio']:.3f} "
            f"(rounds: {t['ratio_range'][0]:.3f} to {t['ratio_range'][1]:.3f}) |",
            f"| digitlib.train from the cache | {t['cache_hit_seconds']:.2f} s |",
            "",
        ]
    if "build" in results:
        b = results["build"]
        chapters = ", ".join(f"{Path(k).name} {_minutes(v)}" for k, v in b["cold_chapters"].items())
        lines += [
            "| Build | Time |",
            "| --- | --- |",
            f"| cold (empty build folder and model cache; target < 40 min) | {_minutes(b['cold_seconds'])} |",
            f"| warm rebuild, nothing changed (target < 60 s) | {_minutes(b['warm_seconds'])} |",
            f"| empty build folder, models cached | {_minutes(b['reexecute_seconds'])} |",
            "",
            f"Machine speed, the book's model training (images per second): "
            f"{b['images_per_second_before']:,.0f} before the builds, "
            f"{b['images_per_second_after']:,.0f} after.",
            "",
            f"Cold execution per chapter: {chapters}.",
        ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["throughput", "build", "all"])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per throughput run (default 2)")
    parser.add_argument("--rounds", type=int, default=6, help="throughput rounds per path (default 6)")
    parser.add_argument("--json", type=Path, help="also write the raw numbers to this file")
    parser.add_argument("--models", type=Path, help="keep the build's trained models in this new folder")
    args = parser.parse_args(argv)
    results = {}
    if args.what in ("throughput", "all"):
        results["throughput"] = throughput(args.epochs, args.rounds)
    if args.what in ("build", "all"):
        results["build"] = build_times(args.models)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
