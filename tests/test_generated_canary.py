"""The generated progressive delivery (deploy/k8s/base: rollout.yaml, canary-services.yaml,
analysis-templates.yaml): the Rollout drives the serving Deployment's pods, its analyses name
templates that exist with the arguments they declare, the canary's Prometheus checks hold the
thresholds of the project's alerts, and the golden-set analysis's own command, run against two
real services, passes a canary that serves the same model and fails one that serves another.

test_generated_prometheus.py evaluates the Prometheus checks against a real Prometheus.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import test_generated_kubernetes
from tests.dockerfile_support import read_dockerfile
from tests.helpers import child_environment, free_port, read_answers, run_command
from tests.kubernetes_support import (
    Build,
    PodTemplate,
    argument_value,
    local_command,
    selects,
)
from tests.service_process import server_process
from tests.test_generated_kubernetes import OVERLAYS

logger = logging.getLogger(__name__)

TRAINING_ONLY = "training-only-cuda12.6"
CANARY_METRICS = "serving-canary-metrics"
GOLDEN_SET = "serving-golden-set"
# The label Argo Rollouts puts on each side's pods; Prometheus Operator's podTargetLabels copies
# it onto every series of the pod, its name sanitized as a Prometheus label name.
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"
POD_TEMPLATE_HASH_LABEL = re.sub(r"[^a-zA-Z0-9_]", "_", POD_TEMPLATE_HASH)
ARGUMENT = re.compile(r"\{\{\s*args\.([\w-]+)\s*\}\}")
PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
# Argo Rollouts' successCondition on a one-sample Prometheus answer: `result[0] <op> <number>`.
CONDITION = re.compile(r"result\[0\]\s*(<=|>=|==|<|>)\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)")
# An alert's comparison with a number in its PromQL (durations in [5m] do not match).
ALERT_COMPARISON = re.compile(r"(?<![=!<>])(<=|>=|==|!=|<|>)\s*([-+]?\d+(?:\.\d+)?)(?![\w.])")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
    "!=": operator.ne,
}
# Each check of the canary's own series and the alert of rules.yml it stands for.
ALERT_OF_METRIC = {
    "p99-latency": "PredictionLatencyP99High",
    "label-share": "PredictionLabelSkew",
    "non-finite-outputs": "NonFiniteOutputs",
}
MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
LATENCY_MEASURE = "p99 latency ratio"
# The perturbed candidate: the trained weights plus seeded Gaussian noise, written by the
# project's own code so that its metadata and hash are what `serve` expects.
PERTURB_SCRIPT = """
import sys
from pathlib import Path

import torch

from {package}.model.weights import load_model, save_model

source, target = Path(sys.argv[1]), Path(sys.argv[2])
seed, scale = int(sys.argv[3]), float(sys.argv[4])
loaded = load_model(source)
noise = torch.Generator().manual_seed(seed)
with torch.no_grad():
    for parameter in loaded.network.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=noise), alpha=scale)
save_model(loaded.network, target, loaded.metadata)
"""
NOISE_SEED = 20261204
NOISE_SCALE = 0.2


# --- Shared with test_generated_prometheus.py ------------------------------------------------


def name_prefix(build: Build) -> str:
    """The project's name prefix, as the training Job's name carries it."""
    return str(build.one("Job")["metadata"]["name"]).removesuffix("train")


def analysis_template(build: Build, short_name: str) -> dict[str, Any]:
    """The AnalysisTemplate named SHORT_NAME after the project's prefix."""
    name = name_prefix(build) + short_name
    (found,) = [t for t in build.of_kind("AnalysisTemplate") if t["metadata"]["name"] == name]
    return found


def with_arguments(text: str, values: dict[str, str]) -> str:
    """TEXT with each `{{args.NAME}}` replaced by VALUES[NAME], as Argo Rollouts resolves it."""
    return ARGUMENT.sub(lambda match: values[match[1]], text)


def success_condition(condition: str) -> Callable[[float], bool]:
    """A `result[0] <op> <number>` successCondition as a predicate on the first sample."""
    parsed = CONDITION.fullmatch(condition.strip())
    assert parsed is not None, f"{condition!r} is not `result[0] <op> <number>`"
    compare, threshold = COMPARISONS[parsed[1]], float(parsed[2])
    return lambda value: compare(value, threshold)


