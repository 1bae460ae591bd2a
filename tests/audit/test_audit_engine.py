"""Selection, configuration, inline suppression and exit codes of `hermetic audit`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit.planting import audit_cli, commit_all, found, plant
from tests.helpers import REPO_ROOT

TWO_NOTEBOOKS = {"a.ipynb": "{}", "b/c.ipynb": "{}"}


def test_exit_0_when_clean_1_with_findings(tmp_path: Path) -> None:
    plant(tmp_path, {"README.md": "hello\n"})
    clean = audit_cli(str(tmp_path))
    assert clean.exit_code == 0, clean.output
    assert "no findings in 1 files" in clean.stdout
    plant(tmp_path, TWO_NOTEBOOKS)
    dirty = audit_cli(str(tmp_path))
    assert dirty.exit_code == 1, dirty.output
    assert "a.ipynb:1: HM501 [warning] Notebook in the repository" in dirty.stdout
    assert "2 findings (2 warning) in 3 files" in dirty.stdout


@pytest.mark.parametrize(
    ("arguments", "phrases"),
    [
        (["--select", "HM9"], ["select names no rule: HM9", "known rules: HM001"]),
        (["--ignore", "XX1,HM501"], ["ignore names no rule: XX1"]),
        (["--format", "xml"], ["'xml' is not one of"]),
    ],
)
def test_bad_arguments_exit_2_and_say_what_to_do(
    tmp_path: Path, arguments: list[str], phrases: list[str]
) -> None:
    result = audit_cli(str(tmp_path), *arguments)
    assert result.exit_code == 2, result.output
    for phrase in phrases:
        assert phrase in result.output


def test_a_missing_path_exits_2(tmp_path: Path) -> None:
    result = audit_cli(str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_select_and_ignore_take_ids_and_prefixes(tmp_path: Path) -> None:
    plant(tmp_path, {**TWO_NOTEBOOKS, "data/x.csv": b"\1" * (2 << 20)})
    commit_all(tmp_path)
    assert {rule for rule, _, _ in found(tmp_path, "HM5")} == {"HM501", "HM502"}
    assert {rule for rule, _, _ in found(tmp_path, "HM502")} == {"HM502"}
    result = audit_cli(str(tmp_path), "--select", "HM5", "--ignore", "HM501", "--format", "json")
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["HM502"]


def test_the_pyproject_section_selects_ignores_and_excludes(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            **TWO_NOTEBOOKS,
            "vendor/d.ipynb": "{}",
            "pyproject.toml": '[tool.hermetic.audit]\nexclude = ["vendor/*"]\nignore = []\n',
        },
    )
    assert found(tmp_path, "HM501") == {("HM501", "a.ipynb", 1), ("HM501", "b/c.ipynb", 1)}
    (tmp_path / "pyproject.toml").write_text('[tool.hermetic.audit]\nignore = ["HM501"]\n')
    assert audit_cli(str(tmp_path)).exit_code == 0


@pytest.mark.parametrize(
    ("section", "phrase"),
    [
        ('selekt = ["HM1"]', "unknown keys: selekt"),
        ('ignore = "HM501"', "ignore in"),
        ('select = ["HM7"]', "select names no rule: HM7"),
    ],
)
def test_a_bad_pyproject_section_exits_2(tmp_path: Path, section: str, phrase: str) -> None:
    plant(tmp_path, {"pyproject.toml": f"[tool.hermetic.audit]\n{section}\n"})
    result = audit_cli(str(tmp_path))
    assert result.exit_code == 2, result.output
    assert phrase in result.stderr


def test_a_reasoned_suppression_on_the_line_or_above_hides_only_its_rule(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "big.txt": b"x" * (11 << 20),
            "notes.py": (
                "x = 1  # hermetic: ignore[HM502] not this file's finding\n"
                "# hermetic: ignore[HM501]\n"
                "y = 2  # hermetic: ignore[HM999, HM501] -- because\n"
            ),
        },
    )
    commit_all(tmp_path)
    result = audit_cli(str(tmp_path), "--format", "json")
    document = json.loads(result.stdout)
    findings = {(f["rule"], f["path"], f["line"]) for f in document["findings"]}
    assert findings == {
        ("HM502", "big.txt", 1),  # the markers are in another file
        ("HM001", "notes.py", 2),  # no reason given
    }
    assert document["summary"]["suppressed"] == 0


def test_suppression_with_a_reason_hides_the_finding(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "Dockerfile": (
                "# hermetic: ignore[HM201, HM202] the base image is rebuilt nightly upstream\n"
                "FROM python:3.11\n"
                "FROM ubuntu  # hermetic: ignore[HM202]: accepted in this demo <!-- -->\n"
            )
        },
    )
    result = audit_cli(str(tmp_path), "--select", "HM2", "--format", "json")
    document = json.loads(result.stdout)
    assert [(f["rule"], f["line"]) for f in document["findings"]] == [("HM201", 3)]
    assert document["summary"]["suppressed"] == 3


def test_this_repository_audits_clean() -> None:
    result = audit_cli(str(REPO_ROOT))
    assert result.exit_code == 0, result.stdout
