"""The generated project's custom-resource validator (deploy/k8s/check_custom_resources.py) on
a small CRD that uses every Kubernetes schema extension it translates: what the API server
would accept passes, what it would reject or silently prune fails, naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.crd_support import check, checker

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v0
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [size]
              properties:
                size:
                  x-kubernetes-int-or-string: true
                  anyOf: [{type: integer}, {type: string}]
                note: {type: string, nullable: true}
                mode: {type: string, enum: [fast, safe]}
                replicas: {type: integer, format: int32}
                since: {type: string, format: date-time}
                pod:
                  type: object
                  x-kubernetes-embedded-resource: true
                  x-kubernetes-preserve-unknown-fields: true
                object:
                  type: object
                  x-kubernetes-embedded-resource: true
                  properties:
                    spec: {type: object, properties: {x: {type: string}}}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true}
                marker: {type: object}
                tags:
                  type: array
                  items: {type: string}
                  x-kubernetes-list-type: set
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items: {type: object, properties: {name: {type: string}}}
"""
WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "labels": {"app.kubernetes.io/name": "w"}},
    "spec": {"size": 1},
}
EMBEDDED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
PREFIX = "Widget/w (example.com/v1): "


@pytest.fixture(scope="module")
def widget_crds() -> Any:
    return checker().CustomResourceDefinitions([yaml.safe_load(WIDGET_CRD)])


@pytest.mark.parametrize(
    "spec",
    [
        {"size": "50%"},
        {"note": None},
        {"mode": "safe"},
        {"replicas": 2**31 - 1},
        {"since": "2026-11-23T10:00:00Z"},
        {"pod": {**EMBEDDED, "spec": {"anything": "goes"}}},
        {"object": {**EMBEDDED, "spec": {"x": "y"}}},
        {"free": {"anything": {"goes": 1}}},
        {"marker": {}},
        {"tags": ["a", "b"]},
        {"ports": [{"name": "a"}, {"name": "b"}]},
    ],
    ids=lambda spec: next(iter(spec)),
)
def test_what_the_api_server_accepts_passes(spec: dict[str, Any], widget_crds: Any) -> None:
    widget = copy.deepcopy(WIDGET)
    widget["spec"].update(spec)
    assert check([widget], widget_crds) == []


@pytest.mark.parametrize(
    ("spec", "finding"),
    [
        ({"size": 1.5}, "spec.size: 1.5 is not of type integer or string"),
        ({"size": None}, "spec.size: null is not of type integer or string"),
        ({"note": 3}, "spec.note: 3 is not of type string or null"),
        ({"mode": "slow"}, 'spec.mode: "slow" is not one of ["fast", "safe"]'),
        ({"replicas": 2**31}, "spec.replicas: 2147483648 is not a valid int32"),
        (
            {"since": "2026-11-31T10:00:00Z"},
            'spec.since: "2026-11-31T10:00:00Z" is not a valid date-time',
        ),
        ({"since": "yesterday"}, 'spec.since: "yesterday" is not a valid date-time'),
        ({"pod": {"kind": "Pod", "metadata": {}}}, "spec.pod.apiVersion: required field missing"),
        ({"pod": {**EMBEDDED, "metadata": {"labelz": {}}}}, "spec.pod.metadata.labelz: unknown"),
        ({"object": {**EMBEDDED, "status": {}}}, "spec.object.status: unknown field"),
        ({"object": {**EMBEDDED, "spec": {"y": 1}}}, "spec.object.spec.y: unknown field"),
        ({"marker": {"x": 1}}, "spec.marker.x: unknown field, which the API server would drop"),
        ({"tags": ["a", "a"]}, 'spec.tags: ["a", "a"] repeats an item (a set)'),
        ({"ports": [{"name": "a"}, {"name": "a"}]}, "spec.ports[1]: duplicate entry: item 0"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_what_the_api_server_rejects_or_drops_fails(
    spec: dict[str, Any], finding: str, widget_crds: Any
) -> None:
    widget = copy.deepcopy(WIDGET)
    widget["spec"].update(spec)
    (found,) = check([widget], widget_crds)
    assert found.startswith(PREFIX + finding), found


def test_the_top_level_and_its_metadata_are_strict(widget_crds: Any) -> None:
    widget = copy.deepcopy(WIDGET)
    widget["extra"] = 1
    widget["metadata"]["labels"]["tier"] = 2
    del widget["spec"]["size"]
    assert check([widget], widget_crds) == [
        f"{PREFIX}extra: unknown field, which the API server would drop; allowed here: "
        "apiVersion, kind, metadata, spec",
        f"{PREFIX}metadata.labels.tier: 2 is not of type string",
        f"{PREFIX}spec.size: required field missing",
    ]


def test_a_kind_or_version_without_a_served_schema_fails(widget_crds: Any) -> None:
    documents = [
        {**WIDGET, "apiVersion": "example.com/v0"},
        {**WIDGET, "apiVersion": "example.com/v2"},
        {**WIDGET, "kind": "Gadget"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "built-in"}},
    ]
    assert check(documents, widget_crds) == [
        "Widget/w (example.com/v0): the CRD does not serve version v0",
        "Widget/w (example.com/v2): no CRD defines this kind and version (its CRD serves v1)",
        "Gadget/w (example.com/v1): no CRD defines this kind and version",
    ]


def test_the_exit_status_says_valid_findings_or_could_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crd = tmp_path / "crds" / "widgets.yaml"
    crd.parent.mkdir()
    crd.write_text(WIDGET_CRD, encoding="utf-8")
    build = tmp_path / "build.yaml"
    main = checker().main
    build.write_text(yaml.safe_dump(WIDGET), encoding="utf-8")
    assert main(["--crds", str(crd.parent), str(build)]) == 0
    build.write_text(yaml.safe_dump({**WIDGET, "spec": {}}), encoding="utf-8")
    assert main(["--crds", str(crd), str(build)]) == 1
    assert capsys.readouterr().out == f"{PREFIX}spec.size: required field missing\n"
    assert main(["--crds", str(build), str(build)]) == 2
    assert "a Widget, not a CRD" in capsys.readouterr().err
    assert main(["--crds", str(tmp_path / "missing.yaml"), str(build)]) == 2
