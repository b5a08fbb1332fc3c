"""The code's form: ruff's lint and format (configured in pyproject.toml), chapters committed
without outputs (pinned outputs aside), and GitHub workflows that match GitHub's schema. The
pull-request workflow runs the same checks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _run(*command):
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", [("check", "."), ("format", "--check", ".")], ids=["lint", "format"])
def test_ruff_has_nothing_to_say(command):
    result = _run(sys.executable, "-m", "ruff", *command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


def test_chapters_are_committed_without_outputs():
    chapters = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "chapters").glob("*.ipynb"))
    result = _run(sys.executable, "-m", "nbstripout", "--verify", "--keep-id", *chapters)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_match_githubs_schema():
    assert WORKFLOWS, "no workflow in .github/workflows"
    check = _run(
        sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)
    )
    assert check.returncode == 0, check.stdout + check.stderr
