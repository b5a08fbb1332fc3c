"""The book's own Sphinx extension.

- Claim checks (``digitlib.check``) fail the build: the kernels that execute the chapters
  inherit ``DIGITLIB_CHECKS=raise`` unless the caller set another mode.
- Every chapter gets a Colab edition, written after a successful HTML build to
  ``_build/colab/<path>.ipynb``: the same cells, with the MyST that Colab cannot render
  turned into plain Markdown and the published values put in place of the glue roles (see
  :func:`colab_edition`). The publishing workflow pushes that folder to the ``colab_branch``.
- The pages' Colab launch buttons open those editions on that branch.
- A script that another extension adds twice is written into the pages once.

In an edition, exercises become quoted blocks numbered as in the book, solutions fold away
(``<details>`` for prose, collapsed form cells for code) and citations become author-year
links to the book's references page.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

ADMONITIONS = (
    "admonition",
    "attention",
    "caution",
    "danger",
    "error",
    "hint",
    "important",
    "note",
    "seealso",
    "tip",
    "warning",
)
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<argument>.*)$")
_ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<content>[^`]+)`")
_TARGET = re.compile(r"^\([\w-]+\)=[ \t]*$", re.M)
_INSTALL = re.compile(r'(digitlib @ git\+)(?P<url>https://github\.com/[\w.-]+/[\w.-]+?)(?:@[\w./-]+)?"')
_HIDDEN_TAGS = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
_OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")
_SOLUTION_OPEN = "<details><summary>{}</summary>"
_SOLUTION_CLOSE = "</details>"


@dataclass
class Book:
    """What a chapter's conversion needs from the rest of the build.

    ``glue``: the values the build glued (myst-nb's ``.glue.json``); ``titles``: docname to
    page title, for ``{doc}`` links; ``book_url``: the published book; ``exercises``: label to
    the exercise's number in the book; ``citations``: bibtex key to (authors, year);
    ``references``: the docname of the page that lists them.
    """

    glue: dict
    docname: str
    titles: dict = field(default_factory=dict)
    book_url: str = ""
    exercises: dict = field(default_factory=dict)
    citations: dict = field(default_factory=dict)
    references: str = "chapters/references"


def glued_text(glue: dict, key: str, fmt: str = "") -> str:
    """The text that myst-nb's glue role or directive shows for ``key``."""
    if key not in glue:
        raise KeyError(f"no value is glued under {key!r}")
    data = glue[key]["data"]
    if fmt == "" and "text/markdown" in data:
        return data["text/markdown"]
    return format_plain_text(data["text/plain"], fmt)


def _role(match: re.Match, book: Book) -> str:
    name, content = match["name"], match["content"]
    if name in ("glue", "glue:text", "glue:md"):
        key, _, fmt = content.rpartition(":") if name == "glue:text" and ":" in content else (content, "", "")
        return glued_text(book.glue, key, fmt)
    if name == "doc":
        title_target = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", content)
        target = title_target["target"] if title_target else content
        resolved = target.lstrip("/") if target.startswith("/") else _join(book.docname, target)
        title = title_target["title"] if title_target else book.titles.get(resolved, resolved)
        return f"[{title}]({book.book_url}{resolved}.html)"
    if name == "term":  # a glossary term: its text, as the page shows it
        shown = re.fullmatch(r"(?P<text>.+?)\s*<[^>]+>", content)
        return shown["text"] if shown else content
    if name in ("cite", "cite:p", "cite:t"):
        return _citation(name, content, book)
    raise ValueError(f"{book.docname}: the Colab edition has no plain-Markdown form for the role {{{name}}}")


def _citation(name: str, content: str, book: Book) -> str:
    """A citation as the book's author-year style shows it, linked to the references page."""
    keys = [key.strip() for key in content.split(",")]
    missing = [key for key in keys if key not in book.citations]
    if missing:
        raise KeyError(f"{book.docname}: no reference under {', '.join(missing)}")
    if name == "cite:t":
        shown = "; ".join(f"{authors} ({year})" for authors, year in (book.citations[key] for key in keys))
    else:
        shown = "(" + "; ".join(f"{authors}, {year}" for authors, year in (book.citations[key] for key in keys)) + ")"
    return f"[{shown}]({book.book_url}{book.references}.html)"


def citation_labels(bib_files) -> dict:
    """Each bibtex key's (authors, year) in author-year style: "LeCun et al.", "Glorot and Bengio"."""
    import latexcodec  # noqa: F401  (registers the "ulatex" codec; pybtex depends on it)
    from pybtex.database import parse_file

    labels = {}
    for path in bib_files:
        for key, entry in parse_file(str(path)).entries.items():
            names = [
                _plain_latex(" ".join(person.prelast_names + person.last_names))
                for person in entry.persons.get("author", [])
            ]
            authors = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
            labels[key] = (authors, entry.fields["year"])
    return labels


def _plain_latex(text: str) -> str:
    return codecs.decode(text, "ulatex").replace("{", "").replace("}", "")


def _join(docname: str, target: str) -> str:
    parts = docname.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _directive(name: str, argument: str, body: list[str], book: Book) -> list[str]:
    options = {m["name"]: m["value"] for m in map(_OPTION.match, body) if m}
    content = [line for line in body if not _OPTION.match(line)]
    if name == "glue":
        return glued_text(book.glue, argument.strip()).splitlines()
    if name in ADMONITIONS:
        title = argument.strip() if name == "admonition" else name.capitalize()
        if name == "seealso":
            title = "See also"
        return [f"> **{title}:**", ">", *_quoted(content)]
    if name == "exercise":
        title = f"Exercise {book.exercises[options['label']]}" if options.get("label") in book.exercises else "Exercise"
        if argument.strip():
            title += f" ({argument.strip()})"
        return [f"> **{title}**", ">", *_quoted(content)]
    if name in ("solution", "solution-start"):
        number = book.exercises.get(argument.strip())
        opening = _SOLUTION_OPEN.format(f"Solution to exercise {number}" if number else "Solution")
        return [opening, "", *content] + (["", _SOLUTION_CLOSE] if name == "solution" else [])
    if name == "solution-end":
        return [_SOLUTION_CLOSE]
    raise ValueError(f"{book.docname}: the Colab edition has no plain-Markdown form for the directive {{{name}}}")


def _quoted(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


def plain_markdown(source: str, book: Book) -> str:
    """A Markdown cell's MyST source as plain Markdown that Colab renders."""
    lines, out, index = source.splitlines(), [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            out.append(lines[index])
            index += 1
            continue
        fence = opening["fence"]
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == fence), None)
        if end is None:
            raise ValueError(f"{book.docname}: the directive {{{opening['name']}}} is never closed")
        out += _directive(opening["name"], opening["argument"], lines[index + 1 : end], book)
        index = end + 1
    text = _TARGET.sub("", "\n".join(out))
    return _ROLE.sub(lambda m: _role(m, book), text)


def _form_cell(cell, title: str):
    """``cell`` as a Colab form: its code folded away under ``title``, its output shown."""
    cell.source = f"# @title {title}\n{cell.source}"
    cell.metadata["cellView"] = "form"
    return cell


def _hidden_title(source: str) -> str:
    if "check(" in source:
        return "Check that this run bears out the text"
    if "glue(" in source:
        return "Numbers for the text"
    return "Hidden code"


def colab_edition(nb, book: Book, *, page_url: str, repository_url: str, ref: str):
    """The Colab edition of the chapter notebook ``nb``.

    ``ref`` is the commit (or branch) whose digitlib the install cell installs. Code is
    unchanged; outputs are dropped; cells the book hides, and the code of solutions, become
    collapsed form cells; a note under the title says where the numbers come from.
    """
    edition = copy.deepcopy(nb)
    cells, solution = [], None  # solution: the summary of the solution whose cells these are
    for cell in edition.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            if "remove-cell" in tags:
                continue
            text = plain_markdown(cell.source, book)
            if solution:
                text = _SOLUTION_OPEN.format(f"{solution}, continued") + "\n\n" + text
            opened = re.findall(r"<details><summary>(.*?)</summary>", text)
            solution = None
            if len(opened) > text.count(_SOLUTION_CLOSE):  # a solution that goes on in the next cells
                solution = opened[-1].removesuffix(", continued")
                text += "\n\n" + _SOLUTION_CLOSE
            cell.source = text
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if _INSTALL.search(cell.source):
                cell.source = _INSTALL.sub(rf'\g<1>{repository_url}@{ref}"', cell.source)
                _form_cell(cell, "Set-up: install digitlib, the book's helper package, with MNIST")
            elif solution:
                _form_cell(cell, solution)
            elif tags & _HIDDEN_TAGS:
                _form_cell(cell, _hidden_title(cell.source))
        cells.append(cell)
    note = nbformat.v4.new_markdown_cell(
        f"> This is the Colab edition of a chapter of the book [Convolutional networks on MNIST]({page_url}). "
        "The numbers in the text are those of the book's published build; your run may differ in the last "
        "digits, or more if you change the knobs. Run the cells from top to bottom (Runtime → Run all)."
    )
    first_heading = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells.insert(first_heading + 1, note)
    edition.cells = cells
    edition.metadata["colab"] = {"provenance": [], "toc_visible": True}
    edition.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return edition


def _source_ref(srcdir: Path, fallback: str) -> str:
    """The commit being built (``GITHUB_SHA`` in GitHub Actions, else git), or ``fallback``."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=srcdir, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return fallback


def _colab_prefix(app, branch: str) -> str:
    repository_url = app.config.html_theme_options.get("repository_url", "").rstrip("/")
    colab_url = app.config.html_theme_options.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    return f"{colab_url}/github/{repository_url.removeprefix('https://github.com/')}/blob/{branch}/"


def point_launch_buttons_at_colab_editions(app, pagename, templatename, context, doctree):
    """Rewrite the theme's Colab launch link from the source branch to the editions' branch."""
    source_branch = app.config.html_theme_options.get("repository_branch", "main")
    old, new = _colab_prefix(app, source_branch), _colab_prefix(app, app.config.colab_branch)

    def rewrite(node):
        if isinstance(node, dict):
            if isinstance(node.get("url"), str) and node["url"].startswith(old):
                node["url"] = new + node["url"][len(old) :]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for item in node:
                rewrite(item)

    rewrite(context.get("header_buttons", []))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """Each script once: sphinx-thebe 0.3.1, under Jupyter Book, adds its configuration script
    twice, and the second ``const`` declaration throws in the reader's browser."""
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (
            getattr(script, "filename", script) or "",  # sphinx-thebe adds it once as None, once as ""
            json.dumps(getattr(script, "attributes", {}), sort_keys=True, default=str),
        )
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def write_colab_editions(app, exception):
    if exception is not None or app.builder.name != "html":
        return
    build = Path(app.outdir).parent
    options = app.config.html_theme_options
    repository_url = options.get("repository_url", "").rstrip("/")
    ref = _source_ref(Path(app.srcdir), options.get("repository_branch", "main"))
    book_url = app.config.html_baseurl.rstrip("/") + "/"
    titles = {name: title.astext() for name, title in app.env.titles.items()}
    bib_files = [Path(app.srcdir) / path for path in getattr(app.config, "bibtex_bibfiles", [])]
    citations = citation_labels(bib_files)
    references = next(
        (
            name
            for name in sorted(app.env.found_docs)
            if "{bibliography}" in Path(app.env.doc2path(name)).read_text(encoding="utf-8")
        ),
        "",
    )
    exercises = {
        label: number[0]
        for numbers in app.env.toc_fignumbers.values()
        for label, number in numbers.get("exercise", {}).items()
    }
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        if source.suffix != ".ipynb":
            continue
        glue_file = build / "jupyter_execute" / f"{docname}.glue.json"
        book = Book(
            glue=json.loads(glue_file.read_text()) if glue_file.exists() else {},
            docname=docname,
            titles=titles,
            book_url=book_url,
            exercises=exercises,
            citations=citations,
            references=references,
        )
        edition = colab_edition(
            nbformat.read(source, as_version=4),
            book,
            page_url=f"{book_url}{docname}.html",
            repository_url=repository_url,
            ref=ref,
        )
        target = build / "colab" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(edition, target)
    (build / "colab").mkdir(parents=True, exist_ok=True)
    (build / "colab" / "README.md").write_text(
        f"# Colab editions of [Convolutional networks on MNIST]({book_url})\n\n"
        f"Generated by the book's build from {repository_url} at `{ref}`, with the numbers of that build. "
        "Do not edit them here: the chapters on the main branch are the source, and the next build replaces "
        "this branch.\n"
    )


def setup(app):
    os.environ.setdefault("DIGITLIB_CHECKS", "raise")
    app.add_config_value("colab_branch", "colab", "html")
    app.connect("html-page-context", point_launch_buttons_at_colab_editions, priority=600)
    app.connect("html-page-context", drop_repeated_scripts)
    app.connect("build-finished", write_colab_editions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
