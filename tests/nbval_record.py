"""A pytest plugin for nbval's runs: it writes each notebook nbval ran, with the outputs of
that run, beside it as ``<name>.executed.ipynb``.

So one execution both compares the pinned outputs (nbval) and gives the tests the glued
values and the streams of every cell. Load it with ``-p nbval_record``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

_ran = {}  # notebook path -> the notebook nbval read, its cells holding this run's outputs


def pytest_runtest_teardown(item):
    outputs = getattr(item, "test_outputs", None)
    if outputs is None or not hasattr(item, "cell"):
        return
    item.cell.outputs = outputs
    _ran[Path(str(item.parent.fspath))] = item.parent.nb


def pytest_sessionfinish(session):
    for path, nb in _ran.items():
        nbformat.write(nb, path.with_suffix(".executed.ipynb"))
