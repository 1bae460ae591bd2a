"""The documentation site builds strictly and documents every template question."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import copier_config

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTIONS_PAGE = REPO_ROOT / "docs" / "reference" / "questions.md"
# A question's section: a level-2 heading that is exactly the question name in backticks.
_QUESTION_HEADING = re.compile(r"^## `([^`]+)`[ \t]*$", re.MULTILINE)


def _template_questions() -> set[str]:
    config = copier_config(REPO_ROOT)
    assert config, "copier.yml holds no question"
    return {
        str(key)
        for key, spec in config.items()
        if not str(key).startswith("_")
        and not (isinstance(spec, dict) and spec.get("when") is False)
    }


def test_every_question_has_a_default() -> None:
    """Renovate updates a project with `copier update --skip-answered --defaults`: a new question
    without a default would stop every project's update (docs/guides/fleet-updates.md)."""
    specs = copier_config(REPO_ROOT)
    questions = _template_questions()
    assert "project_name" in questions and "data_source" in questions
    for question in questions:
        spec = specs[question]
        assert isinstance(spec, dict) and "default" in spec, f"{question} has no default"


def _documented_questions() -> list[str]:
    return _QUESTION_HEADING.findall(QUESTIONS_PAGE.read_text(encoding="utf-8"))


def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (site / "index.html").is_file()


def test_every_question_has_a_section() -> None:
    missing = _template_questions() - set(_documented_questions())
    assert not missing, f"copier.yml questions without a '## `name`' heading: {sorted(missing)}"


def test_every_question_section_names_a_question() -> None:
    documented = _documented_questions()
    unknown = set(documented) - _template_questions()
    assert not unknown, f"headings that name no copier.yml question: {sorted(unknown)}"
    duplicated = sorted({name for name in documented if documented.count(name) > 1})
    assert not duplicated, f"questions documented more than once: {duplicated}"


AUDIT_PAGE = REPO_ROOT / "docs" / "reference" / "audit.md"


def test_every_audit_rule_has_its_row_in_the_rules_page() -> None:
    from hermetic.audit.engine import ALL_RULES  # noqa: PLC0415 - only this test needs it

    rows = re.findall(r"^\| (HM\d{3}) \| `([^`]+)` \| (\w+) \| ([^|]+) \|", _audit_page(), re.M)
    expected = [(r.id, r.name, r.severity.value, r.title) for r in ALL_RULES]
    assert [(i, n, s, t.strip()) for i, n, s, t in rows] == expected


def _audit_page() -> str:
    return AUDIT_PAGE.read_text(encoding="utf-8")


def test_every_project_owned_file_is_in_the_ownership_table() -> None:
    owned = copier_config(REPO_ROOT)["_skip_if_exists"]
    page = (REPO_ROOT / "docs" / "reference" / "updates.md").read_text(encoding="utf-8")
    (owned_row,) = [line for line in page.splitlines() if "| the project |" in line]
    for pattern in owned:
        assert f"`{pattern.replace('*', '<package>')}`" in owned_row, pattern
