"""Every chapter in _toc.yml, checked as committed and executed.

- As committed: outputs stripped except the pinned ones, one `parameters` cell, quick
  settings for tests, the Colab install cell first, alt text on every figure.
- Executed once: papermill injects each chapter's quick parameters and nbval runs it, checking
  that the pinned outputs (shapes, dtypes, parameter counts) come out exactly as committed.
  The tests read the run's outputs: no errors or stderr, every value the prose uses glued,
  known facts right.
- Rerun: papermill runs each chapter that trains once more, and it must take its models from
  the cache and glue the same numbers.
- Shown cells alone: each chapter runs again without its hidden (``remove-cell``) cells, as a
  reader who copies the page runs it, and still prints its pinned outputs; the whole program of
  the first page runs as a script that imports nothing but Keras, NumPy and ``load_mnist``.

A chapter added to _toc.yml is picked up by all of these without editing this file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import papermill
import pytest
from conftest import (
    ROOT,
    book_config,
    chapter_id,
    code_cells,
    glue_references,
    glued_values,
    quick_parameters,
    read_notebook,
    toc_chapters,
)

CHAPTERS = toc_chapters()

# Facts the chapters glue, checked against the real dataset or the book's model.
EXPECTED_GLUE = {
    "01_mnist_dataset": {
        "n_train": 60000,
        "n_test": 10000,
        "height": 28,
        "width": 28,
        "n_pixels": 784,
        "pixel_min": 0,
        "pixel_max": 255,
        "most_common_digit": 1,
        "most_common_count": 6742,
        "least_common_digit": 5,
        "least_common_count": 5421,
        "n_fit": 54000,
        "n_val": 6000,
        "first_labels": "5, 0, 4, 1, 9, 2, 1, 3, 1, 4",
    },
    # parameter counts worked out by hand in tests/test_models.py
    "08_architectures": {
        "n_models": 6,
        "params_mlp": 101_770,
        "params_lenet5": 61_706,
        "params_simple_convnet": 34_826,
        "params_three_block_convnet": 56_452,
        "params_wide_head_convnet": 843_658,
        "params_big_5x5_convnet": 3_274_634,
        "work_simple_convnet": 2_440_960,
        "work_mlp": 101_632,
    },
    "09_beyond_99_5": {"n_val": 6000, "n_book_fit": 54000, "n_test": 10000},
}


def test_toc_lists_chapters():
    assert CHAPTERS, "_toc.yml lists no notebook chapters"
    assert [p.name for p in CHAPTERS] == sorted(p.name for p in CHAPTERS), "names must sort in reading order"


@pytest.fixture(scope="module", params=CHAPTERS, ids=chapter_id)
def chapter(request):
    return request.param


# --- as committed ---------------------------------------------------------------------------


def test_committed_without_outputs_except_pinned(chapter):
    nb = read_notebook(chapter)
    for cell in code_cells(nb):
        pinned = cell.metadata.get("keep_output", False)
        tagged = "nbval-check-output" in cell.metadata.get("tags", [])
        assert pinned == tagged, f"keep_output and the nbval-check-output tag go together: {cell.source[:60]!r}"
        assert bool(cell.outputs) == pinned, f"outputs must be stripped unless pinned: {cell.source[:60]!r}"
    assert any(c.metadata.get("keep_output") for c in code_cells(nb)), "pin at least one output for nbval"


def test_one_parameters_cell_and_quick_settings_for_it(chapter):
    nb = read_notebook(chapter)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    quick = quick_parameters(nb)
    assert quick, "notebook metadata digitlib.quick_parameters holds the test settings"
    for name in quick:
        assert re.search(rf"^{name}\s*=", tagged[0].source, re.M), f"{name} is not a parameter"


def test_first_code_cell_installs_digitlib_from_the_books_repository(chapter):
    first = code_cells(read_notebook(chapter))[0]
    url = book_config()["repository"]["url"]
    assert f"git+{url}" in first.source
    assert "import digitlib" in first.source
    assert "hide-cell" in first.metadata.get("tags", []), "the book folds the set-up cell away"


def test_readme_links_the_chapters_colab_edition(chapter):
    config = book_config()
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["sphinx"]["config"]["colab_branch"]
    link = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{chapter.relative_to(ROOT).as_posix()}"
    assert link in (ROOT / "README.md").read_text()


def test_every_figure_has_alt_text(chapter):
    nb = read_notebook(chapter)
    for cell in code_cells(nb):
        if re.search(r"\bplot_\w+\(|plt\.", cell.source):
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 20, f"figure cell without alt text: {cell.source[:60]!r}"


# --- executed by papermill with quick parameters --------------------------------------------


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A model cache of the tests' own for the quick runs (papermill and nbval), so quick
    models never mix with the book's; the full build in test_book uses the shared one."""
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITLIB_CACHE", str(folder))  # kernels inherit it
        yield folder


