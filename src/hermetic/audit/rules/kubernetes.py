"""HM401 containers without resources and HM402 long-running containers without probes, in
every kind of workload workloads.py knows (Deployments to TrainJobs, RayServices, Rollouts).

Template markup in a value (`resources: {{ toYaml .Values.resources }}`) leaves that value
unknown: it is not judged. The YAML helpers are re-exported here for `hermetic pin`.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository
from hermetic.audit.rules.workloads import WorkloadContainer, manifests, workload_containers
from hermetic.audit.rules.yaml_nodes import (
    is_markup,
    mapping_value,
    scalar_value,
)

CONTAINER_WITHOUT_RESOURCES = Rule(
    "HM401",
    "container-without-resources",
    "Workload container without CPU and memory requests and limits",
    Severity.WARNING,
    "Set resources.requests and resources.limits, each with cpu and memory (a request may be "
    "left out where its limit is set: Kubernetes then requests the limit; a TrainJob's trainer "
    "takes them as resourcesPerNode); without them the scheduler overcommits nodes and one "
    "leaking container takes its neighbours down.",
)
CONTAINER_WITHOUT_PROBES = Rule(
    "HM402",
    "container-without-probes",
    "Long-running container without readiness and liveness probes",
    Severity.WARNING,
    "Add the probe the message names: a readinessProbe (traffic only once the model is loaded) "
    "and a livenessProbe (restart when wedged) on every container of a Deployment, "
    "StatefulSet, DaemonSet, ReplicaSet, restarting Pod, Argo Rollout, Knative Service, "
    "InferenceService or RayService head; batch workloads (Jobs, CronJobs, training jobs, "
    "workflows) are exempt.",
)
RULES = (CONTAINER_WITHOUT_RESOURCES, CONTAINER_WITHOUT_PROBES)
PROBES = ("readinessProbe", "livenessProbe")


def check(repository: Repository) -> Iterator[Finding]:
    for manifest in manifests(repository):
        for container in workload_containers(manifest):
            if not container.partial:
                yield from _resources_finding(container)
                yield from _probes_finding(container)


def _resources_finding(container: WorkloadContainer) -> Iterator[Finding]:
    key = container.resources_key
    missing = _missing_quantities(mapping_value(container.node, key))
    if missing:
        message = f"{container.describe()} sets no {key}.{f', {key}.'.join(missing)}"
        yield CONTAINER_WITHOUT_RESOURCES.at(container.path, container.line, message)


def _missing_quantities(resources: yaml.Node | None) -> list[str]:
    """The requests.X and limits.X not set, X being cpu and memory; a request defaults to its
    limit, so it is missing only when both are. Nothing when template markup sets them."""
    limits = mapping_value(resources, "limits")
    requests = mapping_value(resources, "requests")
    if any(is_markup(node) for node in (resources, limits, requests)):
        return []
    return [
        f"{section}.{quantity}"
        for section in ("requests", "limits")
        for quantity in ("cpu", "memory")
        if not _is_set(limits, quantity)
        and (section == "limits" or not _is_set(requests, quantity))
    ]


def _is_set(quantities: yaml.Node | None, quantity: str) -> bool:
    value = mapping_value(quantities, quantity)
    return is_markup(value) or scalar_value(value) not in (None, "", "null", "~")


def _probes_finding(container: WorkloadContainer) -> Iterator[Finding]:
    if container.is_init or not container.long_running:
        return
    present = [probe for probe in PROBES if mapping_value(container.node, probe) is not None]
    missing = [probe for probe in PROBES if probe not in present]
    if missing:
        has = f"a {present[0]} but no" if present else "no"
        message = f"{container.describe()} has {has} {' and no '.join(missing)}"
        yield CONTAINER_WITHOUT_PROBES.at(container.path, container.line, message)
