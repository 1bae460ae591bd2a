"""Kubernetes workloads without resources or probes; the manifest walking images.py shares.

Manifests are the YAML files with a line declaring a workload kind, read as nodes so findings
carry line numbers. What is deliberately left alone:
- kustomization files, and the files they name under `patches`, `patchesStrategicMerge` or
  `patchesJson6902`: partial objects that kustomize merges into a full one;
- containers without an `image`: a fragment of a patch, whatever file it sits in;
- templated (`{{`) or invalid YAML: only images.py looks at it, line by line.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository

CONTAINER_WITHOUT_RESOURCES = Rule(
    "HM401",
    "container-without-resources",
    "Workload container without CPU and memory requests and limits",
    Severity.WARNING,
    "Set resources.requests and resources.limits, each with cpu and memory (a request may be "
    "left out where its limit is set: Kubernetes then requests the limit); without them the "
    "scheduler overcommits nodes and one leaking container takes its neighbours down.",
)
CONTAINER_WITHOUT_PROBES = Rule(
    "HM402",
    "container-without-probes",
    "Long-running container without a readiness or liveness probe",
    Severity.WARNING,
    "Add a readinessProbe (traffic only once the model is loaded) and a livenessProbe (restart "
    "when wedged) to every container of a Deployment, StatefulSet, DaemonSet, ReplicaSet or "
    "restarting Pod; batch workloads (Job, CronJob, training jobs) are exempt.",
)
RULES = (CONTAINER_WITHOUT_RESOURCES, CONTAINER_WITHOUT_PROBES)

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PATCH_KEYS = ("patches", "patchesStrategicMerge", "patchesJson6902")
# Where each kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Kubeflow training jobs: one pod template per replica type (Master, Worker, ...).
REPLICA_SPECS_KEYS = {
    "PyTorchJob": "pytorchReplicaSpecs",
    "TFJob": "tfReplicaSpecs",
    "MPIJob": "mpiReplicaSpecs",
}
LONG_RUNNING_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
WORKLOAD_KIND_LINE = re.compile(
    rf"^\s*kind:\s*[\"']?(?:{'|'.join([*POD_SPEC_PATHS, *REPLICA_SPECS_KEYS])})\b", re.MULTILINE
)
TEMPLATE_MARKUP = "{{"
PROBES = ("readinessProbe", "livenessProbe")


def check(repository: Repository) -> Iterator[Finding]:
    for manifest in manifests(repository):
        for container in workload_containers(manifest):
            if not container.partial:
                yield from _resources_finding(container)
                yield from _probes_finding(container)


# --- YAML nodes -------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it (about 10x faster), the same nodes either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_documents(text: str | None) -> list[yaml.Node] | None:
    """The documents of TEXT as nodes (they know their lines); None when it is not YAML."""
    if text is None:
        return None
    nodes = _composed(text)
    return None if nodes is None else list(nodes)


@functools.lru_cache(maxsize=4096)
def _composed(text: str) -> tuple[yaml.Node, ...] | None:
    """Parsed once per text: the image and the Kubernetes rules read the same manifests."""
    try:
        return tuple(yaml.compose_all(text, Loader=_LOADER))
    except yaml.YAMLError:
        return None


def mapping_entries(node: yaml.Node | None) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
    """The (key, value) pairs of a mapping node with plain keys, merge keys (`<<`) aside."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                yield key, value


def mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value under KEY in a mapping node, or in what it merges with `<<`; else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for entry_key, value in mapping_entries(node):
        if entry_key.value == key:
            return value
    for entry_key, merged in node.value:
        if isinstance(entry_key, yaml.ScalarNode) and entry_key.value == "<<":
            for source in sequence_items(merged) or [merged]:
                found = mapping_value(source, key)
                if found is not None:
                    return found
    return None


