"""Helpers for the custom-resource tests: the real CRDs (shared/crds), the template's validator
and the CRD vendoring script loaded as modules (one strictification, the generated project's),
and ways to break a custom resource that read its schema rather than its fields' names."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from tests.helpers import REPO_ROOT

TEMPLATE_K8S = REPO_ROOT / "template" / "{% if with_k8s %}deploy{% endif %}" / "k8s"
# The generated project's validator, where the template holds it and where a project does.
CHECKER = TEMPLATE_K8S / "check_custom_resources.py"
PROJECT_CHECKER = Path("deploy", "k8s", "check_custom_resources.py")
PROJECT_CRDS = Path("deploy", "k8s", "crds")
VENDOR_SCRIPT = REPO_ROOT / "scripts" / "vendor_crds.py"
UNKNOWN_FIELD = "unexpectedField"

FieldPath = list[str | int]
Documents = list[dict[str, Any]]


@functools.cache
def load_script(path: Path) -> ModuleType:
    """A Python file that is not in a package (a template file, a script), as a module."""
    name = f"_hermetic_tests_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The engines' real CRDs (../shared/crds, or where this machine keeps them).
REAL_CRDS: Path = load_script(VENDOR_SCRIPT).shared_crds()


def checker() -> ModuleType:
    """deploy/k8s/check_custom_resources.py, as the template ships it."""
    return load_script(CHECKER)


def real_crd_files() -> list[Path]:
    """Every CustomResourceDefinition in shared/crds (not its README, nor the Helm template of
    the torch-distributed runtime)."""
    if not REAL_CRDS.is_dir():
        pytest.fail(f"the engines' real CRDs are missing: expected them in {REAL_CRDS}")
    declares_a_crd = re.compile(r"^kind: CustomResourceDefinition$", re.MULTILINE)
    files = [
        file
        for file in sorted(REAL_CRDS.glob("*.yaml"))
        if declares_a_crd.search(file.read_text(encoding="utf-8"))
    ]
    if not files:
        pytest.fail(f"{REAL_CRDS} holds no CustomResourceDefinition")
    return files


@functools.cache
def real_crds() -> Any:
    """The real CRDs, read by the generated project's validator (CustomResourceDefinitions)."""
    return checker().read_crds(real_crd_files())


def vendored_crds(project: Path) -> Any:
    return checker().read_crds([project / PROJECT_CRDS])


def check(documents: Documents, crds: Any) -> list[str]:
    """The validator's findings about DOCUMENTS against CRDS."""
    return cast(list[str], checker().check(documents, crds))


def custom_resources(documents: Documents) -> Documents:
    """The documents whose API group the API server does not serve itself."""
    built_in = checker().BUILT_IN_GROUPS
    return [d for d in documents if d["apiVersion"].rpartition("/")[0] not in built_in]


def group_and_kind(document: dict[str, Any]) -> tuple[str, str]:
    return document["apiVersion"].rpartition("/")[0], document["kind"]


def field_path(path: FieldPath) -> str:
    return cast(str, checker().field_path(path))


def about(findings: list[str], document: dict[str, Any], path: FieldPath) -> list[str]:
    """The findings about the field at PATH of DOCUMENT."""
    resource = f"{document['kind']}/{document['metadata']['name']} "
    return [f for f in findings if f.startswith(resource) and f": {field_path(path)}: " in f]


# --- Breaking a custom resource, guided by its schema ------------------------------------------


def strict_schema(document: dict[str, Any], crds: Any) -> dict[str, Any]:
    group, version = document["apiVersion"].rpartition("/")[::2]
    served = crds.served[group, version, document["kind"]]
    return cast(dict[str, Any], checker().strict_schema(served))


def fields(
    value: Any, schema: dict[str, Any], path: FieldPath
) -> Iterator[tuple[FieldPath, Any, Any]]:
    """(path, value, schema) of VALUE and of everything in it that SCHEMA declares."""
    yield path, value, schema
    if isinstance(value, dict):
        for name, item in value.items():
            declared = schema.get("properties", {}).get(name, schema.get("additionalProperties"))
            if isinstance(declared, dict):
                yield from fields(item, declared, [*path, name])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from fields(item, schema["items"], [*path, index])


def spec_fields(document: dict[str, Any], crds: Any) -> list[tuple[FieldPath, Any, Any]]:
    schema = strict_schema(document, crds)
    return [field for field in fields(document, schema, []) if field[0][:1] == ["spec"]]


def parent_of(document: dict[str, Any], path: FieldPath) -> Any:
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    return parent


def plant_unknown_fields(document: dict[str, Any], crds: Any) -> list[FieldPath]:
    """An undeclared field at the top of spec and in the first container of every pod
    template the resource holds; the paths planted."""
    containers: list[FieldPath] = [
        [*path, 0, UNKNOWN_FIELD]
        for path, value, _ in spec_fields(document, crds)
        if path[-1] == "containers" and isinstance(value, list) and value
    ]
    planted: list[FieldPath] = [["spec", UNKNOWN_FIELD], *containers]
    for path in planted:
        parent_of(document, path)[path[-1]] = "planted"
    return planted


def break_a_type(document: dict[str, Any], crds: Any) -> FieldPath | None:
    """An object where the schema wants a string, integer or boolean (the first such field of
    spec); its path, or None if spec has no such field."""
    for path, _, schema in spec_fields(document, crds):
        if schema.get("type") in {"string", "integer", "boolean"}:
            parent_of(document, path)[path[-1]] = {"wrong": "type"}
            return path
    return None


def drop_a_required_field(document: dict[str, Any], crds: Any) -> FieldPath | None:
    """The first field of spec that its schema requires, removed; its path, or None."""
    for path, value, schema in spec_fields(document, crds):
        present = value if isinstance(value, dict) else {}
        required = [name for name in schema.get("required", []) if name in present]
        if required:
            del value[required[0]]
            return [*path, required[0]]
    return None