def canary_metric_checks(
    build: Build, canary_hash: str
) -> dict[str, tuple[str, Callable[[float], bool]]]:
    """Each Prometheus metric of the canary-metrics template: its query for the pods of
    CANARY_HASH and its success condition."""
    template = analysis_template(build, CANARY_METRICS)
    return {
        metric["name"]: (
            with_arguments(metric["provider"]["prometheus"]["query"], {"canary-hash": canary_hash}),
            success_condition(metric["successCondition"]),
        )
        for metric in template["spec"]["metrics"]
    }


# --- Builds and helpers ----------------------------------------------------------------------

# The Kubernetes tests' fixtures: the kustomize build of a variant's overlay, built once, and
# every overlay of the defaults variant.
built = test_generated_kubernetes.built
serving_build = test_generated_kubernetes.serving_build


def _serving_pod(build: Build) -> PodTemplate:
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "Deployment"]
    return pod


def _canary(build: Build) -> dict[str, Any]:
    canary: dict[str, Any] = build.one("Rollout")["spec"]["strategy"]["canary"]
    return canary


def _analyses(build: Build) -> list[dict[str, Any]]:
    """The background analysis, then each step's, in the order they run."""
    canary = _canary(build)
    steps = [step["analysis"] for step in canary.get("steps", []) if "analysis" in step]
    return [canary["analysis"], *steps] if "analysis" in canary else steps


def _golden_set_step(build: Build) -> dict[str, Any]:
    """The step analysis that runs the golden-set template."""
    name = name_prefix(build) + GOLDEN_SET
    (step,) = [
        analysis
        for analysis in _analyses(build)[1:]
        if [template["templateName"] for template in analysis["templates"]] == [name]
    ]
    return step


def _step_arguments(analysis: dict[str, Any]) -> dict[str, str]:
    return {argument["name"]: argument["value"] for argument in analysis.get("args", [])}


def _golden_set_pod(build: Build) -> PodTemplate:
    name = f"AnalysisTemplate/{name_prefix(build)}{GOLDEN_SET}/"
    (pod,) = [pod for pod in build.pod_templates() if pod.owner.startswith(name)]
    return pod


def _declared(template: dict[str, Any]) -> tuple[set[str], set[str]]:
    """A template's arguments: all of them, and those without a default value."""
    arguments = template["spec"].get("args", [])
    every = {argument["name"] for argument in arguments}
    return every, {a["name"] for a in arguments if "value" not in a and "valueFrom" not in a}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _copied_into_the_serving_image(project: Path) -> set[str]:
    """The paths of the files the Dockerfile's default target (its last stage) copies from the
    build context into a directory."""
    copied = set()
    for instruction in read_dockerfile(project / "Dockerfile")[-1].all("COPY"):
        *sources, destination = instruction.arguments.split()
        if destination.endswith("/") and not sources[0].startswith("--"):
            copied |= {destination + Path(source).name for source in sources}
    return copied


