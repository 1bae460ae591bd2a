"""Helpers for the Kubernetes manifest tests: the validators, a kustomize build, and the pod
templates of every workload, built-in or custom (a Kubeflow TrainJob's, as its runtime makes
them)."""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO_ROOT, run_command

# The newest Kubernetes whose schemas kubernetes-validate 1.37.0 bundles; pinned, so that a
# new release of the validator changes nothing until it is chosen here.
KUBERNETES_VERSION = "1.37.0"
INSTALL_SYSTEM_TOOLS = "bash scripts/install-system-tools.sh"
CHECKOV = REPO_ROOT / "tests" / "checkov" / ".venv" / "bin" / "checkov"
# Kinds kubernetes-validate has no schema for: they get structural checks of their own.
CUSTOM_KINDS = frozenset(
    {"TrainJob", "Rollout", "AnalysisTemplate", "ServiceMonitor", "PrometheusRule"}
)
# The one replicated job, and its container, of the `torch-distributed` runtime
# (../shared/crds/trainer-runtime-torch-distributed.yaml).
TRAINJOB_NODE = "node"


def environment_tool(name: str) -> Path:
    """A tool of this repository's dev environment (kubectl, kubernetes-validate)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(
            f"{name} is not in the tool's environment ({path}): it is a dev dependency, "
            "install it with `uv sync --locked`"
        )
    return path


def checkov() -> Path:
    """checkov, in its own virtualenv (its pins clash with the tool's)."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is missing at {CHECKOV}: run `{INSTALL_SYSTEM_TOOLS}`")
    return CHECKOV


@dataclass(frozen=True)
class PodTemplate:
    """One pod template of a workload: a Deployment's, a Job's, or the pods a TrainJob's runtime
    starts (its container as the runtime's `node` container with the TrainJob's trainer and
    runtimePatches applied)."""

    owner: str
    kind: str
    metadata: dict[str, Any]
    spec: dict[str, Any]

    @property
    def containers(self) -> list[dict[str, Any]]:
        """Init containers, then containers."""
        return [*self.spec.get("initContainers", []), *self.spec["containers"]]

    def container(self, name: str) -> dict[str, Any]:
        (found,) = [c for c in self.containers if c["name"] == name]
        return found


@dataclass(frozen=True)
class Build:
    """The output of `kubectl kustomize` for one overlay of one rendered project."""

    variant: str
    overlay: str
    path: Path
    documents: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [document for document in self.documents if document["kind"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"{self.overlay}: {len(found)} {kind} objects, expected one"
        return found[0]

    def pod_templates(self) -> list[PodTemplate]:
        templates = []
        for document in self.documents:
            owner = f"{document['kind']}/{document['metadata']['name']}"
            if document["kind"] in {"Deployment", "Job"}:
                template = document["spec"]["template"]
                templates.append(
                    PodTemplate(owner, document["kind"], template["metadata"], template["spec"])
                )
            elif document["kind"] == "AnalysisTemplate":
                for metric in document["spec"]["metrics"]:
                    if "job" in metric["provider"]:
                        template = metric["provider"]["job"]["spec"]["template"]
                        templates.append(
                            PodTemplate(
                                f"{owner}/{metric['name']}",
                                "AnalysisTemplate",
                                template["metadata"],
                                template["spec"],
                            )
                        )
            elif document["kind"] == "TrainJob":
                templates.append(trainjob_pod(owner, document["spec"]))
        return templates


def trainjob_pod(owner: str, spec: dict[str, Any]) -> PodTemplate:
    """The pod template a TrainJob's runtime starts: its only runtime patch's pod template, the
    `node` container completed by the trainer (image, command, env, resources per node)."""
    (patch,) = spec["runtimePatches"]
    (replicated,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert replicated["name"] == TRAINJOB_NODE, replicated["name"]
    template = copy.deepcopy(replicated["template"]["spec"]["template"])
    (container,) = template["spec"]["containers"]
    assert container["name"] == TRAINJOB_NODE, container["name"]
    trainer = spec["trainer"]
    container.update(
        image=trainer["image"],
        command=trainer["command"],
        args=trainer["args"],
        env=trainer.get("env", []),
        resources=trainer["resourcesPerNode"],
    )
    return PodTemplate(owner, "TrainJob", template.get("metadata", {}), template["spec"])


def kustomize(directory: Path, output: Path, variant: str, overlay: str) -> Build:
    """Build DIRECTORY with `kubectl kustomize` into OUTPUT and parse it."""
    completed = run_command([environment_tool("kubectl"), "kustomize", directory])
    assert completed.returncode == 0, f"kubectl kustomize {directory}:\n{completed.stderr}"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(completed.stdout, encoding="utf-8")
    documents = [document for document in yaml.safe_load_all(completed.stdout) if document]
    return Build(variant, overlay, output, documents)


def argument_value(arguments: list[str], option: str) -> str:
    """The value of `--option=value` in a container's arguments (exactly once)."""
    values = [item.split("=", 1)[1] for item in arguments if item.startswith(f"{option}=")]
    assert len(values) == 1, f"{option} appears {len(values)} times in {arguments}"
    return values[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects an object with LABELS."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def local_command(
    container: dict[str, Any], bin_directory: Path, paths: dict[str, Path], env: dict[str, str]
) -> list[str]:
    """A container's command and arguments as this machine runs them: the executable from
    BIN_DIRECTORY, each `--option=/path` under a key of PATHS moved to its value, and each
    `$(VARIABLE)` expanded from ENV, as the kubelet expands it."""

    def local(argument: str) -> str:
        argument = re.sub(r"\$\((\w+)\)", lambda match: env[match[1]], argument)
        option, equals, value = argument.partition("=")
        for inside, outside in paths.items():
            if equals and (value == inside or value.startswith(f"{inside}/")):
                return f"{option}={outside}{value.removeprefix(inside)}"
        return argument

    words: list[str] = [*container["command"], *container.get("args", [])]
    executable, *arguments = words
    return [str(bin_directory / executable), *(local(argument) for argument in arguments)]


# The training pods' shell scripts, and what runs them on this machine.

TRAINING_TARGET = "training"


def pod_script(container: dict[str, Any]) -> str:
    """The script a container gives `/bin/sh -c`."""
    assert container["command"] == ["/bin/sh", "-c"], container["command"]
    (script,) = container["args"]
    return str(script)


def script_commands(container: dict[str, Any]) -> list[str]:
    """A container's script, one command a line: comments and continuations joined away."""
    joined = re.sub(r"\\\n\s*", "", pod_script(container))
    lines = (line.strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def training_image_files(project: Path, dockerfile_stages: list[Any], app: Path) -> None:
    """What the Dockerfile's training target puts under /app, from PROJECT, into APP: the
    context's files its COPY instructions name, and src/ for the build stage's /app/src (the
    build stage only adds byte code and metadata there). The venv is not copied: the
    generated project's environment stands in for it."""
    (training,) = [stage for stage in dockerfile_stages if stage.name == TRAINING_TARGET]
    workdir = training.last("WORKDIR").arguments
    assert workdir == "/app", workdir
    for instruction in training.all("COPY"):
        words = instruction.arguments.split()
        source_stage = words[0].removeprefix("--from=") if words[0].startswith("--from=") else ""
        *sources, destination = words[1:] if source_stage else words
        if source_stage == "build":
            assert sources == ["/app/src"] == [destination], words
            shutil.copytree(project / "src", app / "src")
            continue
        if source_stage:
            assert destination == "/opt/venv", words
            continue
        for source in sources:
            if destination.endswith("/"):
                target = app / destination.removeprefix("./") / Path(source).name
            else:
                target = app / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / source, target)


def pod_environment(
    image_environment: dict[str, str], venv_bin: Path, app: Path, tmp: Path
) -> dict[str, str]:
    """The training image's ENV as it applies here: its venv is VENV_BIN's, /app is APP, /tmp
    is TMP; nothing of the test's own environment but what git and DVC need to start."""
    environment = {}
    for key, value in image_environment.items():
        here = re.sub(r"^/tmp(?=/|$)", str(tmp), re.sub(r"^/app(?=/|$)", str(app), value))
        environment[key] = here.replace("/opt/venv/bin:$PATH", f"{venv_bin}:/usr/bin:/bin")
    environment.update(LANG="C.UTF-8", GIT_CONFIG_NOSYSTEM="1")
    return environment


def run_pod_script(
    container: dict[str, Any],
    workspace: Path,
    app: Path,
    environment: dict[str, str],
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """A container's script, as its pod runs it: in WORKSPACE (its workingDir, or the directory
    the script moves to first), /app at APP."""
    script = pod_script(container).replace("/app/", f"{app}/")
    if "workingDir" in container:
        assert container["workingDir"] == "/workspace"
    else:
        first, _, rest = script.partition("\n")
        assert first == "cd /workspace", f"{container['name']} starts in the read-only /app"
        script = f"cd {shlex.quote(str(workspace))}\n{rest}"
    return subprocess.run(
        ["/bin/sh", "-c", script],
        cwd=workspace,
        env={**environment, **(extra or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
