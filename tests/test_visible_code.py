"""The visible code is the program: what a chapter shows runs on its own, copied out.

Read statically, without running anything: every cell a page shows (every code cell not tagged
``remove-cell``) reads only names that the set-up cell, the knobs or other shown cells define;
the hidden cells may read what the shown ones made, but a name a shown cell reads is never last
defined by a hidden cell. The glue and the claim checks live in the hidden cells only. The
chapter tier runs each chapter with its hidden cells taken out (tests/test_chapters.py).
"""

from __future__ import annotations

import ast
import re
import symtable

import pytest
from conftest import chapter_id, read_notebook, toc_chapters

CHAPTERS = toc_chapters()
PLUMBING = re.compile(r"\b(?:glue|check)\(")


def is_hidden(cell) -> bool:
    return "remove-cell" in cell.metadata.get("tags", [])


def defined_and_read(source: str) -> tuple[set[str], set[str]]:
    """The global names a cell's code defines, and those it reads from outside itself
    (its functions' and comprehensions' reads of globals included)."""
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    table = symtable.symtable(source, "<cell>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    read = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    read |= {
        node.target.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
    }
    nested = list(table.get_children())
    while nested:
        scope = nested.pop()
        read |= {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
        nested += scope.get_children()
    return defined, read


def leaks(nb) -> list[tuple[int, str]]:
    """(cell number, name) for every name a shown cell reads that a hidden cell defined last."""
    definer, found = {}, []  # name -> whether the cell that last defined it is hidden
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        defined, read = defined_and_read(cell.source)
        if not is_hidden(cell):
            found += [(number, name) for name in sorted(read - defined) if definer.get(name)]
        definer.update(dict.fromkeys(defined, is_hidden(cell)))
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=chapter_id)
def test_shown_cells_read_nothing_that_only_hidden_cells_define(chapter):
    found = leaks(read_notebook(chapter))
    assert not found, "shown cells read names that hidden cells define: " + ", ".join(
        f"cell {number} reads {name!r}" for number, name in found
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=chapter_id)
def test_no_glue_or_check_in_shown_cells(chapter):
    nb = read_notebook(chapter)
    found = [
        (number, line.strip())
        for number, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not is_hidden(cell)
        for line in cell.source.splitlines()
        if PLUMBING.search(line) or re.search(r"import .*\b(?:glue|check)\b", line)
    ]
    assert not found, "glue and checks belong in hidden cells: " + "; ".join(
        f"cell {number}: {line}" for number, line in found
    )


def test_the_reading_of_names_finds_a_leak_and_only_a_leak():
    import nbformat

    def cell(source, hidden=False):
        made = nbformat.v4.new_code_cell(source)
        if hidden:
            made.metadata["tags"] = ["remove-cell"]
        return made

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell("import numpy as np\nx = np.arange(3)"),
        cell("n = len(x)\ny = x * 2", hidden=True),  # reads x: fine
        cell("def f(a):\n    return a + n\n[v for v in y]"),  # n and y only hidden cells define
        cell("x = x + 1", hidden=True),
        cell("print(x)\nm = 1\nm += n"),  # x last defined by a hidden cell; n from before
        cell("%pip install something\nprint(m, np.pi)"),
    ]
    assert leaks(nb) == [(2, "n"), (2, "y"), (4, "n"), (4, "x")]
