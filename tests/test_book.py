"""The whole book builds warning-free from an empty build folder, every chapter executed
with real data, and the HTML has what a reader needs.

Two modes, chosen by ``DIGITLIB_BOOK_BUILD``:

- ``quick`` (the default, what CI runs): a copy of the book whose chapters get their quick
  parameters injected as papermill would, built with a model cache of its own. Every page,
  figure, glue reference and warning check runs; training takes minutes, not the better part
  of an hour.
- ``full``: the book as committed, with its real training and the shared model cache, as
  ``jupyter-book build .`` and the publishing workflow build it. Only this mode can check the
  accuracy the chapters promise, so those tests say they need it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import BUILD_MODE, ROOT, book_config, code_cells, read_notebook, toc_chapters
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook
from test_chapters import exercises


def _needs_full_build():
    if BUILD_MODE != "full":
        pytest.skip("checks the chapters' real training: run with DIGITLIB_BOOK_BUILD=full")


def _page(html: Path, chapter: Path) -> str:
    return (html / chapter.relative_to(ROOT).with_suffix(".html")).read_text()


def test_build_is_warning_free(built_book):
    _, result = built_book
    assert "build succeeded" in result.stdout
    log = result.stdout + result.stderr
    # Sphinx's and myst-nb's warnings; the kernel's own "[IPKernelApp] WARNING | Kernel is
    # running over TCP" start-up notice is about local transport, not the book.
    warnings = [line for line in log.splitlines() if "WARNING" in line and "[IPKernelApp]" not in line]
    assert not warnings, warnings


def test_landing_page_and_a_page_per_chapter(built_book):
    html, _ = built_book
    assert (html / "index.html").is_file() and (html / "intro.html").is_file()
    for chapter in toc_chapters():
        assert chapter.stem in (html / "intro.html").read_text()
        assert _page(html, chapter)


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.stem)
def test_chapter_page_has_its_figures_and_no_errors(built_book, chapter):
    html, _ = built_book
    page = _page(html, chapter)
    alts = [
        c.metadata["mystnb"]["image"]["alt"]
        for c in code_cells(read_notebook(chapter))
        if "image" in c.metadata.get("mystnb", {})
    ]
    images = re.findall(r'<img alt="([^"]*)" src="\.\./_images/([^"]+)"', page)
    assert len(images) >= len(alts)
    assert alts or chapter not in toc_chapters("Chapters"), "a chapter without a figure"
    for alt in alts:
        assert any(found == alt.replace('"', "&quot;") for found, _ in images), alt
    for _, name in images:
        assert (html / "_images" / name).stat().st_size > 1000
    for marker in ('class="output traceback', 'class="output stderr', "{glue", "Traceback (most recent"):
        assert marker not in page, marker


@pytest.mark.parametrize("chapter", toc_chapters("Chapters"), ids=lambda p: p.stem)
def test_exercises_show_with_their_solutions_folded(built_book, chapter):
    html, _ = built_book
    page = _page(html, chapter)
    n = len(exercises(read_notebook(chapter)))
    assert page.count('class="exercise admonition"') == n
    assert page.count('class="solution dropdown admonition"') == n
    assert "{exercise}" not in page and "{solution" not in page


def _machine_paths(html: Path) -> list[str]:
    """Where this machine keeps the book, its Python and its temporary files."""
    import tempfile

    paths = {str(ROOT), str(html.parents[1]), sys.prefix, str(Path.home()), tempfile.gettempdir()}
    return sorted(paths | {"site-packages"})


@pytest.mark.parametrize("chapter", toc_chapters(), ids=lambda p: p.stem)
def test_pages_show_no_path_of_the_building_machine_and_no_lone_progress_dots(built_book, chapter):
    html, _ = built_book
    page = _page(html, chapter)
    for path in _machine_paths(html):
        assert path not in page, path
    for block in re.findall(r"<pre>(.*?)</pre>", page, re.S):
        text = re.sub(r"<[^>]+>", "", block)
        assert not re.search(r"(?m)^\s*\.+\s*$", text), text[:300]


def _page_text(html: Path, chapter: str) -> str:
    import html as markup

    return markup.unescape(re.sub(r"<[^>]+>", "", _page(html, ROOT / "chapters" / f"{chapter}.ipynb")))


def test_the_architecture_chapter_shows_the_keras_code_of_every_network_it_trains(built_book):
    """The very source that builds each network, listed on the page (one source for both)."""
    import inspect

    import digitlib

    html, _ = built_book
    text = _page_text(html, "08_architectures")
    for name in ("mlp", "lenet5", "simple_convnet", "three_block_convnet", "wide_head_convnet", "big_5x5_convnet"):
        for line in inspect.getsource(digitlib.models.ARCHITECTURES[name]).splitlines():
            assert line.strip() in text, (name, line)


def test_the_beyond_chapter_shows_the_keras_code_and_layers_of_every_step(built_book):
    """modern_convnet's and the augmentation's very source, and each step's model listed layer
    by layer under its label."""
    import inspect

    import digitlib

    html, _ = built_book
    text = _page_text(html, "09_beyond_99_5")
    for function in (digitlib.models.modern_convnet, digitlib.models.augmentation):
        for line in inspect.getsource(function).splitlines():
            assert line.strip() in text, (function.__name__, line)
    listing = re.findall(r"^(the book's model|\+ [a-z ]+?)\s+[\d,]+ parameters\n((?:    .*\n)+)", text, re.M)
    assert [label for label, _ in listing] == [
        "the book's model",
        "+ batch normalisation",
        "+ augmentation",
        "+ cosine schedule",
        "+ larger network",
    ]
    assert all("Conv2D(" in layers and "Dense(10, softmax)" in layers for _, layers in listing)


def test_citations_link_to_the_references_page(built_book):
    html, _ = built_book
    references = (html / "chapters" / "references.html").read_text()
    cited = {
        key for chapter in toc_chapters() for key in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", chapter.read_text())
    }
    assert cited, "no chapter cites a reference"
    for chapter in toc_chapters():
        if "{cite" in chapter.read_text():
            assert 'href="references.html#' in _page(html, chapter), chapter.stem
    assert "Gradient-based learning applied to document recognition" in references
    glossary = (html / "chapters" / "glossary.html").read_text()
    assert glossary.count('<dt id="term-') >= 25
    assert 'href="glossary.html#term-' in _page(html, ROOT / "chapters" / "02_convolution.ipynb")


def test_colab_launch_buttons_open_the_colab_editions(built_book):
    html, _ = built_book
    config = book_config()
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["sphinx"]["config"]["colab_branch"]
    for chapter in toc_chapters():
        page = _page(html, chapter)
        path = chapter.relative_to(ROOT).as_posix()
        assert f"colab.research.google.com/github/{repo}/blob/{branch}/{path}" in page
        assert f"colab.research.google.com/github/{repo}/blob/{config['repository']['branch']}/" not in page


def test_glued_numbers_reach_the_page(built_book):
    html, _ = built_book
    text = re.sub(r"<[^>]+>", "", _page(html, ROOT / "chapters" / "01_mnist_dataset.ipynb"))
    assert re.search(r"There are 60,000 training images and 10,000 test images", text)
    assert "fits its weights on\n54,000" in text or re.search(r"fits its weights on\s+54,000", text)


def _glued(html: Path, chapter: str, name: str):
    """A value a chapter glued in the build; myst-nb keeps them in a .glue.json beside the
    executed notebook."""
    glued = json.loads((html.parent / "jupyter_execute" / "chapters" / f"{chapter}.glue.json").read_text())
    return float(glued[name]["data"]["text/plain"])


def test_the_book_model_reaches_99_percent_on_the_test_set(built_book):
    """The training chapter's real run (its full parameters) meets the book's bar."""
    _needs_full_build()
    html, _ = built_book
    percent = _glued(html, "05_training", "test_accuracy_pct")
    assert percent >= 99.0, percent
    text = re.sub(r"<[^>]+>", "", _page(html, ROOT / "chapters" / "05_training.ipynb"))
    assert f"reads {percent:.2f}% of the test digits correctly" in text


def test_the_predictions_chapter_uses_the_training_chapters_model(built_book):
    html, _ = built_book
    assert _glued(html, "07_predictions", "test_accuracy_pct") == _glued(html, "05_training", "test_accuracy_pct")


def test_the_drawing_pad_carries_the_training_chapters_model(built_book):
    html, _ = built_book
    assert _glued(html, "10_read_my_digit", "test_accuracy_pct") == _glued(html, "05_training", "test_accuracy_pct")
    page = _page(html, ROOT / "chapters" / "10_read_my_digit.ipynb")
    assert page.count('id="read-my-digit-model"') == 1 and 'id="pad"' in page


def test_the_beyond_chapter_reports_its_own_result(built_book):
    html, _ = built_book
    percent = _glued(html, "09_beyond_99_5", "test_accuracy_pct")
    errors = _glued(html, "09_beyond_99_5", "test_errors")
    assert errors == round((100 - percent) * 100)
    text = re.sub(r"<[^>]+>", "", _page(html, ROOT / "chapters" / "09_beyond_99_5.ipynb"))
    assert f"The final model reads {percent:.2f}% of the test digits right" in text


def test_the_beyond_chapter_compares_with_the_training_chapters_model(built_book):
    """The book's model that "Beyond 99.5%" measures its final model against is the Training chapter's, from
    the cache, not a model of its own ablation (which trains on fewer images)."""
    html, _ = built_book
    assert _glued(html, "09_beyond_99_5", "book_test_pct") == pytest.approx(
        _glued(html, "05_training", "test_accuracy_pct")
    )


def test_the_beyond_chapter_reaches_its_target_with_one_model(built_book):
    """The "Beyond 99.5%" chapter's final model, trained with its full parameters, reaches
    99.6% on the test set and beats the training chapter's model."""
    _needs_full_build()
    html, _ = built_book
    percent = _glued(html, "09_beyond_99_5", "test_accuracy_pct")
    errors = _glued(html, "09_beyond_99_5", "test_errors")
    assert errors <= 40, errors  # 99.6% of 10,000 digits right; the float32 accuracy may print 99.599...
    assert percent > _glued(html, "05_training", "test_accuracy_pct") >= 99.0