def _cache_snapshot(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def nbval_run(chapter, tmp_path_factory, model_cache):
    """The chapter's one run: nbval executes its quick copy and compares the pinned outputs."""
    folder = tmp_path_factory.mktemp(chapter.stem)
    notebook = _quick_copy(chapter, folder / chapter.name)
    return notebook, _run_nbval(notebook, folder)


@pytest.fixture(scope="module")
def executed(nbval_run):
    """The notebook as nbval ran it, with every cell's outputs."""
    notebook, _ = nbval_run
    return read_notebook(notebook.with_suffix(".executed.ipynb"))


def test_pinned_outputs_are_reproduced(nbval_run):
    notebook, result = nbval_run
    n_cells = len(code_cells(read_notebook(notebook)))
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(rf"\b{n_cells} passed\b", result.stdout), result.stdout[-2000:]


def test_runs_without_errors_or_stderr(executed):
    for cell in code_cells(executed):
        for output in cell.outputs:
            assert output.output_type != "error", output.get("evalue")
            assert output.get("name") != "stderr", output.get("text")


def test_quick_parameters_were_used(chapter, executed):
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    glued = glued_values(executed)
    for name, value in quick_parameters(read_notebook(chapter)).items():
        assert f"{name} = {value!r}" in injected[0].source
        if name in glued:
            assert glued[name] == value


def test_every_glued_reference_has_a_value(executed):
    missing = glue_references(executed) - set(glued_values(executed))
    assert not missing, f"prose refers to values no cell glues: {sorted(missing)}"


def test_every_glued_value_is_quoted_by_the_prose(executed):
    unquoted = set(glued_values(executed)) - glue_references(executed)
    assert not unquoted, f"glued values no prose quotes: {sorted(unquoted)}"


def test_glued_facts_are_right(chapter, executed, mnist):
    glued = glued_values(executed)
    for name, value in EXPECTED_GLUE.get(chapter.stem, {}).items():
        assert glued[name] == value, name
    if chapter.stem == "01_mnist_dataset":
        (x_train, y_train), _ = mnist
        index = glued["example_index"]
        assert glued["example_label"] == int(y_train[index])
        assert glued["example_background"] == int((x_train[index] == 0).sum())


TRAINING_CHAPTERS = [c for c in CHAPTERS if "digitlib.train(" in c.read_text()]

# Clock readings of a fit that a chapter runs itself, in plain Keras, besides its cached ones:
# they are measured again on every run.
CLOCK_READINGS: dict[str, set[str]] = {}


@pytest.mark.parametrize("chapter", TRAINING_CHAPTERS, indirect=True, ids=chapter_id)
def test_a_rerun_takes_its_models_from_the_cache(chapter, executed, model_cache, tmp_path):
    before = _cache_snapshot(model_cache)
    assert before, "the first run cached no model"
    again = papermill.execute_notebook(
        str(chapter),
        str(tmp_path / chapter.name),
        parameters=quick_parameters(read_notebook(chapter)),
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    assert _cache_snapshot(model_cache) == before, "the rerun trained or rewrote a cached model"
    clock = CLOCK_READINGS.get(chapter.stem, set())
    first, second = glued_values(executed), glued_values(again)
    assert clock <= first.keys(), "a clock reading listed here is no longer glued"
    assert all(second[name] > 0 for name in clock)
    # the same numbers, from the cache
    assert {k: v for k, v in second.items() if k not in clock} == {k: v for k, v in first.items() if k not in clock}


# --- the shown cells alone, as a reader who copies the page runs them -------------------------


@pytest.fixture(scope="module")
def shown_run(chapter, tmp_path_factory, model_cache):
    """The chapter's quick copy without its hidden cells, run by nbval (pinned outputs compared)."""
    folder = tmp_path_factory.mktemp(f"{chapter.stem}-shown")
    notebook = _quick_copy(chapter, folder / chapter.name)
    nb = read_notebook(notebook)
    nb.cells = [cell for cell in nb.cells if "remove-cell" not in cell.metadata.get("tags", [])]
    nbformat.write(nb, notebook)
    return notebook, _run_nbval(notebook, folder)


def test_the_shown_cells_alone_run_and_print_the_pinned_outputs(shown_run):
    notebook, result = shown_run
    assert result.returncode == 0, result.stdout[-4000:]
    for cell in code_cells(read_notebook(notebook.with_suffix(".executed.ipynb"))):
        for output in cell.outputs:
            assert output.output_type != "error" and output.get("name") != "stderr", cell.source[:200]


PROGRAM_PAGE = ROOT / "chapters" / "00_the_whole_program.ipynb"


def test_the_whole_program_runs_copied_out_as_a_script(tmp_path):
    """The first page's program, its shown cells from the knobs to the one that saves the model,
    with its quick knobs, as one script in an empty folder: it imports Keras, NumPy and
    load_mnist only, trains, and saves the book's model, layer for layer the model
    digitlib.simple_convnet() builds."""
    import ast

    import digitlib

    nb = read_notebook(PROGRAM_PAGE)
    shown = [c for c in code_cells(nb)[1:] if "remove-cell" not in c.metadata.get("tags", [])]
    shown = shown[: next(i for i, c in enumerate(shown) if "model.save(" in c.source) + 1]
    knobs = quick_parameters(nb)
    lines = []
    for cell in shown:
        if "parameters" in cell.metadata.get("tags", []):
            lines += [f"{name} = {value!r}" for name, value in knobs.items()]
        else:
            lines.append(cell.source)
    program = "\n\n".join(lines)
    imports = [
        ast.unparse(node) for node in ast.walk(ast.parse(program)) if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert imports == ["import keras", "import numpy as np", "from digitlib import load_mnist"]
    (tmp_path / "program.py").write_text(program)
    result = subprocess.run([sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    digitlib.import_tensorflow()
    import keras

    saved = keras.models.load_model(tmp_path / "mnist_convnet.keras")
    book = digitlib.simple_convnet()
    assert [layer.get_config() for layer in saved.layers] == [layer.get_config() for layer in book.layers]


# --- exercises ------------------------------------------------------------------------------

NARRATIVE_CHAPTERS = [c for c in CHAPTERS if c in toc_chapters("Chapters")]  # not the page to draw on, nor the appendix
_OPTIONS = r"(?P<options>(?::[\w-]+:.*\n?)*)"
EXERCISE = re.compile(r"^(?:`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>.*)\n" + _OPTIONS, re.M)
SOLUTION = re.compile(r"^(?:`{3,}|:{3,})\{solution(?P<gated>-start)?\}[ \t]*(?P<label>\S*)\n" + _OPTIONS, re.M)


def _options(text: str) -> dict:
    return dict(re.match(r":([\w-]+):[ \t]*(.*)", line).groups() for line in text.splitlines())


def exercises(nb) -> dict:
    """The chapter's exercises: label -> title."""
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return {_options(m["options"]).get("label"): m["title"].strip() for m in EXERCISE.finditer(markdown)}


@pytest.mark.parametrize("chapter", NARRATIVE_CHAPTERS, ids=chapter_id)
def test_chapter_closes_with_a_summary_and_exercises_with_solutions(chapter):
    nb = read_notebook(chapter)
    headings = [
        line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")
    ]
    assert headings[-2:] == ["## What we have", "## Exercises"]
    found = exercises(nb)
    assert 3 <= len(found) <= 6, f"{len(found)} exercises"
    assert all(label and label.startswith(f"ex-{chapter.stem[:2]}-") for label in found), list(found)
    assert all(found.values()), "every exercise has a title"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    solutions = [(m["label"], _options(m["options"])) for m in SOLUTION.finditer(markdown)]
    assert sorted(label for label, _ in solutions) == sorted(found), "one solution per exercise"
    assert all(options.get("class") == "dropdown" for _, options in solutions), "solutions open from a dropdown"


@pytest.mark.parametrize("chapter", NARRATIVE_CHAPTERS, ids=chapter_id)
def test_every_solution_with_code_glues_or_checks_its_answer_in_a_hidden_cell(chapter):
    solutions, depth = [], 0  # depth: solutions opened (solution-start) and not yet ended
    for cell in read_notebook(chapter).cells:
        if cell.cell_type == "markdown":
            opened = cell.source.count("{solution-start}")
            if opened:
                solutions.append([])
            depth += opened - cell.source.count("{solution-end}")
        elif depth > 0:
            solutions[-1].append(cell)
    with_code = [cells for cells in solutions if cells]
    assert with_code, "no exercise has a solution with code"
    for cells in with_code:
        hidden = [c for c in cells if "remove-cell" in c.metadata.get("tags", [])]
        assert any("check(" in c.source or "glue(" in c.source for c in hidden), cells[0].source[:200]


# --- how the chapters are run -------------------------------------------------------------


def _run_nbval(notebook, folder):
    """nbval on ``notebook`` in a pytest of its own, which writes the notebook as it ran
    beside it (tests/nbval_record.py)."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    tests = str(ROOT / "tests")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "nbval_record",
            "-p",
            "no:cacheprovider",
            "-c",
            str(folder / "pytest.ini"),
            "--rootdir",
            str(folder),
            "-q",
            str(notebook),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        env=env,
    )


def _quick_copy(chapter, path):
    """The chapter with its quick parameters injected and its pinned outputs kept.

    nbstripout drops execution counts, and nbval only compares outputs of cells that have
    one, so the pinned cells are numbered here.
    """
    nb = papermill.execute_notebook(
        str(chapter),
        str(path),
        parameters=quick_parameters(read_notebook(chapter)),
        prepare_only=True,
        kernel_name="python3",
        progress_bar=False,
    )
    for count, cell in enumerate(code_cells(nb), start=1):
        if cell.metadata.get("keep_output"):
            cell.execution_count = count
    nbformat.write(nb, path)
    return path


def test_nbval_catches_a_changed_pinned_output(tmp_path):
    """The first chapter up to its first pinned cell, with that cell's output changed."""
    chapter = CHAPTERS[0]
    notebook = _quick_copy(chapter, tmp_path / chapter.name)
    nb = read_notebook(notebook)
    pinned = next(c for c in code_cells(nb) if c.metadata.get("keep_output"))
    pinned.outputs[0]["text"] = "a shape that the code does not print\n"
    nb.cells = nb.cells[: nb.cells.index(pinned) + 1]
    nbformat.write(nb, notebook)
    result = _run_nbval(notebook, tmp_path)
    assert result.returncode != 0
    assert "1 failed" in result.stdout
    ran = read_notebook(notebook.with_suffix(".executed.ipynb"))
    assert code_cells(ran)[-1].outputs[0]["text"] != pinned.outputs[0]["text"], "the record keeps the run's output"
