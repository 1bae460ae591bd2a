"""The generated monitoring/: real validators accept it, and it reads the metrics served.

promtool, amtool and the dashboard's type-checker come from scripts/install-system-tools.sh.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.generation import run_in
from tests.helpers import REPO_ROOT, read_answers

pytestmark = pytest.mark.slow

INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (scripts/test does)"
DASHBOARD_CHECKER = REPO_ROOT / "tests" / "grafana"
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}
PROMQL_WORDS |= {"group_left", "group_right"}
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


@pytest.fixture(scope="module")
def project(generated_project: Callable[[str], Path]) -> Path:
    return generated_project("defaults")


@pytest.fixture(scope="module")
def monitoring(project: Path) -> Path:
    return project / "monitoring"


def tool(name: str, debian_package: str) -> str:
    path = shutil.which(name)
    assert path is not None, (
        f"{name} is not installed: {INSTALL_HINT}, or apt-get install {debian_package}"
    )
    return path


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerting_rules(monitoring: Path) -> list[dict[str, Any]]:
    groups = load_yaml(monitoring / "prometheus" / "rules.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, keywords or labels)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    stripped = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", GROUPING.sub(" ", stripped))
    identifiers = re.findall(r"(?<![\w.$])([A-Za-z_:][\w:]*)\b(?!\s*\()", stripped)
    return set(identifiers) - PROMQL_WORDS


def test_metric_names_reads_selectors_only() -> None:
    expression = (
        'histogram_quantile(0.99, sum by (job, le) (rate(latency_bucket{status="4xx"}[5m])))'
        ' > 0.5 and on (job) group_left (version) info or absent(up{job=~"$job"})'
    )
    assert metric_names(expression) == {"latency_bucket", "info", "up"}


@pytest.fixture(scope="module")
def exported_series(project: Path) -> dict[str, set[str]]:
    """Each metric family the service exports, by name, with the series names a query may use."""
    package = read_answers(project)["package_name"]
    script = (
        f"from {package}.serve.metrics import ServiceMetrics, render_metrics;"
        " print(render_metrics(ServiceMetrics()).decode())"
    )
    exposition = run_in(project, "uv", "run", "--frozen", "python", "-c", script).stdout
    families = re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE)
    assert len(families) >= 13, exposition
    return {
        name: {f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
        for name, kind in families
    }


def test_prometheus_config_and_its_rule_files_are_valid(monitoring: Path) -> None:
    promtool = tool("promtool", "prometheus")
    completed = run_in(monitoring, promtool, "check", "config", "prometheus/prometheus.yml")
    assert "SUCCESS: 1 rule files found" in completed.stdout
    config = load_yaml(monitoring / "prometheus" / "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["127.0.0.1:8000"]}]


def test_rules_are_valid(monitoring: Path) -> None:
    promtool = tool("promtool", "prometheus")
    completed = run_in(monitoring, promtool, "check", "rules", "prometheus/rules.yml")
    assert f"SUCCESS: {len(alerting_rules(monitoring))} rules found" in completed.stdout


def test_every_alert_has_a_severity_summary_description_and_runbook(monitoring: Path) -> None:
    rules = alerting_rules(monitoring)
    assert len({rule["alert"] for rule in rules}) == len(rules) >= 8
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, rule["alert"]


def test_rule_unit_tests_pass(monitoring: Path) -> None:
    promtool = tool("promtool", "prometheus")
    completed = run_in(monitoring, promtool, "test", "rules", "prometheus/rules.test.yml")
    assert "SUCCESS" in completed.stdout


def test_every_alert_is_tested_firing_and_silent(monitoring: Path) -> None:
    alerts = {rule["alert"] for rule in alerting_rules(monitoring)}
    unit_tests = load_yaml(monitoring / "prometheus" / "rules.test.yml")
    assert unit_tests["rule_files"] == ["rules.yml"]
    cases = [case for test in unit_tests["tests"] for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert firing == alerts, f"no case where these fire: {alerts - firing}"
    assert silent == alerts, f"no case where these stay silent: {alerts - silent}"
    for case in cases:
        for expected in case.get("exp_alerts", []):
            assert {"severity"} <= set(expected["exp_labels"]), case["alertname"]
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook"}


def test_rules_read_only_metrics_the_service_exports(
    monitoring: Path, exported_series: dict[str, set[str]]
) -> None:
    exported = set().union(*exported_series.values())
    for rule in alerting_rules(monitoring):
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} reads {used - exported}, not exported"


def test_alertmanager_config_is_valid(monitoring: Path) -> None:
    amtool = tool("amtool", "prometheus-alertmanager")
    completed = run_in(monitoring, amtool, "check-config", "alertmanager/alertmanager.yml")
    assert "SUCCESS" in completed.stdout


def test_alertmanager_pages_with_a_key_from_a_file_and_inhibits_by_model(
    monitoring: Path,
) -> None:
    config = load_yaml(monitoring / "alertmanager" / "alertmanager.yml")
    assert config["route"]["group_by"] == ["alertname", "model_version"]
    (receiver,) = config["receivers"]
    assert receiver["name"] == config["route"]["receiver"]
    (pagerduty,) = receiver["pagerduty_configs"]
    # A relative path would point inside the repository, where a key file gets committed.
    assert pagerduty["routing_key_file"].startswith("/")
    assert not {"routing_key", "service_key", "service_key_file"} & set(pagerduty)
    (inhibit,) = config["inhibit_rules"]
    assert inhibit["source_matchers"] == ['severity="critical"']
    assert inhibit["target_matchers"] == ['severity="warning"']
    assert "model_version" in inhibit["equal"]
    severities = {rule["labels"]["severity"] for rule in alerting_rules(monitoring)}
    assert severities == {"critical", "warning"}, "the inhibit rule names both severities"


def dashboard_of(monitoring: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (monitoring / "grafana" / "dashboard.json").read_text(encoding="utf-8")
    )
    return loaded


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [panel for panel in dashboard["panels"] if panel["type"] == "row"]
    nested = [panel for row in rows for panel in row["panels"]]
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"] + nested


def type_check_dashboard(dashboard_json: str, workspace: Path) -> Path:
    """Write a TypeScript module assigning the dashboard to the schema's type; return its folder.

    An object literal (not an imported JSON file) keeps excess-property and literal checks.
    """
    workspace.mkdir()
    (workspace / "node_modules").symlink_to(DASHBOARD_CHECKER / "node_modules")
    for name in ("tsconfig.json", "dashboard-json.ts"):
        shutil.copy2(DASHBOARD_CHECKER / name, workspace / name)
    (workspace / "check.ts").write_text(
        'import type { DashboardJson } from "./dashboard-json";\n\n'
        f"export const dashboard: DashboardJson = {dashboard_json};\n",
        encoding="utf-8",
    )
    return workspace


def tsc() -> str:
    compiler = DASHBOARD_CHECKER / "node_modules" / ".bin" / "tsc"
    assert compiler.exists(), f"the dashboard type-checker is not installed: {INSTALL_HINT}"
    return str(compiler)


def test_dashboard_type_checks_against_grafana_schema(monitoring: Path, tmp_path: Path) -> None:
    dashboard_json = (monitoring / "grafana" / "dashboard.json").read_text(encoding="utf-8")
    workspace = type_check_dashboard(dashboard_json, tmp_path / "check")
    run_in(workspace, tsc(), "--project", ".")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (('"gridPos"', '"gridPosition"'), """'"gridPosition"' does not exist"""),
        (('"mode": "absolute"', '"mode": "absolut"'), """Type '"absolut"' is not assignable"""),
        (('"drawStyle": "line"', '"drawStyle": "lines"'), """Type '"lines"' is not assignable"""),
    ],
    ids=["unknown-field", "bad-enum-value", "bad-panel-option"],
)
def test_the_dashboard_type_check_rejects_a_broken_dashboard(
    monitoring: Path, tmp_path: Path, change: tuple[str, str], error: str
) -> None:
    dashboard_json = (monitoring / "grafana" / "dashboard.json").read_text(encoding="utf-8")
    assert change[0] in dashboard_json
    workspace = type_check_dashboard(dashboard_json.replace(*change), tmp_path / "check")
    with pytest.raises(AssertionError, match=re.escape(error)):
        run_in(workspace, tsc(), "--project", ".")


def test_dashboard_queries_every_exported_metric_and_nothing_else(
    monitoring: Path, exported_series: dict[str, set[str]]
) -> None:
    dashboard = dashboard_of(monitoring)
    expressions = [target["expr"] for panel in panels_of(dashboard) for target in panel["targets"]]
    used = set().union(*(metric_names(expression) for expression in expressions))
    missing = {name for name, series in exported_series.items() if not series & used}
    assert not missing, f"no panel queries {sorted(missing)}"
    exported = set().union(*exported_series.values())
    assert used <= exported, f"panels query {used - exported}, which the service does not export"


def test_dashboard_panels_use_the_datasource_variable_and_set_units(monitoring: Path) -> None:
    dashboard = dashboard_of(monitoring)
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    by_datasource = {"type": "prometheus", "uid": "$datasource"}
    for panel in panels_of(dashboard):
        assert panel["datasource"] == by_datasource, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(target["datasource"] == by_datasource for target in panel["targets"])
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']} has no unit"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
