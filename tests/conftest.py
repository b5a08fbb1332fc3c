"""Shared helpers for the tests: the book's layout, its chapters and their glued values."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The quick runs train for an epoch or two, too little for the claims the text makes about the
# book's trained models, so the chapters' claim checks are off unless a test turns them on
# (the full book build, and the test that shows a contradicted claim fails the build).
os.environ.setdefault("DIGITLIB_CHECKS", "off")
GLUE_MIME = "application/papermill.record/text/plain"
# {glue}`name`, {glue:text}`name:format`, and the ```{glue:figure} name directive form
GLUE_REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)|```\{glue(?::\w+)?\}\s+(\S+)")


def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_files() -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` except the root, in reading order."""
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
    walk({key: value for key, value in toc.items() if key != "root"})
    return found


def toc_chapters() -> list[Path]:
    """The notebook chapters listed in ``_toc.yml``."""
    return [ROOT / f"{entry}.ipynb" for entry in toc_files() if (ROOT / f"{entry}.ipynb").is_file()]


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