def _memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (e.g. 1Gi, 768Mi, 512M) in bytes."""
    parsed = re.fullmatch(r"(\d+)([KMG]i?)?", quantity)
    assert parsed is not None, f"{quantity!r}: not a memory quantity in bytes, K, M, G, Ki, Mi, Gi"
    return int(parsed[1]) * MEMORY_UNITS.get(parsed[2] or "", 1)


# --- The Rollout and its Services ------------------------------------------------------------


def test_the_rollout_drives_the_serving_deployments_pods(serving_build: Build) -> None:
    rollout = serving_build.one("Rollout")
    deployment = serving_build.one("Deployment")
    assert rollout["spec"]["workloadRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
        "scaleDown": rollout["spec"]["workloadRef"]["scaleDown"],
    }
    assert "template" not in rollout["spec"], "the pod template stays in the Deployment"
    assert rollout["spec"]["selector"] == deployment["spec"]["selector"]
    assert selects(
        rollout["spec"]["selector"]["matchLabels"], _serving_pod(serving_build).metadata["labels"]
    )


@pytest.mark.parametrize("side", ["stableService", "canaryService"])
def test_the_stable_and_canary_services_select_the_serving_pods_unscraped(
    serving_build: Build, side: str
) -> None:
    name = _canary(serving_build)[side]
    (service,) = [s for s in serving_build.of_kind("Service") if s["metadata"]["name"] == name]
    pod = _serving_pod(serving_build)
    assert selects(service["spec"]["selector"], pod.metadata["labels"])
    for other in serving_build.pod_templates():
        if other.owner != pod.owner:
            assert not selects(service["spec"]["selector"], other.metadata["labels"]), other.owner
    # The ServiceMonitor scrapes the pods through the `serving` Service only: not twice.
    monitor = serving_build.one("ServiceMonitor")
    assert not selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    component = "app.kubernetes.io/component"
    assert service["metadata"]["labels"][component] != pod.metadata["labels"][component]
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in pod.container("server")["ports"]}


def test_the_stable_and_canary_services_are_two(serving_build: Build) -> None:
    canary = _canary(serving_build)
    served = name_prefix(serving_build) + "serving"
    assert len({canary["stableService"], canary["canaryService"], served}) == 3


# --- The analyses and their templates --------------------------------------------------------


def test_every_analysis_names_built_templates_with_their_arguments(serving_build: Build) -> None:
    templates = {t["metadata"]["name"]: t for t in serving_build.of_kind("AnalysisTemplate")}
    analyses = _analyses(serving_build)
    assert len(analyses) == 2, "the canary's metrics in the background, the golden set in a step"
    named = set()
    for analysis in analyses:
        every: set[str] = set()
        required: set[str] = set()
        for reference in analysis["templates"]:
            assert reference["templateName"] in templates, reference
            named.add(reference["templateName"])
            declared, without_default = _declared(templates[reference["templateName"]])
            every |= declared
            required |= without_default
        passed = [argument["name"] for argument in analysis.get("args", [])]
        assert len(passed) == len(set(passed)), passed
        assert required <= set(passed) <= every, (analysis["templates"], passed)
    assert named == set(templates), "every AnalysisTemplate is run by the Rollout"


def test_every_placeholder_names_a_declared_argument(serving_build: Build) -> None:
    for template in serving_build.of_kind("AnalysisTemplate"):
        declared, _ = _declared(template)
        texts = list(_strings(template["spec"].get("metrics", [])))
        placeholders = [found for text in texts for found in PLACEHOLDER.findall(text)]
        assert placeholders, template["metadata"]["name"]
        assert all(ARGUMENT.fullmatch(p) for p in placeholders), placeholders
        used = {name for text in texts for name in ARGUMENT.findall(text)}
        assert used == declared, (template["metadata"]["name"], used, declared)


def test_every_metric_aborts_on_its_first_failure(serving_build: Build) -> None:
    for template in serving_build.of_kind("AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            assert metric["failureLimit"] == 0, (template["metadata"]["name"], metric["name"])


def test_the_background_analysis_queries_the_canarys_own_series(serving_build: Build) -> None:
    monitor = serving_build.one("ServiceMonitor")
    assert POD_TEMPLATE_HASH in monitor["spec"]["podTargetLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    (job,) = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    background = _canary(serving_build)["analysis"]
    assert background["args"] == [
        {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
    ]
    for metric in analysis_template(serving_build, CANARY_METRICS)["spec"]["metrics"]:
        query = metric["provider"]["prometheus"]["query"]
        selectors = re.findall(r"\{([^{}]*)\}", ARGUMENT.sub("HASH", query))
        assert selectors, metric["name"]
        for selector in selectors:
            assert f'{POD_TEMPLATE_HASH_LABEL}="HASH"' in selector, (metric["name"], selector)
            assert f'job="{job}"' in selector, (metric["name"], selector)


def _alert_threshold(rules_file: Path, alert: str) -> tuple[str, float]:
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == alert]
    (comparison,) = ALERT_COMPARISON.findall(rule["expr"])
    return comparison[0], float(comparison[1])


@pytest.mark.parametrize(("metric_name", "alert"), sorted(ALERT_OF_METRIC.items()))
def test_the_canary_passes_exactly_where_the_alert_stays_quiet(
    serving_build: Build, rendered_variant: Callable[[str], Path], metric_name: str, alert: str
) -> None:
    rules_file = rendered_variant("defaults") / "monitoring" / "prometheus" / "rules.yml"
    comparison, threshold = _alert_threshold(rules_file, alert)
    (metric,) = [
        m
        for m in analysis_template(serving_build, CANARY_METRICS)["spec"]["metrics"]
        if m["name"] == metric_name
    ]
    passes = success_condition(metric["successCondition"])
    fires = COMPARISONS[comparison]
    # The values around the threshold that the measured quantity (a share, a count, seconds:
    # never negative) can take.
    values = [v for v in (threshold - 1e-6, threshold, threshold + 1e-6, 0.0) if v >= 0]
    for value in values:
        assert passes(value) is not fires(value, threshold), (
            f"{metric_name} {metric['successCondition']!r} vs {alert} `{comparison} "
            f"{threshold}` at {value}"
        )


# --- The golden-set analysis ------------------------------------------------------------------


def test_the_golden_set_job_compares_the_services_the_step_names(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    canary = _canary(serving_build)
    passed = _step_arguments(_golden_set_step(serving_build))
    container = _golden_set_pod(serving_build).container("golden-set")
    arguments = container["args"]
    assert arguments[0] == "canary"
    baseline = with_arguments(argument_value(arguments, "--baseline"), passed)
    candidate = with_arguments(argument_value(arguments, "--candidate"), passed)
    assert baseline == f"http://{canary['stableService']}"
    assert candidate == f"http://{canary['canaryService']}"
    server = _serving_pod(serving_build).container("server")
    # The serving image: its golden set is that of the model the canary serves.
    assert container["image"] == server["image"]
    assert container["command"] == server["command"]
    golden = argument_value(arguments, "--golden")
    assert golden in _copied_into_the_serving_image(rendered_variant("defaults")), golden


def test_the_golden_set_job_has_its_memory_reserved(serving_build: Build) -> None:
    resources = _golden_set_pod(serving_build).container("golden-set")["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"]


def test_a_project_without_the_service_has_no_rollout(built: Callable[[str, str], Build]) -> None:
    for overlay in OVERLAYS:
        build = built(TRAINING_ONLY, overlay)
        kinds = {document["kind"] for document in build.documents}
        assert not kinds & {"Rollout", "AnalysisTemplate"}, (overlay, kinds)
        names = {document["metadata"]["name"] for document in build.documents}
        assert not {name for name in names if name.endswith(("-stable", "-canary"))}, names


# --- The golden-set command against two real services -----------------------------------------


@dataclass(frozen=True)
class Verdict:
    returncode: int
    output: str
    peak_rss_bytes: int

    @property
    def measures(self) -> dict[str, tuple[float, float, str]]:
        """Each measure the command printed: its value, its limit and its verdict."""
        found = re.findall(
            r"^(.+) ([-+.\deE]+|nan|inf)[^(\n]* \(max ([^)]+)\): (ok|FAIL)$",
            self.output,
            flags=re.MULTILINE,
        )
        return {name: (float(value), float(limit), v) for name, value, limit, v in found}

    @property
    def divergence(self) -> tuple[str, tuple[float, float, str]]:
        (found,) = [item for item in self.measures.items() if item[0] != LATENCY_MEASURE]
        return found


@pytest.fixture(scope="module")
def clone(reproduced_project: tuple[Path, str]) -> Path:
    return reproduced_project[0]


@pytest.fixture(scope="module")
def perturbed_models(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model with noise on its weights, with its own golden set (`serve` checks the
    set belongs to the model it loads) and the training drift reference."""
    directory = tmp_path_factory.mktemp("perturbed") / "models"
    directory.mkdir()
    python = clone / ".venv" / "bin" / "python"
    package = read_answers(clone)["package_name"]
    script = PERTURB_SCRIPT.format(package=package)
    models = clone / "models"
    arguments: list[str | Path] = [models, directory, str(NOISE_SEED), str(NOISE_SCALE)]
    perturbed = run_command([python, "-c", script, *arguments], clone, timeout=300)
    assert perturbed.returncode == 0, perturbed.stderr
    shutil.copy2(models / "drift_reference.parquet", directory)
    golden = [python, "-m", package, "golden", "--model-directory", directory]
    recorded = run_command([*golden, "--output", directory / "golden.json"], clone, timeout=300)
    assert recorded.returncode == 0, recorded.stderr
    return directory


