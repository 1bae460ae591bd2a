"""Vendor into the template the CustomResourceDefinitions of the kinds it renders, pruned for
offline validation: every schema `description` dropped and only the served versions kept, each
file headed by its source and the sha256 of the original.

Usage: uv run --locked python scripts/vendor_crds.py [SOURCE_DIRECTORY]
(default: the shared/crds this machine provides, found by shared_crds(); its README.md names
each file's source).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# The engines' real CRDs: beside the checkout (../shared/crds), or, for a clone elsewhere on
# this machine (CI clones main afresh), where the machine keeps them.
SHARED_CRDS_CANDIDATES = (
    REPO_ROOT.parent / "shared" / "crds",
    Path("/work/shared/crds"),
)


def shared_crds() -> Path:
    """The first directory of SHARED_CRDS_CANDIDATES that exists (the first when none does,
    for the caller's error message)."""
    found = [candidate for candidate in SHARED_CRDS_CANDIDATES if candidate.is_dir()]
    return (found or list(SHARED_CRDS_CANDIDATES))[0]


DEFAULT_SOURCE = shared_crds()
VENDORED = REPO_ROOT / "template" / "{% if with_k8s %}deploy{% endif %}" / "k8s" / "crds"
# Keys whose values are data (defaults, enums, examples), never schemas: nothing to prune there.
DATA_KEYWORDS = frozenset({"default", "enum", "example", "x-kubernetes-validations"})


@dataclass(frozen=True)
class Source:
    """One CRD the template's manifests need, where it comes from, and when it is rendered."""

    file: str  # in SOURCE_DIRECTORY
    repository: str
    commit: str
    path: str
    condition: str | None = None  # the template answer that renders the kind, if any

    @property
    def origin(self) -> str:
        return f"{self.repository} @ {self.commit} : {self.path}"


ARGO_ROLLOUTS = ("argoproj/argo-rollouts", "9f8d111d8f8e")
PROMETHEUS_OPERATOR = ("prometheus-operator/prometheus-operator", "6adcebc5076c")
PROMETHEUS_OPERATOR_CRDS = "example/prometheus-operator-crd"
SOURCES = (
    Source(
        "trainer.kubeflow.org_trainjobs.yaml",
        "kubeflow/trainer",
        "8c0f5059bd51",
        "manifests/base/crds/trainer.kubeflow.org_trainjobs.yaml",
    ),
    Source(
        "argo-rollouts-rollout-crd.yaml",
        *ARGO_ROLLOUTS,
        "manifests/crds/rollout-crd.yaml",
        "with_serving",
    ),
    Source(
        "argo-rollouts-analysis-template-crd.yaml",
        *ARGO_ROLLOUTS,
        "manifests/crds/analysis-template-crd.yaml",
        "with_serving",
    ),
    Source(
        "monitoring.coreos.com_servicemonitors.yaml",
        *PROMETHEUS_OPERATOR,
        f"{PROMETHEUS_OPERATOR_CRDS}/monitoring.coreos.com_servicemonitors.yaml",
        "with_serving",
    ),
    Source(
        "monitoring.coreos.com_prometheusrules.yaml",
        *PROMETHEUS_OPERATOR,
        f"{PROMETHEUS_OPERATOR_CRDS}/monitoring.coreos.com_prometheusrules.yaml",
        "with_serving",
    ),
)


def prune_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """SCHEMA without any `description`, at every depth; field names are kept, even
    `description`."""
    pruned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in {"properties", "patternProperties"}:
            pruned[key] = {name: prune_schema(field) for name, field in value.items()}
        elif key in {"anyOf", "allOf", "oneOf"}:
            pruned[key] = [prune_schema(branch) for branch in value]
        elif isinstance(value, dict) and key not in DATA_KEYWORDS:
            pruned[key] = prune_schema(value)  # items, additionalProperties, not
        else:
            pruned[key] = value
    return pruned


def prune_crd(crd: dict[str, Any]) -> dict[str, Any]:
    """What validation needs of a CRD: its names and its served versions' pruned schemas."""
    spec = crd["spec"]
    versions = [
        {
            "name": version["name"],
            "served": True,
            "storage": version.get("storage", False),
            "schema": {"openAPIV3Schema": prune_schema(version["schema"]["openAPIV3Schema"])},
        }
        for version in spec["versions"]
        if version.get("served")
    ]
    return {
        "apiVersion": crd["apiVersion"],
        "kind": crd["kind"],
        "metadata": {"name": crd["metadata"]["name"]},
        "spec": {
            "group": spec["group"],
            "names": spec["names"],
            "scope": spec["scope"],
            "versions": versions,
        },
    }


def vendored_name(crd: dict[str, Any], condition: str | None) -> str:
    """The template file name of a pruned CRD: `<plural>.<group>.yaml`, under its condition."""
    name = f"{crd['metadata']['name']}.yaml"
    return f"{{% if {condition} %}}{name}{{% endif %}}" if condition else name


def derive(source_directory: Path) -> dict[str, str]:
    """The vendored files (template file name -> text), freshly derived from SOURCE_DIRECTORY."""
    readme = (source_directory / "README.md").read_text(encoding="utf-8")
    files: dict[str, str] = {}
    for source in SOURCES:
        if f"{source.repository} @ {source.commit}" not in readme:
            raise ValueError(f"{source_directory / 'README.md'} names no {source.origin}")
        original = (source_directory / source.file).read_bytes()
        crd = prune_crd(yaml.load(original, Loader=yaml.CSafeLoader))
        header = (
            "# Pruned for offline validation (descriptions dropped, served versions only) by\n"
            "# hermetic-ml's scripts/vendor_crds.py: never edited by hand.\n"
            f"# source: {source.origin}\n"
            f"# sha256 of the original: {hashlib.sha256(original).hexdigest()}\n"
        )
        body = yaml.safe_dump(crd, sort_keys=False, width=1_000_000, allow_unicode=True)
        files[vendored_name(crd, source.condition)] = header + body
    return files


def main(arguments: list[str]) -> int:
    source_directory = Path(arguments[0]) if arguments else DEFAULT_SOURCE
    if not (source_directory / "README.md").is_file():
        sys.stderr.write(f"{source_directory} holds no CRDs (README.md): pass their directory\n")
        return 2
    files = derive(source_directory)
    VENDORED.mkdir(parents=True, exist_ok=True)
    for stale in sorted({path.name for path in VENDORED.iterdir()} - set(files)):
        (VENDORED / stale).unlink()
    for source, (name, text) in zip(SOURCES, files.items(), strict=True):
        (VENDORED / name).write_text(text, encoding="utf-8")
        original = (source_directory / source.file).stat().st_size
        sys.stdout.write(f"{name}: {original:,} -> {len(text.encode()):,} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
