"""Where each kind of workload keeps its containers: the one table kubernetes.py (resources,
probes) and images.py (image digests) read, and the manifest walking they share.

Manifests are the YAML files with a line declaring a workload kind. Each document is judged on
its own, and so is each manifest a ConfigMap holds in a block scalar: one that does not parse
(a Helm template) is left to images.py's line scan, and in one that does, template markup in a
value (`{{ ... }}`) only hides that value. Left alone:
- kustomization files, and the files they name under `patches`, `patchesStrategicMerge` or
  `patchesJson6902`: partial objects that kustomize merges into a full one;
- containers without an `image`: a fragment of a patch, whatever file it sits in (a TrainJob's
  runtime patches name the runtime's containers this way).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

import yaml

from hermetic.audit.repository import Repository
from hermetic.audit.rules.yaml_nodes import (
    Documents,
    each_document,
    follow,
    mapping_entries,
    mapping_value,
    node_line,
    scalar_value,
    sequence_items,
    yaml_documents,
)

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PATCH_KEYS = ("patches", "patchesStrategicMerge", "patchesJson6902")


@dataclass(frozen=True)
class Place:
    """Where a kind keeps a pod spec (SHAPE "pod": its containers and init containers) or a
    single container (SHAPE "container"). PATH is dotted keys; `*` is each entry of a mapping,
    `[]` each item of a sequence, and each of them names the ROLE's `{}` (the entry's key, the
    item's name). LONG_RUNNING: probes are expected (a pod spec's restartPolicy may say no)."""

    path: str
    role: str = ""
    long_running: bool = False
    shape: Literal["pod", "container"] = "pod"
    noun: str = "container"
    resources: str = "resources"
    needs_image: bool = True
    # KubeRay adds readiness and liveness probes to a Ray pod's first container, the Ray one.
    first_container_probed: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.path.replace("[]", ".[]").split("."))


BATCH_POD = Place("spec.template.spec")
SERVING_POD = Place("spec.template.spec", long_running=True)
RAY_GROUPS = (
    Place("headGroupSpec.template.spec", "head group"),
    Place("workerGroupSpecs[].template.spec", "worker group {}"),
)
ARGO_TEMPLATES = (
    Place("templates[].container", "template {}", shape="container"),
    Place("templates[].script", "template {}", shape="container", noun="script"),
    Place("templates[].containerSet.containers[]", "template {}", shape="container"),
    Place("templates[].initContainers[]", "template {}", shape="container", noun="init container"),
    Place("templates[].sidecars[]", "template {}", shape="container", noun="sidecar"),
)
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
# The model formats an InferenceService predictor names, each a container the runtime completes.
KSERVE_MODEL_FORMATS = (
    "model", "sklearn", "xgboost", "lightgbm", "tensorflow", "pytorch", "triton", "onnx",
    "huggingface", "paddle", "pmml",
)  # fmt: skip
REPLICATED_JOBS = "replicatedJobs[].template.spec.template.spec"
REPLICA_SPECS = Place("spec.*ReplicaSpecs.*.template.spec", "{} replicas")


def _under(prefix: str, places: tuple[Place, ...]) -> tuple[Place, ...]:
    return tuple(replace(place, path=f"{prefix}.{place.path}") for place in places)


# Every kind whose containers are judged, and where it keeps them.
WORKLOADS: dict[str, tuple[Place, ...]] = {
    "Pod": (Place("spec", long_running=True),),
    "Deployment": (SERVING_POD,),
    "StatefulSet": (SERVING_POD,),
    "DaemonSet": (SERVING_POD,),
    "ReplicaSet": (SERVING_POD,),
    "Job": (BATCH_POD,),
    "CronJob": (Place("spec.jobTemplate.spec.template.spec"),),
    # Kubeflow Training Operator v1: one pod template per replica type (Master, Worker, ...).
    **dict.fromkeys(
        ("PyTorchJob", "TFJob", "XGBoostJob", "PaddleJob", "MXJob", "JAXJob"), (REPLICA_SPECS,)
    ),
    "MPIJob": (REPLICA_SPECS, BATCH_POD),  # v1alpha1 keeps one pod template in spec.template
    # Kubeflow Trainer v2: the trainer is a container of the runtime's pods, sized per node.
    "TrainJob": (
        Place("spec.trainer", shape="container", noun="trainer", resources="resourcesPerNode"),
        Place(
            f"spec.runtimePatches[].trainingRuntimeSpec.template.spec.{REPLICATED_JOBS}", "job {1}"
        ),
    ),
    "TrainingRuntime": (Place(f"spec.template.spec.{REPLICATED_JOBS}", "job {}"),),
    "ClusterTrainingRuntime": (Place(f"spec.template.spec.{REPLICATED_JOBS}", "job {}"),),
    "JobSet": (Place(f"spec.{REPLICATED_JOBS}", "job {}"),),
    # KubeRay: probes on a RayService's head, whose Ray container KubeRay probes itself.
    "RayCluster": _under("spec", RAY_GROUPS),
    "RayJob": (
        *_under("spec.rayClusterSpec", RAY_GROUPS),
        Place("spec.submitterPodTemplate.spec", "submitter"),
    ),
    "RayService": (
        Place(
            "spec.rayClusterConfig.headGroupSpec.template.spec",
            "head group",
            long_running=True,
            first_container_probed=True,
        ),
        Place("spec.rayClusterConfig.workerGroupSpecs[].template.spec", "worker group {}"),
    ),
    # Argo Rollouts: a Rollout with a workloadRef has no template (its Deployment holds it);
    # an analysis's Job is batch.
    "Rollout": (SERVING_POD,),
    **dict.fromkeys(
        ("AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun"),
        (Place("spec.metrics[].provider.job.spec.template.spec", "metric {}"),),
    ),
    # Argo Workflows: every step is batch.
    **dict.fromkeys(
        ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"), _under("spec", ARGO_TEMPLATES)
    ),
    "CronWorkflow": _under("spec.workflowSpec", ARGO_TEMPLATES),
    # KServe: each component is a pod spec; a model format is a container KServe completes
    # from its serving runtime (image, probes), sized here.
    "InferenceService": (
        *(Place(f"spec.{c}", c, long_running=True) for c in KSERVE_COMPONENTS),
        *(
            Place(
                f"spec.predictor.{f}",
                f"predictor {f}",
                shape="container",
                noun="model server",
                needs_image=False,
            )
            for f in KSERVE_MODEL_FORMATS
        ),
    ),
    # Knative Serving's Service (a core Service has no template: API_GROUPS tells them apart).
    "Service": (SERVING_POD,),
}
# Kinds that another API group also uses: judged only in this one.
API_GROUPS = {"Service": "serving.knative.dev"}
WORKLOAD_KIND_LINE = re.compile(rf"^\s*kind:\s*[\"']?(?:{'|'.join(WORKLOADS)})\b", re.MULTILINE)


# --- Manifests and their containers -----------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """A YAML file declaring a workload kind: the DOCUMENTS that parse, and the line ranges of
    those that do not (template markup, mostly)."""

    path: str
    documents: tuple[yaml.Node, ...]
    unparsed: tuple[tuple[int, int], ...]
    is_patch: bool


@dataclass(frozen=True)
class WorkloadContainer:
    """One container (or init container) of a workload."""

    path: str
    workload: str
    node: yaml.Node
    noun: str
    long_running: bool
    in_patch: bool
    needs_image: bool = True
    resources_key: str = "resources"

    @property
    def is_init(self) -> bool:
        return self.noun == "init container"

    @property
    def name(self) -> str | None:
        return scalar_value(mapping_value(self.node, "name"))

    @property
    def line(self) -> int:
        """The line of its `name:`, else of its first key."""
        name = mapping_value(self.node, "name")
        return node_line(self.node if name is None else name)

    @property
    def image(self) -> yaml.ScalarNode | None:
        image = mapping_value(self.node, "image")
        return image if isinstance(image, yaml.ScalarNode) else None

    @property
    def partial(self) -> bool:
        """A patch, not a container: it sits in a kustomize patch or names no image."""
        return self.in_patch or (self.needs_image and mapping_value(self.node, "image") is None)

    def describe(self) -> str:
        named = f" {self.name!r}" if self.name else ""
        return f"{self.noun}{named} of {self.workload}"


def kustomizations(repository: Repository) -> Iterator[tuple[str, yaml.Node]]:
    """(path, first document) of every kustomization file."""
    for path in repository.matching(*KUSTOMIZATION_FILES):
        documents = yaml_documents(repository.text(path))
        if documents:
            yield path, documents[0]


def manifests(repository: Repository) -> Iterator[Manifest]:
    """Every YAML file, kustomizations aside, with a line declaring a workload kind."""
    kustomization_paths = set(repository.matching(*KUSTOMIZATION_FILES))
    patches = kustomize_patch_paths(repository)
    for path in repository.matching("*.yaml", "*.yml"):
        text = repository.text(path)
        if path in kustomization_paths or text is None or not WORKLOAD_KIND_LINE.search(text):
            continue
        documents, unparsed = each_document(text)
        for embedded in (e for document in documents for e in _embedded_manifests(document)):
            documents, unparsed = documents + embedded.nodes, unparsed + embedded.unparsed
        yield Manifest(path, documents, unparsed, path in patches)


def _embedded_manifests(document: yaml.Node) -> Iterator[Documents]:
    """The manifests a ConfigMap holds as `|` block scalars (a Katib trial template, a
    controller's job template), their lines those of the file."""
    if scalar_value(mapping_value(document, "kind")) != "ConfigMap":
        return
    for _, value in mapping_entries(mapping_value(document, "data")):
        if (
            isinstance(value, yaml.ScalarNode)
            and value.style == "|"
            and WORKLOAD_KIND_LINE.search(value.value)
        ):
            # Its text starts on the line after the `|`: blank lines in front keep the lines.
            yield each_document("\n" * (value.start_mark.line + 1) + value.value)


def kustomize_patch_paths(repository: Repository) -> frozenset[str]:
    """The files kustomizations name as patches, as repository paths."""
    paths: set[str] = set()
    for path, kustomization in kustomizations(repository):
        folder = posixpath.dirname(path)
        for key in PATCH_KEYS:
            for entry in sequence_items(mapping_value(kustomization, key)):
                target = scalar_value(entry) or scalar_value(mapping_value(entry, "path"))
                if target and "\n" not in target:  # a multi-line string is an inline patch
                    paths.add(posixpath.normpath(posixpath.join(folder, target)))
    return frozenset(paths)


def workload_containers(manifest: Manifest) -> Iterator[WorkloadContainer]:
    """The containers and init containers of every workload in MANIFEST."""
    for document in manifest.documents:
        kind = scalar_value(mapping_value(document, "kind")) or ""
        group = (scalar_value(mapping_value(document, "apiVersion")) or "").partition("/")[0]
        if kind not in WORKLOADS or API_GROUPS.get(kind, group) != group:
            continue
        name = (
            scalar_value(follow(document, ("metadata", "name")))
            or scalar_value(follow(document, ("metadata", "generateName")))  # an Argo Workflow's
            or "(unnamed)"
        )
        for place in WORKLOADS[kind]:
            for names, node in _walk(document, place.keys, ()):
                role = place.role.format(*names)
                workload = f"{kind}/{name}{f' ({role})' if role else ''}"
                yield from _containers(manifest, place, workload, node)


def _containers(
    manifest: Manifest, place: Place, workload: str, node: yaml.Node
) -> Iterator[WorkloadContainer]:
    def container(node: yaml.Node, noun: str, long_running: bool) -> WorkloadContainer:
        return WorkloadContainer(
            manifest.path,
            workload,
            node,
            noun,
            long_running,
            manifest.is_patch,
            place.needs_image,
            place.resources,
        )

    if place.shape == "container":
        yield container(node, place.noun, place.long_running)
        return
    restart = scalar_value(mapping_value(node, "restartPolicy")) or "Always"
    long_running = place.long_running and restart == "Always"
    for item in sequence_items(mapping_value(node, "initContainers")):
        yield container(item, "init container", long_running=False)
    for index, item in enumerate(sequence_items(mapping_value(node, "containers"))):
        probed = place.first_container_probed and index == 0
        yield container(item, "container", long_running and not probed)


def _walk(
    node: yaml.Node | None, keys: tuple[str, ...], names: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], yaml.Node]]:
    """(the names of the entries and items passed, node) at each end of the path KEYS."""
    if node is None:
        return
    if not keys:
        yield names, node
        return
    key, rest = keys[0], keys[1:]
    if key == "[]":
        for index, item in enumerate(sequence_items(node)):
            label = (
                scalar_value(mapping_value(item, "name"))
                or scalar_value(mapping_value(item, "groupName"))  # a Ray worker group's
                or str(index)
            )
            yield from _walk(item, rest, (*names, label))
    elif "*" in key:
        for entry, value in mapping_entries(node):
            if fnmatch.fnmatchcase(str(entry.value), key):
                named = (*names, str(entry.value)) if key == "*" else names
                yield from _walk(value, rest, named)
    else:
        yield from _walk(mapping_value(node, key), rest, names)
