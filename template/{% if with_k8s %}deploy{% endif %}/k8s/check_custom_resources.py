"""Validate every custom resource of a kustomize build strictly against its CRD.

Each custom resource is checked against the openAPIV3Schema of the CRD version its apiVersion
names, made strict: a field the schema does not declare is an error unless the schema keeps
unknown fields (x-kubernetes-preserve-unknown-fields), because the API server would silently
drop it. Built-in kinds are left to kubernetes-validate. CEL rules (x-kubernetes-validations)
are not evaluated.

Usage: python deploy/k8s/check_custom_resources.py --crds deploy/k8s/crds [BUILD]
BUILD: `kubectl kustomize` output, a file or `-` (standard input, the default).
Exit status: 0 every custom resource is valid, 1 findings (each listed), 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

try:  # libyaml's parser: the CRDs are large
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

# The API groups a Kubernetes API server serves itself; any other group is a custom resource.
_K8S_IO_GROUPS = """admissionregistration apiextensions apiregistration authentication authorization
certificates coordination discovery events flowcontrol.apiserver internal.apiserver networking node
rbac.authorization resource scheduling storage storagemigration"""
BUILT_IN_GROUPS = frozenset(
    ["", "apps", "autoscaling", "batch", "extensions", "policy"]
    + [f"{name}.k8s.io" for name in _K8S_IO_GROUPS.split()]
)
_STRING = {"type": "string"}
_STRING_MAP = {"type": "object", "additionalProperties": _STRING}
# dict(): two closing braces in a row would read as Jinja to the template's render tests.
_OBJECTS = {"type": "array", "items": dict(type="object")}
# metadata at the top of a resource (or of an embedded one): the API server reads it as ObjectMeta.
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **dict.fromkeys(
            ("name", "generateName", "namespace", "uid", "resourceVersion", "selfLink"), _STRING
        ),
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": _STRING},
        "ownerReferences": _OBJECTS,
        "managedFields": _OBJECTS,
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"], "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "deletionGracePeriodSeconds": {"type": "integer"},
    },
}
# Keywords that constrain nothing (nullable is translated below, like every x-kubernetes-*
# extension that constrains a value; CEL rules are not evaluated).
_ANNOTATIONS = frozenset({"description", "default", "example", "nullable"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties"})
_BRANCHES = frozenset({"anyOf", "allOf", "oneOf"})

Key = tuple[str, str, str]  # (group, version, kind)


class CustomResourceDefinitions:
    """The served versions' schemas of some CRDs, made strict, by (group, version, kind)."""

    def __init__(self, crds: Iterable[Mapping[str, Any]]) -> None:
        self.served: dict[Key, dict[str, Any]] = {}
        self.unserved: set[Key] = set()
        self._validators: dict[Key, Validator] = {}
        for crd in crds:
            spec = crd["spec"]
            for version in spec["versions"]:
                key = (spec["group"], version["name"], spec["names"]["kind"])
                if version.get("served"):
                    self.served[key] = version["schema"]["openAPIV3Schema"]
                else:
                    self.unserved.add(key)

    def validator(self, key: Key) -> Validator:
        if key not in self._validators:
            schema = strict_schema(self.served[key])
            schema.setdefault("properties", {})["metadata"] = OBJECT_META
            self._validators[key] = StrictValidator(schema, format_checker=FORMATS)
        return self._validators[key]


