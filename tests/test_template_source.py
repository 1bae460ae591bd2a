"""Template source precedence, and plain copier rendering this repository like `hermetic new`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermetic.cli import app
from hermetic.errors import TemplateError
from hermetic.template_source import checkout_root, resolve_template_source
from tests.helpers import REPO_ROOT, child_environment, git, read_answers, tree_files


def test_explicit_template_wins_over_environment_and_checkout() -> None:
    chosen = resolve_template_source("gh:team/template", {"HERMETIC_TEMPLATE": "/env"}, REPO_ROOT)
    assert chosen == "gh:team/template"


def test_environment_wins_over_checkout() -> None:
    assert resolve_template_source(None, {"HERMETIC_TEMPLATE": "/env"}, REPO_ROOT) == "/env"


def test_checkout_is_the_last_resort() -> None:
    assert resolve_template_source(None, {"HERMETIC_TEMPLATE": " "}, REPO_ROOT) == str(REPO_ROOT)


def test_no_source_at_all_says_how_to_give_one() -> None:
    with pytest.raises(TemplateError) as raised:
        resolve_template_source(None, {}, None)
    assert "--template" in raised.value.fix
    assert "HERMETIC_TEMPLATE" in raised.value.fix


def test_checkout_root_is_this_repository(tmp_path: Path) -> None:
    assert checkout_root() == REPO_ROOT
    assert checkout_root(tmp_path / "somewhere" / "file.py") is None


def test_plain_copier_copy_of_this_repository_renders_what_hermetic_new_renders(
    tmp_path: Path,
) -> None:
    copier = shutil.which("copier", path=str(Path(sys.executable).parent))
    assert copier is not None
    by_copier = tmp_path / "by-copier"
    subprocess.run(
        [copier, "copy", "--trust", "--defaults", "--quiet", str(REPO_ROOT), str(by_copier)],
        env=child_environment(),
        check=True,
        capture_output=True,
    )
    by_hermetic = tmp_path / "by-hermetic"
    result = CliRunner().invoke(app, ["new", str(by_hermetic), "--defaults", "--no-lock"])
    assert result.exit_code == 0, result.output

    files = tree_files(by_copier)
    assert files == tree_files(by_hermetic)
    checkout_is_clean = git("status", "--porcelain", cwd=REPO_ROOT) == ""
    # Both record the template's version; copier commits dirty changes anew on each run.
    versioned = {".copier-answers.yml", ".hermetic/migrated"}
    for relative in files - versioned:
        assert (by_copier / relative).read_bytes() == (by_hermetic / relative).read_bytes(), (
            relative
        )
    copier_answers, hermetic_answers = read_answers(by_copier), read_answers(by_hermetic)
    for answers, project in ((copier_answers, by_copier), (hermetic_answers, by_hermetic)):
        migrated = (project / ".hermetic" / "migrated").read_text(encoding="utf-8")
        assert migrated == f"{answers['_commit']}\n", "generated at the version it records"
    if not checkout_is_clean:  # a new _commit for each run
        del copier_answers["_commit"], hermetic_answers["_commit"]
    assert copier_answers == hermetic_answers
