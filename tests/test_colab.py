"""The Colab editions of the chapters.

The book build writes them (``_ext/digitlib_book.py``); these tests check the conversion on
small inputs, the editions of the built book (plain Markdown with the build's numbers, hidden
plumbing), and run every edition top to bottom on Colab's versions (``.ci/colab-versions.txt``)
from an empty folder, with digitlib installed by the edition's own install cell from its wheel.

That last test needs a Python with exactly those versions: ``.ci/colab-env DIR`` makes one and
prints the variable to set. Without it the test is skipped, except in CI, where it must run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import papermill
import pytest
from conftest import ROOT, code_cells, colab_edition_path, quick_parameters, read_notebook, toc_chapters

sys.path.insert(0, str(ROOT / "_ext"))
import digitlib_book  # noqa: E402

COLAB_PYTHON = "DIGITLIB_COLAB_PYTHON"
# MyST that Colab would show as source: roles, directive fences, targets.
RAW_MYST = re.compile(r"\{[\w:-]+\}`|^\s*(`{3,}|:{3,})\{|^\([\w-]+\)=\s*$", re.M)
GLUE = {
    "n": {"data": {"text/plain": "60000"}},
    "pct": {"data": {"text/plain": "99.2468"}},
    "word": {"data": {"text/plain": "'identical'"}},
    "table": {
        "data": {"text/plain": "<IPython.core.display.Markdown object>", "text/markdown": "| a |\n| --- |\n| 1 |"}
    },
}


CITATIONS = {"lecun1998gradient": ("LeCun et al.", "1998"), "glorot2010understanding": ("Glorot and Bengio", "2010")}


def _book(docname="chapters/06_dropout", **kwargs):
    return digitlib_book.Book(
        glue=GLUE,
        docname=docname,
        titles={"chapters/05_training": "Training"},
        book_url="https://example.org/book/",
        citations=CITATIONS,
        **kwargs,
    )


def _plain(source, **kwargs):
    return digitlib_book.plain_markdown(source, _book(**kwargs))


# --- the conversion -------------------------------------------------------------------------


def test_glue_roles_become_the_formatted_values():
    assert (
        _plain("{glue:text}`n:,` images, {glue:text}`pct:.1f`%, {glue:text}`word`.")
        == "60,000 images, 99.2%, identical."
    )


def test_doc_roles_become_links_to_the_published_pages():
    assert _plain("See {doc}`05_training`.") == "See [Training](https://example.org/book/chapters/05_training.html)."
    assert _plain("{doc}`the training chapter <../chapters/05_training>`") == (
        "[the training chapter](https://example.org/book/chapters/05_training.html)"
    )


def test_glossary_terms_become_their_text():
    assert _plain("A {term}`kernel` slides; {term}`feature maps <feature map>` come out.") == (
        "A kernel slides; feature maps come out."
    )


def test_directives_become_plain_markdown():
    assert _plain("Before\n```{glue} table\n```\nafter") == "Before\n| a |\n| --- |\n| 1 |\nafter"
    assert _plain(":::{note}\nA *flipped* kernel.\n\nSecond line.\n:::") == (
        "> **Note:**\n>\n> A *flipped* kernel.\n>\n> Second line."
    )
    assert _plain("(a-label)=\n# Title") == "\n# Title"


def test_citations_become_author_year_links_to_the_references_page():
    page = "https://example.org/book/chapters/references.html"
    assert _plain("As {cite:t}`lecun1998gradient` showed.") == f"As [LeCun et al. (1998)]({page}) showed."
    assert _plain("Known {cite:p}`lecun1998gradient, glorot2010understanding`.") == (
        f"Known [(LeCun et al., 1998; Glorot and Bengio, 2010)]({page})."
    )


def test_citation_labels_read_the_books_bibliography():
    labels = digitlib_book.citation_labels([ROOT / "chapters" / "references.bib"])
    assert labels["lecun1998gradient"] == ("LeCun et al.", "1998")
    assert labels["glorot2010understanding"] == ("Glorot and Bengio", "2010")
    assert labels["ciresan2012multi"] == ("Cireşan et al.", "2012")  # LaTeX accents decoded
    assert labels["mcnemar1947note"] == ("McNemar", "1947")


def test_exercises_are_numbered_as_in_the_book_and_solutions_fold_away():
    source = (
        "```{exercise} Count them\n:label: ex-06-count\nHow many?\n```\n\n"
        "```{solution} ex-06-count\n:class: dropdown\n{glue:text}`n:,` of them.\n```"
    )
    assert _plain(source, exercises={"ex-06-count": 7}) == (
        "> **Exercise 7 (Count them)**\n>\n> How many?\n\n"
        "<details><summary>Solution to exercise 7</summary>\n\n60,000 of them.\n\n</details>"
    )


def test_a_solution_with_code_folds_its_code_cells_until_it_ends():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T"),
            nbformat.v4.new_markdown_cell(
                "```{exercise}\n:label: ex-01-a\nPredict.\n```\n\n"
                "```{solution-start} ex-01-a\n:class: dropdown\n```\nWe compute:"
            ),
            nbformat.v4.new_code_cell("glue('n', 60000)"),
            nbformat.v4.new_markdown_cell("So {glue:text}`n`.\n\n```{solution-end}\n```\n\nAfter the solution."),
            nbformat.v4.new_code_cell("print(1)"),
        ]
    )
    edition = digitlib_book.colab_edition(
        nb, _book(exercises={"ex-01-a": 2}), page_url="p", repository_url="r", ref="x"
    )
    cells = edition.cells[2:]  # after the title and the note
    assert cells[0].source == (
        "> **Exercise 2**\n>\n> Predict.\n\n<details><summary>Solution to exercise 2</summary>"
        "\n\nWe compute:\n\n</details>"
    )
    assert (cells[1].source, cells[1].metadata["cellView"]) == (
        "# @title Solution to exercise 2\nglue('n', 60000)",
        "form",
    )
    assert cells[2].source == (
        "<details><summary>Solution to exercise 2, continued</summary>\n\n"
        "So 60000.\n\n</details>\n\nAfter the solution."
    )
    assert cells[3].source == "print(1)" and "cellView" not in cells[3].metadata


@pytest.mark.parametrize(
    "source, problem",
    [
        ("{cite}`nobody2000`", "no reference under nobody2000"),
        ("{numref}`fig-1`", "role {numref}"),
        ("```{figure} x.png\n```", "directive {figure}"),
        ("```{note}\nnever closed", "never closed"),
        ("{glue:text}`missing`", "missing"),
    ],
)
def test_myst_without_a_plain_form_fails_the_build_loudly(source, problem):
    with pytest.raises((ValueError, KeyError), match=re.escape(problem)):
        _plain(source)


def test_an_edition_hides_the_plumbing_and_pins_the_install():
    chapter = read_notebook(toc_chapters()[0])
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nThere are {glue:text}`n:,` images."),
            nbformat.v4.new_code_cell(code_cells(chapter)[0].source, metadata={"tags": ["hide-cell"]}),
            nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell('glue("n", 60000)', metadata={"tags": ["remove-cell"]}),
            nbformat.v4.new_markdown_cell("Only for the book.", metadata={"tags": ["remove-cell"]}),
            nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output("stream", text="1\n")]),
        ]
    )
    edition = digitlib_book.colab_edition(
        nb,
        _book(docname="chapters/x"),
        page_url="https://example.org/book/chapters/x.html",
        repository_url="https://github.com/o/r",
        ref="abc123",
    )
    kinds = [(c.cell_type, c.metadata.get("cellView")) for c in edition.cells]
    assert kinds == [
        ("markdown", None),
        ("markdown", None),
        ("code", "form"),
        ("code", None),
        ("code", "form"),
        ("code", None),
    ]
    assert edition.cells[0].source == "# Title\n\nThere are 60,000 images."
    assert (
        "published build" in edition.cells[1].source and "example.org/book/chapters/x.html" in edition.cells[1].source
    )
    install = edition.cells[2].source
    assert install.startswith("# @title ") and '"digitlib @ git+https://github.com/o/r@abc123"' in install
    assert edition.cells[4].source == '# @title Numbers for the text\nglue("n", 60000)'
    assert all(not c.get("outputs") for c in code_cells(edition))
    assert edition.metadata["colab"]["toc_visible"] is True
    nbformat.validate(edition)


# --- the editions of the built book ---------------------------------------------------------


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.stem)
def test_every_chapter_has_an_edition_in_plain_markdown(built_book, chapter):
    html, _ = built_book
    edition = read_notebook(colab_edition_path(html, chapter))
    source = read_notebook(chapter)
    for cell in edition.cells:
        if cell.cell_type == "markdown":
            assert not RAW_MYST.search(cell.source), RAW_MYST.search(cell.source).group(0)
    hidden = [c for c in code_cells(source) if {"remove-cell", "hide-cell"} & set(c.metadata.get("tags", []))]
    shown_solutions = [
        c
        for c in code_cells(edition)
        if c.source.startswith("# @title Solution to exercise ")
        and not {"remove-cell"} & set(c.metadata.get("tags", []))
    ]
    folded = [c for c in code_cells(edition) if c.metadata.get("cellView") == "form"]
    assert len(folded) == len(hidden) + len(shown_solutions) and hidden
    assert all(c.source.startswith("# @title ") for c in folded)
    # the same code, in the same order: only the form titles and the pinned install differ
    strip = re.compile(r"^# @title .*\n|@[0-9a-f]{40}(?=\")|@main(?=\")")
    injected = "injected-parameters"  # the tests' quick build injects the quick settings, as papermill does
    ours = [c for c in code_cells(edition) if injected not in c.metadata.get("tags", [])]
    assert [strip.sub("", c.source) for c in ours] == [strip.sub("", c.source) for c in code_cells(source)]
    assert edition.metadata["digitlib"]["quick_parameters"] == quick_parameters(source)


def test_editions_carry_the_numbers_of_the_build(built_book):
    html, _ = built_book
    chapter = ROOT / "chapters" / "01_mnist_dataset.ipynb"
    text = "\n".join(c.source for c in read_notebook(colab_edition_path(html, chapter)).cells)
    glued = json.loads((html.parent / "jupyter_execute" / "chapters" / f"{chapter.stem}.glue.json").read_text())
    assert f"There are {int(glued['n_train']['data']['text/plain']):,} training images" in text


# --- run on Colab's versions ----------------------------------------------------------------


@pytest.fixture(scope="session")
def colab_python():
    python = os.environ.get(COLAB_PYTHON)
    if not python:
        message = (
            f"set {COLAB_PYTHON} to a Python with Colab's versions: `.ci/colab-env DIR` makes one "
            "(needs Python 3.13, for example from pyenv)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def _freeze(python):
    lines = subprocess.run(
        [python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True, timeout=300
    ).stdout.splitlines()
    return {line.lower() for line in lines if not line.lower().startswith("digitlib")}


@pytest.fixture(scope="session")
def colab_kernel(colab_python, tmp_path_factory):
    """A Jupyter kernel running the Colab Python, known to papermill as ``colab-versions``."""
    prefix = tmp_path_factory.mktemp("kernel")
    subprocess.run(
        [colab_python, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", "colab-versions"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        yield "colab-versions"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(folder)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = folder.glob("digitlib-*.whl")
    return built


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.stem)
def test_edition_runs_top_to_bottom_on_colabs_versions(
    built_book, chapter, colab_python, colab_kernel, wheel, tmp_path, monkeypatch
):
    html, _ = built_book
    edition = read_notebook(colab_edition_path(html, chapter))
    install = code_cells(edition)[0]
    install.source, swaps = re.subn(r'"digitlib @ git\+[^"]+"', f'"digitlib @ {wheel.as_uri()}"', install.source)
    assert swaps == 1, "the install cell names no git requirement for digitlib"
    notebook = tmp_path / chapter.name
    nbformat.write(edition, notebook)
    empty = tmp_path / "content"  # Colab's working folder, empty
    empty.mkdir()
    monkeypatch.setenv("DIGITLIB_CACHE", str(tmp_path / "no-models-yet"))
    subprocess.run([colab_python, "-m", "pip", "uninstall", "-y", "-q", "digitlib"], capture_output=True, timeout=300)
    before = _freeze(colab_python)

    ran = papermill.execute_notebook(
        str(notebook),
        str(tmp_path / "ran.ipynb"),
        parameters=quick_parameters(edition),
        kernel_name=colab_kernel,
        cwd=str(empty),
        progress_bar=False,
    )

    assert _freeze(colab_python) == before, "installing digitlib changed Colab's own packages"
    for cell in code_cells(ran):
        for output in cell.outputs:
            assert output.output_type != "error", output.get("evalue")
            assert output.get("name") != "stderr", output.get("text")  # no start-up noise shown as an error
        if cell.metadata.papermill.duration > 10:  # long work shows progress
            assert cell.outputs, f"{cell.metadata.papermill.duration:.0f} s without output: {cell.source[:80]!r}"
