"""digitlib installs anywhere the chapters run: as a wheel with its data, and in Colab."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
import types
import zipfile

import pytest
from conftest import ROOT, book_config, code_cells, read_notebook, toc_chapters
from packaging.requirements import Requirement

import digitlib


def colab_versions() -> dict[str, str]:
    """Colab's preinstalled versions, as pinned in .ci/colab-versions.txt."""
    pins = [
        Requirement(line)
        for line in (ROOT / ".ci" / "colab-versions.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {pin.name: str(pin.specifier).removeprefix("==") for pin in pins}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_wheel_contains_the_data_file(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "digitlib", source / "digitlib", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("digitlib-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        data = archive.read("digitlib/resources/mnist.npz")
    assert hashlib.sha256(data).digest() == hashlib.sha256(digitlib.data.MNIST_PATH.read_bytes()).digest()
    modules = {f"digitlib/{p.name}" for p in (ROOT / "digitlib").glob("*.py")}
    assert modules <= names


def test_lower_bounds_are_the_colab_versions_that_ci_runs():
    """What pyproject.toml claims to work with is what CI runs the Colab editions on."""
    project = _pyproject()["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    colab = colab_versions()
    assert {r.name for r in requirements} == {"keras", "numpy", "matplotlib", "pillow", "tensorflow"}
    for requirement in requirements:
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        assert lower == [colab[requirement.name]], requirement


class _FakeIPython:
    """Stands in for Colab's IPython: records %pip and 'installs' digitlib."""

    def __init__(self, monkeypatch):
        self.calls = []
        self._monkeypatch = monkeypatch

    def run_line_magic(self, name, line):
        self.calls.append((name, line))
        self._monkeypatch.delitem(sys.modules, "digitlib")  # now importable again


def _run_install_cell(monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    source = code_cells(read_notebook(toc_chapters()[0]))[0].source
    fake = _FakeIPython(monkeypatch)
    namespace = {"get_ipython": lambda: fake}
    exec(TransformerManager().transform_cell(source), namespace)
    return fake.calls, namespace


def test_install_cell_does_nothing_where_digitlib_is_installed(monkeypatch):
    calls, namespace = _run_install_cell(monkeypatch)
    assert calls == []
    assert namespace["digitlib"] is digitlib


def test_install_cell_installs_from_the_books_repository_in_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "digitlib", None)  # `import digitlib` now fails, as in Colab
    calls, namespace = _run_install_cell(monkeypatch)
    url = book_config()["repository"]["url"]
    assert calls == [("pip", f'install --quiet "digitlib @ git+{url}"')]
    assert isinstance(namespace["digitlib"], types.ModuleType)


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.stem)
def test_every_chapter_has_the_same_install_cell(chapter):
    first = toc_chapters()[0]
    assert code_cells(read_notebook(chapter))[0].source == code_cells(read_notebook(first))[0].source
