"""JSON and SARIF outputs parse, and the SARIF validates against the official 2.1.0 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.audit.planting import audit_cli, commit_all, plant
from tests.helpers import REPO_ROOT

SARIF_SCHEMA = (
    REPO_ROOT / "tests/sarif/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json"
)
HAZARDS: dict[str, str | bytes] = {
    "notebooks/a b.ipynb": "{}",  # a space: the SARIF URI must be percent-encoded
    "data/x.parquet": b"\1" * (2 << 20),
    "src/keep.py": "# hermetic: ignore[HM501]\n",
}


@pytest.fixture(scope="module")
def hazards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_all(plant(tmp_path_factory.mktemp("hazards"), HAZARDS))


def _output(root: Path, report_format: str) -> Any:
    result = audit_cli(str(root), "--format", report_format, "--select", "HM0,HM5")
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_json_lists_each_finding_with_its_rule_place_and_fix(hazards: Path) -> None:
    document = _output(hazards, "json")
    assert document["version"] == 1
    assert document["rules"] == ["HM001", "HM501", "HM502"]
    assert [(f["rule"], f["path"], f["line"]) for f in document["findings"]] == [
        ("HM502", "data/x.parquet", 1),
        ("HM501", "notebooks/a b.ipynb", 1),
        ("HM001", "src/keep.py", 1),
    ]
    for finding in document["findings"]:
        assert finding["fix"] and finding["title"] and finding["severity"] in {"error", "warning"}
    assert document["summary"] == {
        "findings": 3,
        "suppressed": 0,
        "files": 3,
        "by_severity": {"error": 1, "warning": 2},
    }


def test_sarif_validates_against_the_sarif_2_1_0_schema(hazards: Path) -> None:
    assert SARIF_SCHEMA.is_file(), "run `bash scripts/install-system-tools.sh` (scripts/test does)"
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    document = _output(hazards, "sarif")
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    assert document["version"] == "2.1.0"


def test_the_sarif_schema_check_rejects_a_broken_log(hazards: Path) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    document = _output(hazards, "sarif")
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError, match="'fatal' is not one of"):
        jsonschema.validators.validator_for(schema)(schema).validate(document)


def test_sarif_results_point_at_their_rules_and_relative_uris(hazards: Path) -> None:
    (run,) = _output(hazards, "sarif")["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["HM001", "HM501", "HM502"]
    located = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == rules[result["ruleIndex"]]["defaultConfiguration"]["level"]
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        located.append((artifact["uri"], location["physicalLocation"]["region"]["startLine"]))
    assert located == [("data/x.parquet", 1), ("notebooks/a%20b.ipynb", 1), ("src/keep.py", 1)]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == hazards.resolve().as_uri() + "/"
