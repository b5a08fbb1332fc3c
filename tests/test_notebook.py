"""digitlib.notebook: glue, source listings and tables for the chapters."""

from __future__ import annotations

import numpy as np
import pytest

import digitlib


def test_show_source_lists_the_real_code_as_python():
    listing = digitlib.show_source(digitlib.training.compile_and_fit).data
    assert listing.startswith("```python\ndef compile_and_fit(")
    assert "model.fit(" in listing and "model.compile(" in listing
    assert listing.endswith("\n```")


def test_show_source_refuses_objects_without_source():
    with pytest.raises(ValueError, match="no source code"):
        digitlib.show_source(len)


def test_markdown_table():
    table = digitlib.markdown_table(["rate", "loss"], [[0.5, "0.1234"], ["0", 1]]).data
    assert table.splitlines() == ["| rate | loss |", "| --- | --- |", "| 0.5 | 0.1234 |", "| 0 | 1 |"]


@pytest.mark.parametrize(
    "columns, rows, message",
    [([], [], "at least one column"), (["a", "b"], [[1]], "has 1 cells"), (["a"], [["x|y"]], "cannot contain")],
)
def test_markdown_table_bad_input(columns, rows, message):
    with pytest.raises(ValueError, match=message):
        digitlib.markdown_table(columns, rows)


@pytest.mark.parametrize("name", ["", "two words", "1st", 3])
def test_glue_needs_an_identifier(name):
    with pytest.raises(ValueError, match="glue name"):
        digitlib.glue(name, 1)


def test_glue_turns_numpy_scalars_into_numbers_the_prose_can_format(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=False: glued.update({name: value}))
    digitlib.glue("share", np.float64(0.25))
    digitlib.glue("count", np.int64(7))
    digitlib.glue("plain", 0.5)
    assert glued == {"share": 0.25, "count": 7, "plain": 0.5}
    assert type(glued["share"]) is float and type(glued["count"]) is int
    assert repr(glued["share"]) == "0.25"  # what myst-nb stores as the text to format


def test_check_raises_warns_or_stays_quiet_as_the_environment_says(monkeypatch):
    claim = "the validation loss lies below the training loss"
    monkeypatch.setenv("DIGITLIB_CHECKS", "raise")
    digitlib.check(True, claim)  # a claim the run supports passes in every mode
    with pytest.raises(digitlib.ClaimError, match=claim):
        digitlib.check(False, claim)
    monkeypatch.setenv("DIGITLIB_CHECKS", "off")
    digitlib.check(False, claim)
    monkeypatch.delenv("DIGITLIB_CHECKS")  # a reader's own run: told, not stopped
    with pytest.warns(UserWarning, match=claim):
        digitlib.check(False, claim)


@pytest.mark.parametrize("mode, claim", [("raise", ""), ("sometimes", "a claim")])
def test_check_refuses_an_empty_claim_and_an_unknown_mode(monkeypatch, mode, claim):
    monkeypatch.setenv("DIGITLIB_CHECKS", mode)
    with pytest.raises(ValueError):
        digitlib.check(True, claim)
