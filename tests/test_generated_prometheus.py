"""A real Prometheus, run with the generated config and rules, watches the real service.

Golden traffic fires no drift alert and passes the canary analysis's Prometheus checks, drifted
(still valid) traffic fires FeatureDrift, and every dashboard query evaluates to data.
Prometheus comes from scripts/install-system-tools.sh.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml

from tests.helpers import free_port, read_answers
from tests.kubernetes_support import Build, kustomize
from tests.service_process import http_call, server_process, wait_for
from tests.test_generated_canary import POD_TEMPLATE_HASH_LABEL, canary_metric_checks
from tests.test_generated_monitoring import (
    alerting_rules,
    dashboard_of,
    load_yaml,
    panels_of,
    tool,
)

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

DRIFT_ALERT = "FeatureDrift"
SCRAPE_JOB = "model-serving"
# 1 s instead of the generated 15 s: each step below waits for a few scrapes and evaluations.
SCRAPE_AND_EVALUATION_INTERVAL_SECONDS = 1
DRIFT_WINDOW_ROWS = 100
ROWS_PER_REQUEST = 10
DRIFTED_WINDOWS = 3
# Grafana's $__rate_interval is at least 4 scrape intervals; a minute spans ~60 of these scrapes.
RATE_INTERVAL = "1m"
SETTLE_SECONDS = 30.0
FIRING_SECONDS = 60.0
# The service's pod-template hash, as Argo Rollouts labels a canary's pods and the ServiceMonitor
# copies the label onto their series; and a hash no scraped pod has.
CANARY_HASH = "5d8f7c9b4"
OTHER_HASH = "6b7c8d9f5"


@dataclass(frozen=True)
class Service:
    port: int

    @property
    def instance(self) -> str:
        return f"127.0.0.1:{self.port}"

    def predict(self, instances: list[dict[str, Any]]) -> int:
        return http_call(self.port, "POST", "/predict", {"instances": instances})[0]

    def predict_in_batches(self, instances: list[dict[str, Any]]) -> Counter[int]:
        """Send INSTANCES a few rows per request; count the response statuses."""
        return Counter(
            self.predict(instances[start : start + ROWS_PER_REQUEST])
            for start in range(0, len(instances), ROWS_PER_REQUEST)
        )


@dataclass(frozen=True)
class Prometheus:
    port: int

    def response(self, path: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
        """The API's JSON answer, errors included (they come with a 4xx status)."""
        query = f"?{urlencode(parameters)}" if parameters else ""
        document: dict[str, Any] = json.loads(http_call(self.port, "GET", path + query)[1])
        return document

    def data(self, path: str, parameters: dict[str, str] | None = None) -> Any:
        document = self.response(path, parameters)
        assert document["status"] == "success", document
        return document["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.data("/api/v1/query", {"query": expression})["result"]
        return result

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [
            alert
            for alert in self.data("/api/v1/alerts")["alerts"]
            if alert["labels"]["alertname"] == name
        ]

    def rules(self) -> list[dict[str, Any]]:
        groups = self.data("/api/v1/rules")["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def rule(self, name: str) -> dict[str, Any]:
        (found,) = [rule for rule in self.rules() if rule["name"] == name]
        return found

    def by_feature(self, metric: str, service: Service) -> dict[str, float]:
        series = self.query(f'{metric}{{job="{SCRAPE_JOB}", instance="{service.instance}"}}')
        return {sample["metric"]["feature_name"]: float(sample["value"][1]) for sample in series}


@pytest.fixture(scope="module")
def clone(reproduced_project: tuple[Path, str]) -> Path:
    return reproduced_project[0]


@pytest.fixture(scope="module")
def monitoring(clone: Path) -> Path:
    return clone / "monitoring"


@pytest.fixture(scope="module")
def golden(clone: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (clone / "models" / "golden.json").read_text(encoding="utf-8")
    )
    return loaded


@pytest.fixture(scope="module")
def golden_instances(golden: dict[str, Any]) -> list[dict[str, Any]]:
    instances: list[dict[str, Any]] = [case["instance"] for case in golden["cases"]]
    assert len(instances) >= DRIFT_WINDOW_ROWS
    return instances[:DRIFT_WINDOW_ROWS]


@pytest.fixture(scope="module")
def service(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`serve` of the trained clone on a free port, with small drift windows."""
    port = free_port()
    package = read_answers(clone)["package_name"]
    command = [str(clone / ".venv" / "bin" / "python"), "-m", package, "serve"]
    command += ["--port", str(port), "--device", "cpu"]
    command += ["--drift-window-rows", str(DRIFT_WINDOW_ROWS)]
    command += ["--readiness-interval-seconds", "0.5"]
    log = tmp_path_factory.mktemp("service") / "serve.log"
    with server_process(command, clone, log, "/health/ready", port):
        yield Service(port)


def write_prometheus_config(monitoring: Path, directory: Path, service: Service) -> Path:
    """The generated prometheus.yml and rules.yml in DIRECTORY, pointed at SERVICE."""
    config = load_yaml(monitoring / "prometheus" / "prometheus.yml")
    interval = f"{SCRAPE_AND_EVALUATION_INTERVAL_SECONDS}s"
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    (job,) = config["scrape_configs"]
    (targets,) = job["static_configs"]
    targets["targets"] = [service.instance]
    targets["labels"] = {**targets.get("labels", {}), POD_TEMPLATE_HASH_LABEL: CANARY_HASH}
    # A closed port instead of 9093: no alert reaches an Alertmanager that happens to run here.
    (alertmanager,) = config["alerting"]["alertmanagers"][0]["static_configs"]
    alertmanager["targets"] = [f"127.0.0.1:{free_port()}"]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    shutil.copy2(monitoring / "prometheus" / "rules.yml", directory / "rules.yml")
    return path


@pytest.fixture(scope="module")
def serving_build(
    rendered_variant: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Build:
    """The kustomize base of the default project: its canary analysis's Prometheus checks."""
    base = rendered_variant("defaults") / "deploy" / "k8s" / "base"
    return kustomize(base, tmp_path_factory.mktemp("kustomize") / "base.yaml", "defaults", "base")


@pytest.fixture(scope="module")
def prometheus(
    monitoring: Path, service: Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    binary = tool("prometheus", "prometheus")
    directory = tmp_path_factory.mktemp("prometheus")
    config = write_prometheus_config(monitoring, directory, service)
    port = free_port()
    command = [binary, f"--config.file={config}", f"--storage.tsdb.path={directory / 'tsdb'}"]
    command += [f"--web.listen-address=127.0.0.1:{port}"]
    with server_process(command, directory, directory / "prometheus.log", "/-/ready", port):
        yield Prometheus(port)


def evaluated_after(rule: dict[str, Any], moment: float) -> bool:
    """Whether RULE's last evaluation started after MOMENT (seconds since the epoch)."""
    return datetime.fromisoformat(rule["lastEvaluation"]).astimezone(UTC).timestamp() > moment


@dataclass(frozen=True)
class DriftSeen:
    statuses: Counter[int]
    scores: dict[str, float]
    p_values: dict[str, float]
    drift_alerts: list[dict[str, Any]]


@pytest.fixture(scope="module")
def golden_traffic(
    service: Service, prometheus: Prometheus, golden_instances: list[dict[str, Any]]
) -> DriftSeen:
    """One window of golden rows (the service's first), scored, scraped and evaluated."""
    statuses = service.predict_in_batches(golden_instances)
    features = set(golden_instances[0])
    assert wait_for(
        lambda: (
            set(prometheus.by_feature("feature_drift_p_value", service)) == features
            and set(prometheus.by_feature("feature_drift_score", service)) == features
        ),
        SETTLE_SECONDS,
    ), f"Prometheus has no drift sample of every feature in {features}"
    scraped = time.time()
    # An evaluation that started an interval after the scrape reads its samples.
    seen_at = scraped + SCRAPE_AND_EVALUATION_INTERVAL_SECONDS
    assert wait_for(
        lambda: evaluated_after(prometheus.rule(DRIFT_ALERT), seen_at), SETTLE_SECONDS
    ), f"{DRIFT_ALERT} was not evaluated after the golden window was scraped"
    seen = DriftSeen(
        statuses,
        prometheus.by_feature("feature_drift_score", service),
        prometheus.by_feature("feature_drift_p_value", service),
        prometheus.alerts(DRIFT_ALERT),
    )
    logger.info("golden window: drift scores %s, p-values %s", seen.scores, seen.p_values)
    return seen


def drifted_values(instances: list[dict[str, Any]]) -> dict[str, Any]:
    """The first numeric feature at its largest golden value, the first categorical feature at
    its rarest golden category: valid values, far from the training distribution."""
    numeric = next(name for name, value in instances[0].items() if isinstance(value, float))
    categorical = next(name for name, value in instances[0].items() if isinstance(value, str))
    categories = Counter(instance[categorical] for instance in instances)
    rarest = min(categories, key=lambda category: categories[category])
    return {numeric: max(instance[numeric] for instance in instances), categorical: rarest}


@dataclass(frozen=True)
class DriftFired:
    drifted: dict[str, Any]
    seen: DriftSeen
    seconds_to_firing: float | None


@pytest.fixture(scope="module")
def drifted_traffic(
    service: Service,
    prometheus: Prometheus,
    golden_instances: list[dict[str, Any]],
    golden_traffic: DriftSeen,
) -> DriftFired:
    """Golden rows with two features moved, several windows, until the drift alert fires."""
    drifted = drifted_values(golden_instances)
    instances = [{**instance, **drifted} for instance in golden_instances] * DRIFTED_WINDOWS
    started = time.monotonic()
    statuses = service.predict_in_batches(instances)

    def firing_for_every_drifted_feature() -> bool:
        alerts = prometheus.alerts(DRIFT_ALERT)
        firing = {alert["labels"]["feature_name"] for alert in alerts}
        return set(drifted) <= firing and {alert["state"] for alert in alerts} == {"firing"}

    fired = wait_for(firing_for_every_drifted_feature, FIRING_SECONDS)
    seconds_to_firing = time.monotonic() - started if fired else None
    seen = DriftSeen(
        statuses,
        prometheus.by_feature("feature_drift_score", service),
        prometheus.by_feature("feature_drift_p_value", service),
        prometheus.alerts(DRIFT_ALERT),
    )
    logger.info(
        "drifted %s: firing after %s s, drift scores %s, p-values %s",
        drifted,
        seconds_to_firing,
        seen.scores,
        seen.p_values,
    )
    return DriftFired(drifted, seen, seconds_to_firing)


@pytest.fixture(scope="module")
def rejected_statuses(service: Service, golden_instances: list[dict[str, Any]]) -> list[int]:
    """An unknown category and an out-of-range number, so the failure counters have series."""
    valid = golden_instances[0]
    categorical = next(name for name, value in valid.items() if isinstance(value, str))
    numeric = next(name for name, value in valid.items() if isinstance(value, float))
    return [
        service.predict([{**valid, categorical: "United States"}]),
        service.predict([{**valid, numeric: 57.0}]),
    ]


def test_prometheus_scrapes_the_service(prometheus: Prometheus, service: Service) -> None:
    def targets() -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = prometheus.data("/api/v1/targets")["activeTargets"]
        return [target for target in active if target["labels"]["job"] == SCRAPE_JOB]

    assert wait_for(lambda: [t["health"] for t in targets()] == ["up"], SETTLE_SECONDS), targets()
    (target,) = targets()
    assert target["labels"]["instance"] == service.instance
    assert target["scrapeUrl"] == f"http://{service.instance}/metrics"
    assert target["lastError"] == ""


def test_golden_traffic_fires_no_drift_alert(
    golden_traffic: DriftSeen, golden_instances: list[dict[str, Any]]
) -> None:
    assert golden_traffic.statuses.total() == len(golden_instances) // ROWS_PER_REQUEST
    assert set(golden_traffic.statuses) == {200}, golden_traffic.statuses
    assert golden_traffic.drift_alerts == [], (golden_traffic.scores, golden_traffic.p_values)


def test_the_canary_analysis_passes_the_healthy_service(
    prometheus: Prometheus, golden_traffic: DriftSeen, serving_build: Build
) -> None:
    """Each Prometheus check of the canary analysis, for the service's pod-template hash, answers
    one sample (none would be an Argo Rollouts error) and its success condition holds."""
    checks = canary_metric_checks(serving_build, CANARY_HASH)
    answers: dict[str, list[dict[str, Any]]] = {}

    def every_check_answers_one_sample() -> bool:
        answers.update({name: prometheus.query(query) for name, (query, _) in checks.items()})
        return all(len(samples) == 1 for samples in answers.values())

    wait_for(every_check_answers_one_sample, SETTLE_SECONDS)
    values = {}
    for name, (query, passes) in checks.items():
        assert len(answers[name]) == 1, f"{name}: {answers[name]} from {query}"
        values[name] = float(answers[name][0]["value"][1])
        assert passes(values[name]), f"{name}: {values[name]} fails its condition, from {query}"
    logger.info("canary checks of the healthy service: %s", values)
    # Another hash's pods have no series here: the checks read nothing but the canary's own.
    for name, (query, _) in canary_metric_checks(serving_build, OTHER_HASH).items():
        others = prometheus.query(query)
        assert all(float(sample["value"][1]) == 0 for sample in others), (name, others)


def test_drifted_traffic_fires_the_drift_alert_for_the_drifted_features(
    drifted_traffic: DriftFired, golden: dict[str, Any]
) -> None:
    seen = drifted_traffic.seen
    assert set(seen.statuses) == {200}, seen.statuses
    assert drifted_traffic.seconds_to_firing is not None, (
        f"{DRIFT_ALERT} did not fire within {FIRING_SECONDS} s: alerts {seen.drift_alerts}, "
        f"drift scores {seen.scores}, p-values {seen.p_values}"
    )
    firing = {alert["labels"]["feature_name"]: alert for alert in seen.drift_alerts}
    assert set(firing) == set(drifted_traffic.drifted), "untouched features must not alert"
    for alert in firing.values():
        assert alert["labels"]["model_version"] == golden["model_version"]
        assert alert["state"] == "firing"
        assert alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["summary"].startswith(
            f"Feature {alert['labels']['feature_name']} drifted"
        )


def test_every_rule_evaluates_without_error(
    prometheus: Prometheus, monitoring: Path, drifted_traffic: DriftFired
) -> None:
    rules = prometheus.rules()
    assert {rule["name"] for rule in rules} == {
        rule["alert"] for rule in alerting_rules(monitoring)
    }
    unhealthy = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert not unhealthy


def test_every_dashboard_query_evaluates_to_data(
    prometheus: Prometheus,
    monitoring: Path,
    drifted_traffic: DriftFired,
    rejected_statuses: list[int],
) -> None:
    assert rejected_statuses == [400, 400]
    dashboard = dashboard_of(monitoring)
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    # Grafana's "All" choice of the instance variable.
    instances = variables["instance"]["allValue"]
    queries = {
        f"{panel['title']}: {target['expr']}": target["expr"]
        .replace("$instance", instances)
        .replace("$__rate_interval", RATE_INTERVAL)
        for panel in panels_of(dashboard)
        for target in panel["targets"]
    }
    errors: dict[str, Any] = {}
    empty = dict(queries)

    def every_query_has_data() -> bool:
        for name, expression in list(empty.items()):
            document = prometheus.response("/api/v1/query", {"query": expression})
            if document["status"] != "success":
                errors[name] = document.get("error")
                del empty[name]
            elif document["data"]["result"]:
                del empty[name]
        return not empty

    # The rejected requests' counters appear now: rate() needs two scrapes of them.
    wait_for(every_query_has_data, SETTLE_SECONDS)
    assert not errors
    assert not empty, f"no data for {sorted(empty)}"


def test_the_instance_variable_lists_the_service(
    prometheus: Prometheus, monitoring: Path, service: Service
) -> None:
    variables = {var["name"]: var for var in dashboard_of(monitoring)["templating"]["list"]}
    label_values = re.fullmatch(
        r"label_values\((\w+),\s*(\w+)\)", variables["instance"]["query"]["query"]
    )
    assert label_values is not None, variables["instance"]
    metric, label = label_values.groups()
    path = f"/api/v1/label/{quote(label)}/values"
    assert wait_for(
        lambda: service.instance in prometheus.data(path, {"match[]": metric}), SETTLE_SECONDS
    ), prometheus.data(path, {"match[]": metric})
