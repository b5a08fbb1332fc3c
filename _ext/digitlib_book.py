"""The book's own Sphinx extension.

- Claim checks (``digitlib.check``) fail the build: the kernels that execute the chapters
  inherit ``DIGITLIB_CHECKS=raise`` unless the caller set another mode.
- Every chapter gets a Colab edition, written after a successful HTML build to
  ``_build/colab/<path>.ipynb``: the same cells, with the MyST that Colab cannot render
  turned into plain Markdown and the published values put in place of the glue roles (see
  :func:`colab_edition`). The publishing workflow pushes that folder to the ``colab_branch``.
- The pages' Colab launch buttons open those editions on that branch.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

ADMONITIONS = ("admonition", "attention", "caution", "danger", "error", "hint", "important", "note",
               "seealso", "tip", "warning")
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<argument>.*)$")
_ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<content>[^`]+)`")
_TARGET = re.compile(r"^\([\w-]+\)=[ \t]*$", re.M)
_INSTALL = re.compile(r'(digitlib @ git\+)(?P<url>https://github\.com/[\w.-]+/[\w.-]+?)(?:@[\w./-]+)?"')
_HIDDEN_TAGS = {"remove-cell", "remove-input", "hide-cell", "hide-input"}


def glued_text(glue: dict, key: str, fmt: str = "") -> str:
    """The text that myst-nb's glue role or directive shows for ``key``."""
    if key not in glue:
        raise KeyError(f"no value is glued under {key!r}")
    data = glue[key]["data"]
    if fmt == "" and "text/markdown" in data:
        return data["text/markdown"]
    return format_plain_text(data["text/plain"], fmt)


def _role(match: re.Match, *, glue, docname, titles, book_url) -> str:
    name, content = match["name"], match["content"]
    if name in ("glue", "glue:text", "glue:md"):
        key, _, fmt = content.rpartition(":") if name == "glue:text" and ":" in content else (content, "", "")
        return glued_text(glue, key, fmt)
    if name == "doc":
        title_target = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", content)
        target = title_target["target"] if title_target else content
        resolved = target.lstrip("/") if target.startswith("/") else _join(docname, target)
        title = title_target["title"] if title_target else titles.get(resolved, resolved)
        return f"[{title}]({book_url}{resolved}.html)"
    if name == "term":  # a glossary term: its text, as the page shows it
        shown = re.fullmatch(r"(?P<text>.+?)\s*<[^>]+>", content)
        return shown["text"] if shown else content
    raise ValueError(f"{docname}: the Colab edition has no plain-Markdown form for the role {{{name}}}")


def _join(docname: str, target: str) -> str:
    parts = docname.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _directive(name: str, argument: str, body: list[str], *, glue, docname) -> list[str]:
    if name == "glue":
        return glued_text(glue, argument.strip()).splitlines()
    if name in ADMONITIONS:
        content = [line for line in body if not re.match(r"^:[\w-]+:", line)]
        title = argument.strip() if name == "admonition" else name.capitalize()
        if name == "seealso":
            title = "See also"
        quoted = [f"> {line}" if line.strip() else ">" for line in content]
        return [f"> **{title}:**", ">", *quoted]
    raise ValueError(f"{docname}: the Colab edition has no plain-Markdown form for the directive {{{name}}}")


def plain_markdown(source: str, *, glue: dict, docname: str, titles: dict, book_url: str) -> str:
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
            raise ValueError(f"{docname}: the directive {{{opening['name']}}} is never closed")
        out += _directive(opening["name"], opening["argument"], lines[index + 1:end], glue=glue, docname=docname)
        index = end + 1
    text = _TARGET.sub("", "\n".join(out))
    return _ROLE.sub(lambda m: _role(m, glue=glue, docname=docname, titles=titles, book_url=book_url), text)


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


def colab_edition(nb, *, glue: dict, docname: str, titles: dict, book_url: str, page_url: str,
                  repository_url: str, ref: str):
    """The Colab edition of the chapter notebook ``nb``.

    ``glue`` holds the values the published build glued (myst-nb's ``.glue.json``), ``titles``
    maps docnames to page titles for ``{doc}`` links, ``ref`` is the commit (or branch) whose
    digitlib the install cell installs. Code is unchanged; outputs are dropped; cells the book
    hides become collapsed form cells; a note under the title says where the numbers come from.
    """
    edition = copy.deepcopy(nb)
    cells = []
    for cell in edition.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            if "remove-cell" in tags:
                continue
            cell.source = plain_markdown(cell.source, glue=glue, docname=docname, titles=titles, book_url=book_url)
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if _INSTALL.search(cell.source):
                cell.source = _INSTALL.sub(rf'\g<1>{repository_url}@{ref}"', cell.source)
                _form_cell(cell, "Set-up: install digitlib, the book's helper package, with MNIST")
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
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=srcdir, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
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
                node["url"] = new + node["url"][len(old):]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for item in node:
                rewrite(item)

    rewrite(context.get("header_buttons", []))


def write_colab_editions(app, exception):
    if exception is not None or app.builder.name != "html":
        return
    build = Path(app.outdir).parent
    options = app.config.html_theme_options
    repository_url = options.get("repository_url", "").rstrip("/")
    ref = _source_ref(Path(app.srcdir), options.get("repository_branch", "main"))
    book_url = app.config.html_baseurl.rstrip("/") + "/"
    titles = {name: title.astext() for name, title in app.env.titles.items()}
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        if source.suffix != ".ipynb":
            continue
        glue_file = build / "jupyter_execute" / f"{docname}.glue.json"
        glue = json.loads(glue_file.read_text()) if glue_file.exists() else {}
        edition = colab_edition(
            nbformat.read(source, as_version=4), glue=glue, docname=docname, titles=titles, book_url=book_url,
            page_url=f"{book_url}{docname}.html", repository_url=repository_url, ref=ref,
        )
        target = build / "colab" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(edition, target)
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
    app.connect("build-finished", write_colab_editions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