def strict_schema(schema: Mapping[str, Any], *, branch: bool = False) -> dict[str, Any]:
    """A JSON Schema (Draft 7) for what the API server keeps and accepts of an OpenAPI v3
    structural SCHEMA: undeclared fields are errors rather than pruned. BRANCH: an anyOf,
    allOf, oneOf or not branch, which constrains values but never declares fields."""
    strict: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS:
            strict[key] = {name: strict_schema(field) for name, field in value.items()}
        elif key in _BRANCHES:
            strict[key] = [strict_schema(part, branch=True) for part in value]
        elif key in {"items", "additionalProperties", "not"} and isinstance(value, dict):
            strict[key] = strict_schema(value, branch=branch or key == "not")
        elif key not in _ANNOTATIONS and not key.startswith("x-kubernetes-"):
            strict[key] = value
    if schema.get("x-kubernetes-embedded-resource"):
        declared = strict.get("properties", {})
        metadata = declared.get("metadata", {})
        strict["properties"] = {
            "apiVersion": _STRING,
            "kind": _STRING,
            **declared,
            "metadata": metadata if "properties" in metadata else OBJECT_META,
        }
        strict["required"] = sorted({"apiVersion", "kind", *strict.get("required", ())})
    if schema.get("x-kubernetes-int-or-string"):
        if all(set(part) == {"type"} for part in strict.get("anyOf", [])):
            strict.pop("anyOf", None)  # [{type: integer}, {type: string}]: said once, clearer
        strict["type"] = ["integer", "string"]
    if schema.get("x-kubernetes-list-type") == "set":
        strict["uniqueItems"] = True
    elif schema.get("x-kubernetes-list-type") == "map":
        strict["x-kubernetes-list-map-keys"] = schema.get("x-kubernetes-list-map-keys", [])
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields") is True
    is_object = strict.get("type") == "object" or "properties" in strict
    if is_object and not branch and not keeps_unknown and "additionalProperties" not in strict:
        strict["additionalProperties"] = False  # the API server would prune the rest
    if schema.get("nullable"):
        return _nullable(strict)
    return strict


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" not in schema:
        return {"anyOf": [{"type": "null"}, schema]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    nullable = {**schema, "type": [*types, "null"]}
    if "enum" in nullable:
        nullable["enum"] = [*nullable["enum"], None]
    return nullable


def _unique_map_keys(
    validator: Validator, keys: list[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """x-kubernetes-list-type: map — no two items share their key fields."""
    if not validator.is_type(instance, "array"):
        return
    first: dict[str, int] = {}
    for index, item in enumerate(instance):
        if isinstance(item, dict):
            key = json.dumps([item.get(name) for name in keys])
            if key in first:
                yield ValidationError(
                    f"duplicate entry: item {first[key]} has the same {', '.join(keys)}",
                    path=(index,),
                )
            first.setdefault(key, index)


FORMATS = jsonschema.FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real date and time
        return True
    return not isinstance(value, str)


# Draft 7 plus list-map key uniqueness (extend() has no annotations in types-jsonschema).
StrictValidator: type[Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft7Validator, {"x-kubernetes-list-map-keys": _unique_map_keys}
)


def field_path(parts: Iterable[str | int]) -> str:
    """A JSON path as kubectl writes one: spec.containers[0].env[1], labels["app/name"]."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][\w$-]*", part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path or "(the resource)"


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else f"{text[:57]}..."


_SAYS = {
    "enum": "is not one of {}",
    "pattern": "does not match the pattern {}",
    "format": "is not a valid {}",
    "uniqueItems": "repeats an item (a set)",
}


def _explain(error: ValidationError) -> Iterator[tuple[list[str | int], str]]:
    """(path, what is wrong and what the schema allows) for one schema violation."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance: Any = error.instance
    expected: Any = error.validator_value
    if error.validator == "additionalProperties" and expected is False:
        allowed = sorted(schema.get("properties", {}))
        for name in sorted(set(instance) - set(allowed)):
            yield (
                [*path, name],
                "unknown field, which the API server would drop; allowed here: "
                + (", ".join(allowed) or "no fields"),
            )
    elif error.validator == "required":
        for name in expected:
            if name not in instance:
                yield [*path, name], "required field missing"
    elif error.validator == "type":
        types = expected if isinstance(expected, list) else [expected]
        yield path, f"{_shown(instance)} is not of type {' or '.join(types)}"
    elif error.validator in _SAYS:
        said = json.dumps(expected) if isinstance(expected, list) else expected
        yield path, f"{_shown(instance)} {_SAYS[str(error.validator)].format(said)}"
    elif error.context:
        reasons = "; ".join(sorted({reason.message for reason in error.context}))
        yield path, f"{_shown(instance)} matches no allowed schema ({reasons})"
    else:
        yield path, error.message


def check(documents: Iterable[Any], crds: CustomResourceDefinitions) -> list[str]:
    """Every finding about the custom resources among DOCUMENTS, one line each."""
    findings: dict[str, None] = {}  # ordered, without repeats
    for document in documents:
        if not isinstance(document, dict):
            continue
        group, _, version = str(document.get("apiVersion", "")).rpartition("/")
        kind = str(document.get("kind", ""))
        if group in BUILT_IN_GROUPS:
            continue
        metadata = document.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        resource = f"{kind}/{name or '(no name)'} ({document['apiVersion']})"
        key = (group, version, kind)
        if key in crds.served:
            problems = (
                f"{resource}: {field_path(path)}: {problem}"
                for error in crds.validator(key).iter_errors(document)
                for path, problem in _explain(error)
            )
            findings.update(dict.fromkeys(sorted(problems)))
        elif key in crds.unserved:
            findings[f"{resource}: the CRD does not serve version {version}"] = None
        else:
            served = sorted(v for g, v, k in crds.served if (g, k) == (group, kind))
            also = f" (its CRD serves {', '.join(served)})" if served else ""
            findings[f"{resource}: no CRD defines this kind and version{also}"] = None
    return list(findings)


class _Loader(_BaseLoader):
    """YAML as Kubernetes reads it: a timestamp stays a string."""


def _timestamp_as_string(loader: _Loader, node: yaml.Node) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_string)


def load_yaml(text: str) -> list[Any]:
    """Every document of a YAML stream (empty ones dropped)."""
    return [document for document in yaml.load_all(text, Loader=_Loader) if document]


def read_crds(paths: Sequence[Path]) -> CustomResourceDefinitions:
    """The CRDs in PATHS: files, or directories of *.yaml files."""
    crds = []
    files = [f for p in paths for f in (sorted(p.glob("*.yaml")) if p.is_dir() else [p])]
    for file in files:
        for document in load_yaml(file.read_text(encoding="utf-8")):
            if document.get("kind") != "CustomResourceDefinition":
                raise ValueError(f"{file}: a {document.get('kind')}, not a CRD")
            crds.append(document)
    return CustomResourceDefinitions(crds)


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("build", nargs="?", default="-", help="kustomize output; - for stdin")
    parser.add_argument(
        "--crds", action="append", type=Path, required=True, help="a CRD file or directory"
    )
    options = parser.parse_args(arguments)
    try:
        crds = read_crds(options.crds)
        text = sys.stdin.read() if options.build == "-" else Path(options.build).read_text("utf-8")
        documents = load_yaml(text)
    except (OSError, ValueError, KeyError, yaml.YAMLError) as error:
        sys.stderr.write(f"check_custom_resources: cannot run: {error}\n")
        return 2
    findings = check(documents, crds)
    sys.stdout.writelines(f"{finding}\n" for finding in findings)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
