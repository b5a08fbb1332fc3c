"""Shared helpers for the tests: the book's layout, its chapters and their glued values."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

ROOT = Path(__file__).resolve().parents[1]
# The quick runs train for an epoch or two, too little for the claims the text makes about the
# book's trained models, so the chapters' claim checks are off unless a test turns them on
# (the full book build, and the test that shows a contradicted claim fails the build).
os.environ.setdefault("DIGITLIB_CHECKS", "off")
GLUE_MIME = "application/papermill.record/text/plain"
# {glue}`name`, {glue:text}`name:format`, and the ```{glue:figure} name directive form
GLUE_REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)|```\{glue(?::\w+)?\}\s+(\S+)")


# The test tiers, by file: `pytest -m unit` runs digitlib's tests in a minute or two, `-m chapters`
# executes every chapter, `-m book` builds the book and tries it in a browser and in Colab's
# versions; `pytest` runs them all.
TIERS = {"test_chapters.py": "chapters", "test_book.py": "book", "test_browser.py": "book", "test_colab.py": "book"}


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(TIERS.get(item.path.name, "unit"))


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):  # pytest -p no:xdist, or without it installed
        config.pluginmanager.register(_SharedFixtures(), "digitlib-shared-fixtures")


class _SharedFixtures:
    """With ``pytest -n 2`` (pytest-xdist), the tests that share a costly fixture run on one
    worker: the book tier shares one book build, a chapter's tests share its run, a file's
    unit tests share its module fixtures."""

    @staticmethod
    def scope(nodeid: str) -> str:
        name = Path(nodeid.split("::")[0]).name
        if TIERS.get(name) == "book":
            return "book"
        if name == "test_chapters.py" and nodeid.endswith("]"):
            return f"{name}[{nodeid[nodeid.rindex('[') + 1 : -1]}]"
        return name

    def pytest_xdist_make_scheduler(self, config, log):
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _SharedFixtures.scope(nodeid)

        return Scheduling(config, log)


def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_files(part: str | None = None) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` except the root, in reading order; with ``part``,
    those of the part with that caption."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    if part is not None:
        toc = next(p for p in toc["parts"] if p["caption"] == part)
    walk({key: value for key, value in toc.items() if key != "root"})
    return found


def toc_chapters(part: str | None = None) -> list[Path]:
    """The notebook chapters listed in ``_toc.yml`` (in the part with caption ``part``)."""
    return [ROOT / f"{entry}.ipynb" for entry in toc_files(part) if (ROOT / f"{entry}.ipynb").is_file()]


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def quick_parameters(nb) -> dict:
    """The chapter's quick settings for tests, kept in its notebook metadata."""
    return dict(nb.metadata.get("digitlib", {}).get("quick_parameters", {}))


def glued_values(nb) -> dict:
    """Values recorded with ``glue`` in an executed notebook, as Python objects."""
    values = {}
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            text = output["data"].get(GLUE_MIME) or output["data"].get("text/plain")
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values


def glue_references(nb) -> set[str]:
    """Names that the chapter's prose takes from ``glue``."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for role, directive in GLUE_REFERENCE.findall(cell.source):
                names.add(role or directive)
    return names


def chapter_id(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="session")
def mnist():
    import digitlib

    return digitlib.load_mnist()


# --- the book, built once for the tests that read its pages and its Colab editions -----------

BUILD_MODE = os.environ.get("DIGITLIB_BOOK_BUILD", "quick")
if BUILD_MODE not in ("quick", "full"):
    raise ValueError(f"DIGITLIB_BOOK_BUILD must be 'quick' or 'full', got {BUILD_MODE!r}")


def _quick_book(folder: Path) -> Path:
    """A copy of the book's sources with every chapter's quick parameters injected."""
    shutil.copytree(ROOT, folder, ignore=shutil.ignore_patterns(".git", "_build", "*.egg-info", "__pycache__"))
    for chapter in toc_chapters():
        nb = load_notebook_node(str(chapter))  # with the metadata papermill expects
        nbformat.write(parameterize_notebook(nb, quick_parameters(nb)), folder / chapter.relative_to(ROOT))
    return folder


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    output = tmp_path_factory.mktemp("book")
    env = dict(os.environ, DIGITLIB_CHECKS="raise")
    source = ROOT
    if BUILD_MODE == "quick":
        env["DIGITLIB_CHECKS"] = "off"
        source = _quick_book(tmp_path_factory.mktemp("quick") / "book")
        env["DIGITLIB_CACHE"] = str(tmp_path_factory.mktemp("quick-models"))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(source),
            "--path-output",
            str(output),
            "-W",
            "-n",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        timeout=4 * 3600,
        env=env,
    )
    assert result.returncode == 0, (result.stdout[-6000:], result.stderr[-6000:])
    return output / "_build" / "html", result


def colab_edition_path(html: Path, chapter: Path) -> Path:
    """Where the book build wrote ``chapter``'s Colab edition."""
    return html.parent / "colab" / chapter.relative_to(ROOT)