def test_the_architecture_chapter_compares_all_six_networks(built_book):
    html, _ = built_book
    page = _page(html, ROOT / "chapters" / "08_architectures.ipynb")
    table = page[page.index("<table") : page.index("</table>")]
    for name in ("mlp", "lenet5", "simple_convnet", "three_block_convnet", "wide_head_convnet", "big_5x5_convnet"):
        assert f">{name}<" in table, name


def test_a_contradicted_claim_fails_the_build(tmp_path):
    """A guarded sentence that the run contradicts stops the build: chapter 1, given so small a
    validation part (6 images) that it cannot hold every digit, as its text says it does."""
    chapter = ROOT / "chapters" / "01_mnist_dataset.ipynb"
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "intro.md"):
        shutil.copy(ROOT / name, book)
    shutil.copytree(ROOT / "_ext", book / "_ext")
    (book / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nchapters:\n  - file: chapters/{chapter.stem}\n")
    (book / "chapters").mkdir()
    shutil.copy(ROOT / "chapters" / "references.bib", book / "chapters")
    nb = load_notebook_node(str(chapter))
    nbformat.write(parameterize_notebook(nb, {"validation_fraction": 0.0001}), book / "chapters" / chapter.name)
    env = {key: value for key, value in os.environ.items() if key != "DIGITLIB_CHECKS"}  # as a plain build
    result = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )
    assert result.returncode != 0
    report = (book / "_build" / "html" / "reports" / "chapters" / f"{chapter.stem}.err.log").read_text()
    report = re.sub(r"\x1b\[[0-9;]*m", "", report)  # the traceback's colours
    assert "ClaimError: this run contradicts the text: the validation part holds every digit" in report