def scalar_value(node: yaml.Node | None) -> str | None:
    """The text of a scalar node; None for anything else."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def sequence_items(node: yaml.Node | None) -> list[yaml.Node]:
    """The items of a sequence node; empty for anything else."""
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def node_line(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1


def _follow(node: yaml.Node | None, keys: tuple[str, ...]) -> yaml.Node | None:
    for key in keys:
        node = mapping_value(node, key)
    return node


# --- Manifests and their containers -----------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """A YAML file declaring a workload kind; DOCUMENTS is None when it is templated or invalid."""

    path: str
    documents: tuple[yaml.Node, ...] | None
    is_patch: bool


@dataclass(frozen=True)
class WorkloadContainer:
    """One container (or init container) of a workload's pod template."""

    path: str
    workload: str
    node: yaml.Node
    is_init: bool
    long_running: bool
    in_patch: bool

    @property
    def name(self) -> str:
        return scalar_value(mapping_value(self.node, "name")) or "(unnamed)"

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
        return self.in_patch or self.image is None

    def describe(self) -> str:
        role = "init container" if self.is_init else "container"
        return f"{role} {self.name!r} of {self.workload}"


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
        documents = None if TEMPLATE_MARKUP in text else yaml_documents(text)
        yield Manifest(path, None if documents is None else tuple(documents), path in patches)


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
    for document in manifest.documents or ():
        kind = scalar_value(mapping_value(document, "kind")) or ""
        name = scalar_value(_follow(document, ("metadata", "name"))) or "(unnamed)"
        for replica, pod_spec in _pod_specs(document, kind):
            restart = scalar_value(mapping_value(pod_spec, "restartPolicy")) or "Always"
            for key in ("initContainers", "containers"):
                for container in sequence_items(mapping_value(pod_spec, key)):
                    yield WorkloadContainer(
                        path=manifest.path,
                        workload=f"{kind}/{name}{replica}",
                        node=container,
                        is_init=key == "initContainers",
                        long_running=kind in LONG_RUNNING_KINDS and restart == "Always",
                        in_patch=manifest.is_patch,
                    )


def _pod_specs(document: yaml.Node, kind: str) -> Iterator[tuple[str, yaml.Node]]:
    """(replica label, pod spec) of a workload: one spec, or one per training replica type."""
    if kind in POD_SPEC_PATHS:
        pod_spec = _follow(document, POD_SPEC_PATHS[kind])
        if pod_spec is not None:
            yield "", pod_spec
    elif kind in REPLICA_SPECS_KEYS:
        replicas = _follow(document, ("spec", REPLICA_SPECS_KEYS[kind]))
        for replica, replica_spec in mapping_entries(replicas):
            pod_spec = _follow(replica_spec, ("template", "spec"))
            if pod_spec is not None:
                yield f" ({replica.value} replicas)", pod_spec


# --- The rules --------------------------------------------------------------------------------


def _resources_finding(container: WorkloadContainer) -> Iterator[Finding]:
    missing = _missing_quantities(mapping_value(container.node, "resources"))
    if missing:
        message = f"{container.describe()} sets no resources.{', resources.'.join(missing)}"
        yield CONTAINER_WITHOUT_RESOURCES.at(container.path, container.line, message)


def _missing_quantities(resources: yaml.Node | None) -> list[str]:
    """The requests.X and limits.X not set, X being cpu and memory; a request defaults to its
    limit, so it is missing only when both are."""
    limits = mapping_value(resources, "limits")
    requests = mapping_value(resources, "requests")
    return [
        f"{section}.{quantity}"
        for section in ("requests", "limits")
        for quantity in ("cpu", "memory")
        if not _is_set(limits, quantity)
        and (section == "limits" or not _is_set(requests, quantity))
    ]


def _is_set(quantities: yaml.Node | None, quantity: str) -> bool:
    return scalar_value(mapping_value(quantities, quantity)) not in (None, "", "null", "~")


def _probes_finding(container: WorkloadContainer) -> Iterator[Finding]:
    if container.is_init or not container.long_running:
        return
    missing = [probe for probe in PROBES if mapping_value(container.node, probe) is None]
    if missing:
        message = f"{container.describe()} has no {' and no '.join(missing)}"
        yield CONTAINER_WITHOUT_PROBES.at(container.path, container.line, message)
