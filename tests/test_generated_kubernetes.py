"""The generated deploy/k8s/: every overlay builds with kustomize, its built-in kinds pass
`kubernetes-validate --strict`, checkov finds nothing, and the settings that keep the service
and training safe are where they must be. The custom resources (ServiceMonitor, PrometheusRule,
PyTorchJob) have no schema there: they get structural checks of their own here.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import child_environment, free_port, http_status, read_answers, run_command
from tests.kubernetes_support import (
    CUSTOM_KINDS,
    KUBERNETES_VERSION,
    Build,
    PodTemplate,
    argument_value,
    checkov,
    environment_tool,
    kustomize,
    local_command,
    selects,
)
from tests.rendering import render_variant

KUBERNETES_VARIANTS = ("defaults", "training-only-cuda12.6")
OVERLAYS = ("base", "overlays/dev", "overlays/prod", "overlays/gpu")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
SERVING_KINDS = Counter(
    {
        ("Deployment", "serving"): 1,
        ("Service", "serving"): 1,
        ("HorizontalPodAutoscaler", "serving"): 1,
        ("PodDisruptionBudget", "serving"): 1,
        ("NetworkPolicy", "serving"): 1,
        ("ServiceMonitor", "serving"): 1,
        ("PrometheusRule", "serving-alerts"): 1,
    }
)
TRAINING_KINDS = Counter(
    {
        ("NetworkPolicy", "training"): 1,
        ("PersistentVolumeClaim", "train-checkpoints"): 1,
        ("PersistentVolumeClaim", "train-models"): 1,
        ("PersistentVolumeClaim", "train-multinode-checkpoints"): 1,
        ("PersistentVolumeClaim", "train-multinode-models"): 1,
        ("Job", "train"): 1,
        ("PyTorchJob", "train-multinode"): 1,
    }
)
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


# --- Builds, once per session ------------------------------------------------------------------


@pytest.fixture(scope="session")
def built(
    rendered_variant: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Build]:
    """`kubectl kustomize` of an overlay of a rendered variant, built once."""
    outputs = tmp_path_factory.mktemp("kustomize")
    builds: dict[tuple[str, str], Build] = {}

    def build(variant: str, overlay: str) -> Build:
        if (variant, overlay) not in builds:
            directory = rendered_variant(variant) / "deploy" / "k8s" / overlay
            output = outputs / variant / f"{Path(overlay).name}.yaml"
            builds[variant, overlay] = kustomize(directory, output, variant, overlay)
        return builds[variant, overlay]

    return build


@pytest.fixture(scope="session")
def every_overlay(built: Callable[[str, str], Build]) -> Callable[[str], list[Build]]:
    """All overlays of a variant, built; their outputs share one directory."""
    return lambda variant: [built(variant, overlay) for overlay in OVERLAYS]


@pytest.fixture(params=KUBERNETES_VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=OVERLAYS, ids=lambda overlay: Path(overlay).name)
def build(
    request: pytest.FixtureRequest, variant: str, built: Callable[[str, str], Build]
) -> Build:
    return built(variant, str(request.param))


@pytest.fixture(params=OVERLAYS, ids=lambda overlay: Path(overlay).name)
def serving_build(request: pytest.FixtureRequest, built: Callable[[str, str], Build]) -> Build:
    """An overlay of the variant with the service (the defaults)."""
    return built("defaults", str(request.param))


def _package(project: Path) -> str:
    return str(read_answers(project)["package_name"])


def _short_names(build: Build) -> Counter[tuple[str, str]]:
    """(kind, name without the project's prefix) of every object built."""
    job = build.one("Job")["metadata"]
    prefix = job["name"].removesuffix("train")
    assert prefix == f"{job['namespace']}-", "names start with the project's, as the namespace"
    return Counter(
        (document["kind"], document["metadata"]["name"].removeprefix(prefix))
        for document in build.documents
    )


# --- The file set and the builds ---------------------------------------------------------------


def test_no_kubernetes_files_without_k8s(rendered_variant: Callable[[str], Path]) -> None:
    project = rendered_variant("serving-without-k8s")
    package = _package(project)
    assert not (project / "deploy").exists()
    assert not (project / "src" / package / "prometheus_rule.py").exists()
    assert not (project / "tests" / "test_prometheus_rule.py").exists()
    assert "prometheus-rule" not in (project / "src" / package / "cli.py").read_text("utf-8")


def test_the_prometheus_rule_command_exists_only_with_the_service(
    rendered_variant: Callable[[str], Path],
) -> None:
    with_service = rendered_variant("defaults")
    training_only = rendered_variant("training-only-cuda12.6")
    assert (with_service / "src" / _package(with_service) / "prometheus_rule.py").is_file()
    assert (with_service / "tests" / "test_prometheus_rule.py").is_file()
    assert not (training_only / "deploy" / "k8s" / "base" / "prometheus-rule.yaml").exists()
    assert not (training_only / "src" / _package(training_only) / "prometheus_rule.py").exists()


def test_every_overlay_builds_the_objects_of_its_variant(build: Build) -> None:
    expected = TRAINING_KINDS + (SERVING_KINDS if build.variant == "defaults" else Counter())
    assert _short_names(build) == expected


def _assert_dns_names(build: Build) -> None:
    """One namespace, and every name (and the pod names the operator derives) a DNS label."""
    namespaces = {document["metadata"].get("namespace") for document in build.documents}
    assert len(namespaces) == 1
    (namespace,) = namespaces
    assert namespace is not None and DNS_LABEL.match(namespace), namespace
    for document in build.documents:
        name = document["metadata"]["name"]
        # The operator names a PyTorchJob's pods and services <job>-worker-<index>.
        longest = f"{name}-worker-0" if document["kind"] == "PyTorchJob" else name
        assert DNS_LABEL.match(longest), longest


def test_names_and_namespace_are_dns_labels(build: Build) -> None:
    _assert_dns_names(build)


def test_an_awkward_project_name_still_gives_dns_labels(
    template_repo: Path, tmp_path: Path
) -> None:
    name = "3D.Vision_Model-for-Lead-Scoring-across-Every-Region"  # a digit first, 51 characters
    answers = {"project_name": name, "package_name": "vision_model"}
    project = render_variant(template_repo, tmp_path / "p", answers)
    build = kustomize(project / "deploy/k8s/base", tmp_path / "base.yaml", "awkward", "base")
    namespace = build.one("Job")["metadata"]["namespace"]
    assert namespace.startswith("ml-3d-vision-model"), namespace
    _assert_dns_names(build)


# --- kubernetes-validate and checkov, over every overlay of a variant at once ------------------


def test_built_in_kinds_pass_strict_validation(
    variant: str, every_overlay: Callable[[str], list[Build]]
) -> None:
    builds = every_overlay(variant)
    completed = run_command(
        [
            environment_tool("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            *(build.path for build in builds),
        ]
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    built_in = sum(
        1
        for build in builds
        for document in build.documents
        if document["kind"] not in CUSTOM_KINDS
    )
    assert report.count(" passed for resource ") == built_in, report
    unvalidated = set(re.findall(r"Couldn't find schema for kind (\w+)", report))
    present = {d["kind"] for build in builds for d in build.documents} & CUSTOM_KINDS
    assert unvalidated == present, "only the custom resources may go without a schema"


def test_strict_validation_rejects_a_misspelled_field(
    built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """The control: the validator above can fail (an unknown field in a Deployment)."""
    deployment = built("defaults", "base").one("Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    completed = run_command(
        [
            environment_tool("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            path,
        ]
    )
    assert completed.returncode != 0
    assert "replica" in completed.stdout + completed.stderr


def test_checkov_finds_nothing_and_every_skip_has_a_reason(
    variant: str, every_overlay: Callable[[str], list[Build]]
) -> None:
    builds = every_overlay(variant)
    directory = builds[0].path.parent
    assert {build.path.parent for build in builds} == {directory}
    completed = run_command(
        [
            checkov(),
            "--framework",
            "kubernetes",
            "--directory",
            directory,
            "--output",
            "json",
            "--compact",
            "--skip-download",  # no network: no guideline links
        ]
    )
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    passed = sum(r["summary"]["passed"] for r in reports)
    assert not failed, "\n".join(
        f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed
    )
    for check in skipped:
        assert check.get("suppress_comment", "").strip(), (
            f"{check['check_id']}: a skip without a reason"
        )
    # It looked at every overlay's workloads: at least the Job in each, and the Deployment.
    scanned = {Path(c["file_path"]).name for r in reports for c in r["results"]["passed_checks"]}
    assert scanned == {build.path.name for build in builds}
    assert passed > 0
    assert completed.returncode == 0, completed.stderr


def test_checkov_flags_a_container_that_may_write_its_root_filesystem(
    built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """The control: the checkov run above can fail (CKV_K8S_22 on a writable root filesystem)."""
    job = copy.deepcopy(built("training-only-cuda12.6", "base").one("Job"))
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFilesystem"
    ] = False
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job), encoding="utf-8")
    completed = run_command(
        [
            checkov(),
            "--framework",
            "kubernetes",
            "--directory",
            tmp_path,
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ]
    )
    report = json.loads(completed.stdout)
    failed = {check["check_id"] for check in report["results"]["failed_checks"]}
    assert "CKV_K8S_22" in failed, failed
    assert completed.returncode == 1


def test_every_checkov_skip_annotation_carries_a_reason(
    rendered_variant: Callable[[str], Path],
) -> None:
    for variant in KUBERNETES_VARIANTS:
        for path in (rendered_variant(variant) / "deploy").rglob("*.yaml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if "checkov.io/skip" in line:
                    assert re.search(r"checkov\.io/skip\d+:\s*CKV2?_K8S_\d+=\S", line), line


# --- Images ------------------------------------------------------------------------------------


def test_every_image_is_the_project_image_by_digest(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant(build.variant)
    image = f"registry.example.com/{read_answers(project)['project_name'].lower()}"
    images = {container["image"] for pod in build.pod_templates() for container in pod.containers}
    assert images == {f"{image}@{PLACEHOLDER_DIGEST}"}


def test_image_sources_and_the_release_step_agree(rendered_variant: Callable[[str], Path]) -> None:
    for variant in KUBERNETES_VARIANTS:
        project = rendered_variant(variant)
        k8s = project / "deploy" / "k8s"
        image = f"registry.example.com/{read_answers(project)['project_name'].lower()}"
        for path in k8s.rglob("*.yaml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if re.match(r"\s*(-\s*)?image:", line):
                    assert line.split("image:", 1)[1].strip() == f"{image}@{PLACEHOLDER_DIGEST}"
        kustomization = yaml.safe_load((k8s / "base" / "kustomization.yaml").read_text("utf-8"))
        assert kustomization["images"] == [{"name": image, "digest": PLACEHOLDER_DIGEST}]
        release = f"kustomize edit set image {image}=REGISTRY/"
        assert release in (k8s / "README.md").read_text("utf-8")
        assert release in (k8s / "base" / "kustomization.yaml").read_text("utf-8").replace(
            " \\\n#     ", " "
        )


# --- Pod security and resources ----------------------------------------------------------------


def test_every_pod_runs_locked_down(build: Build) -> None:
    pods = build.pod_templates()
    assert pods
    for pod in pods:
        spec = pod.spec
        assert spec["automountServiceAccountToken"] is False, pod.owner
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, pod.owner
        assert pod_security["runAsUser"] == 10001, pod.owner
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, pod.owner
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in pod.containers:
            where = f"{pod.owner} {container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == 10001, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
            (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], where


def test_every_container_has_requests_and_limits(build: Build) -> None:
    for pod in build.pod_templates():
        for container in pod.containers:
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{pod.owner} {container['name']}"


def _main_containers(build: Build) -> dict[str, dict[str, Any]]:
    """The container that does the work in each pod template (init containers aside)."""
    return {pod.owner: pod.spec["containers"][0] for pod in build.pod_templates()}


def test_gpus_only_in_the_gpu_overlay(build: Build) -> None:
    gpu = build.overlay == "overlays/gpu"
    for pod in build.pod_templates():
        main = pod.spec["containers"][0]
        for kind in ("requests", "limits"):
            assert (main["resources"][kind].get("nvidia.com/gpu") == 1) is gpu, pod.owner
        for container in pod.spec.get("initContainers", []):
            assert "nvidia.com/gpu" not in container["resources"]["limits"], pod.owner
        assert ("nodeSelector" in pod.spec) is gpu, pod.owner
        tolerations = pod.spec.get("tolerations", [])
        assert any(t["key"] == "nvidia.com/gpu" for t in tolerations) is gpu, pod.owner
    if build.variant == "defaults":
        arguments = build.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert argument_value(arguments, "--device") == ("cuda" if gpu else "cpu")


# --- The service -------------------------------------------------------------------------------


def _serving_pod(build: Build) -> PodTemplate:
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "Deployment"]
    return pod


def _routes(project: Path) -> set[str]:
    """The paths the generated FastAPI app declares (`@api.get("/path")` and friends)."""
    source = project / "src" / _package(project) / "serve" / "app.py"
    paths = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "post"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("/")
        ):
            paths.add(str(node.args[0].value))
    return paths


def _settings_default(project: Path, field: str) -> float:
    """A default of ServiceSettings, read from the generated source."""
    source = project / "src" / _package(project) / "serve" / "settings.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == field
            and isinstance(node.value, ast.Call)
        ):
            (default,) = [k.value for k in node.value.keywords if k.arg == "default"]
            assert isinstance(default, ast.Constant)
            assert isinstance(default.value, int | float), default.value
            return float(default.value)
    raise AssertionError(f"{field} not found in {source}")


def test_probes_hit_paths_and_ports_the_service_has(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    container = _serving_pod(serving_build).container("server")
    port = int(argument_value(container["args"], "--port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    routes = _routes(rendered_variant("defaults"))
    expected = {"startupProbe": "/health/live", "readinessProbe": "/health/ready"}
    expected["livenessProbe"] = "/health/live"
    for probe, path in expected.items():
        http = container[probe]["httpGet"]
        assert http["path"] == path and path in routes, probe
        assert ports.get(http["port"], http["port"]) == port, probe
    assert container["command"] == ["python", "-m", _package(rendered_variant("defaults"))]
    assert container["args"][0] == "serve"
    assert argument_value(container["args"], "--host") == "0.0.0.0"  # noqa: S104 - in a pod


def test_the_grace_period_covers_the_prestop_the_drain_and_the_graceful_shutdown(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    pod = _serving_pod(serving_build)
    container = pod.container("server")
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = float(argument_value(container["args"], "--drain-seconds"))
    graceful = _settings_default(rendered_variant("defaults"), "graceful_timeout_seconds")
    assert pre_stop > 0 and drain > 0
    assert pod.spec["terminationGracePeriodSeconds"] >= pre_stop + drain + graceful


def test_the_service_selects_the_pods_and_names_their_port(serving_build: Build) -> None:
    pod = _serving_pod(serving_build)
    service = serving_build.one("Service")
    deployment = serving_build.one("Deployment")
    assert selects(service["spec"]["selector"], pod.metadata["labels"])
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    container_ports = {p["name"] for p in pod.container("server")["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    for other in serving_build.pod_templates():
        if other.owner != pod.owner:
            assert not selects(service["spec"]["selector"], other.metadata["labels"]), other.owner


def test_the_service_monitor_scrapes_the_service_as_the_rules_expect(serving_build: Build) -> None:
    monitor = serving_build.one("ServiceMonitor")
    service = serving_build.one("Service")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert "namespaceSelector" not in monitor["spec"]  # its own namespace, the service's
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # The rules name the scrape job (ModelNotReady): the job label must be that name.
    rules = yaml.dump(serving_build.one("PrometheusRule")["spec"])
    (job,) = set(re.findall(r'job="([^"]+)"', rules))
    assert {"action": "replace", "targetLabel": "job", "replacement": job} in endpoint[
        "relabelings"
    ]


def test_the_autoscaler_targets_the_deployment(serving_build: Build) -> None:
    autoscaler = serving_build.one("HorizontalPodAutoscaler")
    deployment = serving_build.one("Deployment")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    minimum, maximum = autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]
    expected = {"base": (2, 6), "dev": (1, 1), "prod": (3, 12), "gpu": (3, 12)}
    assert (minimum, maximum) == expected[Path(serving_build.overlay).name]
    cpu = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert cpu, "utilization is measured against the CPU request"


def test_the_disruption_budget_covers_the_serving_pods(serving_build: Build) -> None:
    budget = serving_build.one("PodDisruptionBudget")
    pod = _serving_pod(serving_build)
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selects(selector, pod.metadata["labels"])
    assert selector == serving_build.one("Deployment")["spec"]["selector"]["matchLabels"]
    strict = Path(serving_build.overlay).name in {"prod", "gpu"}
    assert budget["spec"]["maxUnavailable"] == (1 if strict else "50%")


def test_the_prometheus_rule_holds_the_rules_file_exactly(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant("defaults")
    rules = yaml.safe_load((project / "monitoring/prometheus/rules.yml").read_text("utf-8"))
    resource = serving_build.one("PrometheusRule")
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["spec"] == {"groups": rules["groups"]}


# --- Training ----------------------------------------------------------------------------------


def _claims(build: Build) -> dict[str, dict[str, Any]]:
    return {claim["metadata"]["name"]: claim for claim in build.of_kind("PersistentVolumeClaim")}


def _mounted_claim(
    build: Build, pod: PodTemplate, container: dict[str, Any], path: str
) -> dict[str, Any]:
    """The PersistentVolumeClaim mounted at PATH in CONTAINER (the test fails if there is none)."""
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == path]
    assert not mount.get("readOnly", False), f"{pod.owner}: {path} is read-only"
    (volume,) = [v for v in pod.spec["volumes"] if v["name"] == mount["name"]]
    assert "persistentVolumeClaim" in volume, f"{pod.owner}: {path} is not on a claim"
    return _claims(build)[volume["persistentVolumeClaim"]["claimName"]]


def test_the_training_job_checkpoints_to_a_claim_and_retries_preemption(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    package = _package(rendered_variant(build.variant))
    job = build.one("Job")
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "Job"]
    train = pod.container("train")
    assert train["command"] == ["python", "-m", package] and train["args"][0] == "train"
    checkpoints = argument_value(train["args"], "--checkpoint-directory")
    assert _mounted_claim(build, pod, train, checkpoints)["spec"]["accessModes"] == [
        "ReadWriteOnce"
    ]
    _mounted_claim(build, pod, train, argument_value(train["args"], "--model-directory"))
    assert pod.spec["restartPolicy"] == "Never"  # required by podFailurePolicy
    assert pod.spec["terminationGracePeriodSeconds"] >= 60, "time to write a checkpoint"
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["podReplacementPolicy"] == "Failed"
    rules = spec["podFailurePolicy"]["rules"]
    preempted = {"containerName": "train", "operator": "In", "values": [75]}
    assert {"action": "Ignore", "onExitCodes": preempted} in rules
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in rules
    assert {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [2]}} in rules
    data_steps = [c["args"][0] for c in pod.spec["initContainers"]]
    assert data_steps == ["sample", "prepare"]


def test_the_pytorchjob_runs_torchrun_on_a_master_and_workers(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    package = _package(rendered_variant(build.variant))
    job = build.one("PyTorchJob")
    assert job["apiVersion"] == "kubeflow.org/v1"
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert set(replicas) == {"Master", "Worker"}
    assert replicas["Master"]["replicas"] == 1
    assert replicas["Worker"]["replicas"] >= 1
    assert int(job["spec"]["nprocPerNode"]) >= 1
    assert job["spec"]["runPolicy"]["backoffLimit"] >= 1
    (job_pod,) = [pod for pod in build.pod_templates() if pod.kind == "Job"]
    pods = {
        pod.owner.rsplit("/", 1)[1]: pod
        for pod in build.pod_templates()
        if pod.kind == "PyTorchJob"
    }
    for replica, pod in pods.items():
        assert replicas[replica]["restartPolicy"] == "OnFailure", replica
        (container,) = pod.spec["containers"]
        assert container["name"] == "pytorch"  # where the operator looks for the port
        assert container["image"] == job_pod.container("train")["image"]
        assert "pytorchjob-port" in {p["name"] for p in container["ports"]}
        assert container["command"] == ["torchrun"]
        arguments = container["args"]
        assert argument_value(arguments, "--nnodes") == "$(PET_NNODES)"
        assert argument_value(arguments, "--nproc-per-node") == "$(PET_NPROC_PER_NODE)"
        assert argument_value(arguments, "--node-rank") == "$(PET_NODE_RANK)"
        assert argument_value(arguments, "--rdzv-backend") == "static"
        assert argument_value(arguments, "--master-addr") == "$(MASTER_ADDR)"
        assert argument_value(arguments, "--master-port") == "$(MASTER_PORT)"
        # The run id model.json records: the job's name, from the label the operator sets.
        (run_id,) = re.findall(r"^\$\((\w+)\)$", argument_value(arguments, "--rdzv-id"))
        (variable,) = [v for v in container["env"] if v["name"] == run_id]
        assert variable["valueFrom"]["fieldRef"]["fieldPath"] == (
            "metadata.labels['training.kubeflow.org/job-name']"
        )
        module = arguments.index("--module")
        assert arguments[module + 1 : module + 3] == [package, "train"]
        checkpoints = _mounted_claim(
            build, pod, container, argument_value(arguments, "--checkpoint-directory")
        )
        assert checkpoints["spec"]["accessModes"] == ["ReadWriteMany"], "every rank reads them"
        assert pod.spec["terminationGracePeriodSeconds"] >= 60
    # Rank 0, the only writer of the model, runs on the Master: its models are on a claim.
    master = pods["Master"].spec["containers"][0]
    _mounted_claim(
        build, pods["Master"], master, argument_value(master["args"], "--model-directory")
    )


# --- The prometheus-rule command of a generated project ----------------------------------------


@pytest.mark.slow
def test_the_prometheus_rule_command_checks_and_rebuilds(
    generated_project: Callable[[str], Path], tmp_path: Path
) -> None:
    """Run by the generated project's interpreter: its shipped file is what the command builds;
    an edited copy of the rules makes the check fail (exit 1) until it is rebuilt."""
    project = generated_project("defaults")
    command = [
        str(project / ".venv" / "bin" / "python"),
        "-m",
        _package(project),
        "prometheus-rule",
    ]

    def prometheus_rule(*arguments: str) -> subprocess.CompletedProcess[str]:
        return run_command([*command, *arguments], project)

    shipped_bytes = (project / "deploy/k8s/base/prometheus-rule.yaml").read_bytes()
    shipped = prometheus_rule("--check")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    rules, resource = tmp_path / "rules.yml", tmp_path / "prometheus-rule.yaml"
    shutil.copyfile(project / "monitoring/prometheus/rules.yml", rules)
    shutil.copyfile(project / "deploy/k8s/base/prometheus-rule.yaml", resource)
    paths = ("--rules", str(rules), "--output", str(resource))
    document = yaml.safe_load(rules.read_text(encoding="utf-8"))
    document["groups"][0]["rules"][0]["for"] = "30m"
    rules.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    stale = prometheus_rule("--check", *paths)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "stale" in stale.stderr and "prometheus-rule" in stale.stderr
    assert prometheus_rule(*paths).returncode == 0
    assert prometheus_rule("--check", *paths).returncode == 0
    rebuilt = yaml.safe_load(resource.read_text(encoding="utf-8"))
    assert rebuilt["spec"]["groups"][0]["rules"][0]["for"] == "30m"
    assert (project / "deploy/k8s/base/prometheus-rule.yaml").read_bytes() == shipped_bytes


# --- The manifests' commands, run on this machine by the generated project ----------------------


def _small_params(project: Path, destination: Path) -> Path:
    """The project's params.yaml, shortened: a few seconds of training, checkpoints on the way."""
    document = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    document["sample"]["rows"] = 1000
    document["train"].update(epochs=1, device="cpu", checkpoint_every_steps=4)
    document["golden"]["rows"] = 20
    destination.write_text(yaml.safe_dump(document), encoding="utf-8")
    return destination


def _run_container(
    project: Path, container: dict[str, Any], paths: dict[str, Path], env: dict[str, str]
) -> None:
    command = local_command(container, project / ".venv" / "bin", paths, env)
    completed = run_command(command, project, timeout=600)
    assert completed.returncode == 0, f"{command}\n{completed.stdout}\n{completed.stderr}"


@pytest.fixture(scope="module")
def job_run(
    generated_project: Callable[[str], Path],
    built: Callable[[str, str], Build],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The training Job's containers, in order (data steps, then train), as the manifest words
    them, with the generated project's environment; returns where its mounts were."""
    project = generated_project("defaults")
    root = tmp_path_factory.mktemp("job")
    paths = {
        "/app/params.yaml": _small_params(project, root / "params.yaml"),
        "/data": root / "data",
        "/checkpoints": root / "checkpoints",
        "/models": root / "models",
        "/tmp": root / "tmp",
    }
    (pod,) = [pod for pod in built("defaults", "base").pod_templates() if pod.kind == "Job"]
    for container in pod.containers:
        _run_container(project, container, paths, {})
    return paths


@pytest.mark.slow
def test_the_training_jobs_commands_prepare_data_and_train(job_run: dict[str, Path]) -> None:
    models = job_run["/models"]
    for name in ("model.safetensors", "model.json", "drift_reference.parquet"):
        assert (models / name).is_file(), name
    assert list(job_run["/checkpoints"].rglob("step-*.safetensors")), "no checkpoint written"


@pytest.mark.slow
def test_the_pytorchjob_command_trains_with_two_processes(
    generated_project: Callable[[str], Path],
    built: Callable[[str, str], Build],
    job_run: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The Master's torchrun line, with the variables the training operator would set for one
    pod of two processes (gloo on CPU), on the data the Job's steps prepared."""
    project = generated_project("defaults")
    (master,) = [p for p in built("defaults", "base").pod_templates() if p.owner.endswith("Master")]
    env = {
        "PET_NNODES": "1",
        "PET_NPROC_PER_NODE": "2",
        "PET_NODE_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "JOB_NAME": "train-multinode-under-test",
    }
    paths = {
        **job_run,
        "/checkpoints": tmp_path / "checkpoints",
        "/models": tmp_path / "models",
        "/tmp": tmp_path / "tmp",
    }
    _run_container(project, master.container("pytorch"), paths, env)
    metadata = json.loads((tmp_path / "models" / "model.json").read_text(encoding="utf-8"))
    assert metadata["training"]["world_size"] == 2
    assert metadata["run_id"] == env["JOB_NAME"]


@pytest.mark.slow
def test_the_service_drains_and_exits_within_the_grace_period(
    generated_project: Callable[[str], Path],
    built: Callable[[str, str], Build],
    job_run: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The Deployment's command serves the model the Job trained; on SIGTERM readiness turns
    503 at once while requests are still served, and the process exits in time."""
    project = generated_project("defaults")
    package = _package(project)
    models = job_run["/models"]
    golden = {
        "command": ["python", "-m", package],
        "args": [
            "golden",
            f"--params={job_run['/app/params.yaml']}",
            f"--data-directory={job_run['/data'] / 'processed'}",
            f"--model-directory={models}",
            f"--output={models / 'golden.json'}",
        ],
    }
    _run_container(project, golden, {}, {})
    pod = _serving_pod(built("defaults", "base"))
    container = pod.container("server")
    port = free_port()
    command = [
        {"--host=0.0.0.0": "--host=127.0.0.1", "--port=8000": f"--port={port}"}.get(part, part)
        for part in local_command(container, project / ".venv" / "bin", {"/app/models": models}, {})
    ]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        service = subprocess.Popen(
            command,
            cwd=project,
            env=child_environment(TMPDIR=str(tmp_path)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while http_status(f"{base}/health/ready") != 200:
                assert service.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.2)
            stopped_at = time.monotonic()
            service.send_signal(signal.SIGTERM)
            time.sleep(1)
            assert http_status(f"{base}/health/ready") == 503, "readiness must fail at once"
            assert http_status(f"{base}/health/live") == 200, "requests are still served"
            grace = pod.spec["terminationGracePeriodSeconds"]
            pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            exit_code = service.wait(timeout=grace - pre_stop)
            took = time.monotonic() - stopped_at
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
    # uvicorn re-raises the SIGTERM it handled once shut down: a clean exit by that signal.
    assert exit_code in {0, -signal.SIGTERM}, log.read_text(encoding="utf-8")
    assert "Application shutdown complete" in log.read_text(encoding="utf-8")
    assert took >= float(argument_value(container["args"], "--drain-seconds")), took
