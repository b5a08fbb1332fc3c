"""Notebook plumbing the chapters share."""

from __future__ import annotations


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's prose (myst-nb's ``glue``).

    Where myst-nb is not installed (as in Colab) there is no book to glue into, so this
    does nothing; the value is still in the notebook's variables.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier-like string, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
