"""Notebook plumbing the chapters share."""

from __future__ import annotations

import os
import warnings

import numpy as np

#: Environment variable that says what :func:`check` does with a contradicted claim.
CHECKS_ENV = "DIGITLIB_CHECKS"
_CHECK_MODES = ("raise", "warn", "off")


class ClaimError(AssertionError):
    """The run contradicts a sentence of the book's text."""


def check(condition, claim: str) -> None:
    """Guard a sentence of the text: ``claim`` is what it says, ``condition`` whether this run
    agrees.

    A contradicted claim raises :class:`ClaimError` where ``$DIGITLIB_CHECKS`` is ``raise`` (the
    book's build sets it, so a wrong sentence fails the build), warns by default (a reader's own
    run, perhaps with other knobs, goes on and is told), and is ignored with ``off`` (the tests'
    quick runs, whose few epochs support no claim about a trained model).
    """
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError(f"claim must be the sentence being checked, got {claim!r}")
    mode = os.environ.get(CHECKS_ENV, "warn")
    if mode not in _CHECK_MODES:
        raise ValueError(f"${CHECKS_ENV} must be one of {_CHECK_MODES}, got {mode!r}")
    if mode == "off" or bool(condition):
        return
    message = f"this run contradicts the text: {claim}"
    if mode == "raise":
        raise ClaimError(message)
    warnings.warn(message + " (the text describes the book's own run)", stacklevel=2)


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's prose (myst-nb's ``glue``).

    NumPy scalars become plain Python numbers first: NumPy 2 writes ``np.float64(0.5)``
    as their text, which the prose's number formats cannot read. Where myst-nb is not
    installed (as in Colab) there is no book to glue into, so this does nothing; the
    value is still in the notebook's variables.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier-like string, got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


def show_source(obj):
    """Show the source code of a digitlib function or class in the notebook, so a
    chapter can show exactly the code it runs instead of a copy of it."""
    import inspect

    from IPython.display import Markdown

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError):
        raise ValueError(f"no source code is available for {obj!r}") from None
    return Markdown(f"```python\n{source.rstrip()}\n```")


def markdown_table(columns, rows):
    """A Markdown table (an IPython ``Markdown`` object) with the header ``columns`` and
    one line per row; cells are written with ``str``, so format numbers beforehand.
    Display it in the notebook or ``glue`` it into the prose."""
    from IPython.display import Markdown

    columns = [str(c) for c in columns]
    rows = [[str(cell) for cell in row] for row in rows]
    if not columns:
        raise ValueError("a table needs at least one column")
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row {row} has {len(row)} cells but there are {len(columns)} columns")
    for cell in columns + [cell for row in rows for cell in row]:
        if "|" in cell or "\n" in cell:
            raise ValueError(f"table cells cannot contain '|' or line breaks: {cell!r}")
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return Markdown("\n".join(lines))