@dataclass(frozen=True)
class Services:
    baseline: int
    twin: int  # the same model, another process
    perturbed: int


@pytest.fixture(scope="module")
def services(
    clone: Path, perturbed_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """Three `serve` processes on free ports: the trained model twice, the perturbed one once."""
    logs = tmp_path_factory.mktemp("canary-services")
    package = read_answers(clone)["package_name"]
    python = clone / ".venv" / "bin" / "python"
    models = {"baseline": clone / "models", "twin": clone / "models", "perturbed": perturbed_models}
    ports = {name: free_port() for name in models}
    with contextlib.ExitStack() as stack:
        for name, directory in models.items():
            command = [str(python), "-m", package, "serve", "--port", str(ports[name])]
            command += ["--device", "cpu", "--model-directory", str(directory)]
            log = logs / f"{name}.log"
            stack.enter_context(server_process(command, clone, log, "/health/ready", ports[name]))
        yield Services(**ports)


def run_golden_set_job(
    build: Build, clone: Path, baseline: int, candidate: int, candidate_models: Path
) -> Verdict:
    """The golden-set Job's container, as the step runs it, on this machine: the stable and the
    canary Service's addresses are BASELINE's and CANDIDATE's ports, /app/models the candidate's
    model directory (the Job runs the canary's image), python the project's."""
    canary = _canary(build)
    addresses = {
        canary["stableService"]: f"127.0.0.1:{baseline}",
        canary["canaryService"]: f"127.0.0.1:{candidate}",
    }
    passed = {
        name: addresses[value] for name, value in _step_arguments(_golden_set_step(build)).items()
    }
    container = _golden_set_pod(build).container("golden-set")
    resolved = {**container, "args": [with_arguments(a, passed) for a in container["args"]]}
    command = local_command(
        resolved, clone / ".venv" / "bin", {"/app/models": candidate_models}, {}
    )
    with subprocess.Popen(
        command,
        cwd=clone,
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4, not wait: the child's own peak resident memory comes with its exit status.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return Verdict(process.returncode, output, usage.ru_maxrss * 1024)


@pytest.mark.slow
def test_the_golden_set_job_passes_a_canary_of_the_same_model(
    built: Callable[[str, str], Build], clone: Path, services: Services
) -> None:
    build = built("defaults", "base")
    verdict = run_golden_set_job(build, clone, services.baseline, services.twin, clone / "models")
    logger.info("same model: %s, peak RSS %d MiB", verdict.measures, verdict.peak_rss_bytes >> 20)
    memory = _golden_set_pod(build).container("golden-set")["resources"]["limits"]["memory"]
    assert verdict.peak_rss_bytes < _memory_bytes(memory), (
        f"the golden-set command peaked at {verdict.peak_rss_bytes >> 20} MiB, "
        f"over the Job's memory limit {memory}"
    )
    assert verdict.returncode == 0, verdict.output
    assert verdict.output.splitlines()[-1] == "PASS", verdict.output
    assert {v for _, _, v in verdict.measures.values()} == {"ok"}, verdict.output


@pytest.mark.slow
def test_the_golden_set_job_fails_a_canary_whose_outputs_diverge(
    built: Callable[[str, str], Build], clone: Path, services: Services, perturbed_models: Path
) -> None:
    build = built("defaults", "base")
    verdict = run_golden_set_job(
        build, clone, services.baseline, services.perturbed, perturbed_models
    )
    logger.info("perturbed model: %s", verdict.measures)
    assert verdict.returncode == 1, verdict.output
    assert verdict.output.splitlines()[-1] == "FAIL", verdict.output
    _, (divergence, limit, outcome) = verdict.divergence
    assert outcome == "FAIL" and divergence > limit, verdict.output
