"""HM201 images without a digest, HM202 floating tags, HM203 dev container features by tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermetic.audit.rules import images
from tests.audit.planting import audit, places

DIGEST = "sha256:" + "ab" * 32
UNPINNED = "HM201"
FLOATING = "HM202"
FEATURE = "HM203"


def image_findings(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    return places(audit(images.check, root, files))


@pytest.mark.parametrize(
    ("tag", "floats"),
    [
        (None, True),
        ("latest", True),
        ("3.9", True),
        ("22.04", True),
        ("3.11-slim-bookworm", True),
        ("1-3.11-bookworm", True),
        ("stable", True),
        ("ltsc2022", True),
        ("3.11.8-slim", False),
        ("12.4.1-cudnn-runtime-ubuntu22.04", False),
        ("v0.8.15", False),
        ("jammy-20240227", False),
        ("2024-02-27", False),
        ("sha-3f2a9c1", False),
    ],
)
def test_a_tag_floats_unless_it_names_one_release(tag: str | None, floats: bool) -> None:
    assert images.tag_floats(tag) is floats


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("python", ("python", None, None)),
        ("localhost:5000/team/app", ("localhost:5000/team/app", None, None)),
        ("localhost:5000/app:1.2.3", ("localhost:5000/app", "1.2.3", None)),
        (f"python:3.11@{DIGEST}", ("python", "3.11", DIGEST)),
        (f"python@{DIGEST}", ("python", None, DIGEST)),
    ],
)
def test_a_reference_splits_into_name_tag_and_digest(
    reference: str, parts: tuple[str, str | None, str | None]
) -> None:
    assert images.split_reference(reference) == parts


def test_variables_expand_from_known_values_and_unknown_ones_are_kept() -> None:
    values: dict[str, str | None] = {"PY": "3.11.8", "EMPTY": "", "DECLARED": None}
    assert images.substitute("python:${PY}-slim", values) == ("python:3.11.8-slim", ())
    assert images.substitute("python:$PY", values) == ("python:3.11.8", ())
    assert images.substitute("${EMPTY:-a}${EMPTY-b}${DECLARED-c}${PY:+d}", values) == ("acd", ())
    assert images.substitute("${DECLARED}/x:${NOPE}", values) == (
        "${DECLARED}/x:${NOPE}",
        ("DECLARED", "NOPE"),
    )


def test_every_image_a_dockerfile_pulls_is_judged_and_stages_are_not(tmp_path: Path) -> None:
    dockerfile = f"""
        # syntax=docker/dockerfile:1
        ARG PYTHON=3.11.8 MINOR=3.12
        ARG BASE
        ARG VARIANT
        FROM ${{BASE}}
        FROM --platform=$BUILDPLATFORM python:${{PYTHON}}-slim AS build-cpu
        RUN --mount=type=cache,target=/root/.cache \\
            --mount=from=ghcr.io/astral-sh/uv:0.8.15,source=/uv,target=/bin/uv \\
            uv sync --locked
        RUN <<EOF
        FROM not-an-image:latest
        EOF
        FROM build-${{VARIANT}} AS test
        COPY --from=BUILD-CPU /app /app
        COPY --from=0 /app /app
        FROM python:3.9
        COPY --from=nginx /etc/nginx /etc/nginx
        FROM ubuntu:latest@{DIGEST}
        FROM scratch AS runtime
        ARG PYTHON MINOR
        COPY --from=python:${{PYTHON}}-alpine@{DIGEST} /usr /usr
        COPY --from="python:${{MINOR}}" /usr/local /usr/local
        FROM ${{REGISTRY}}/python:latest
        COPY --from=python:${{MINOR}} /usr/local /usr/local
        """
    assert image_findings(tmp_path, {"docker/Dockerfile": dockerfile}) == {
        (UNPINNED, "docker/Dockerfile", 5),  # BASE has no default: the digest is not recorded
        (UNPINNED, "docker/Dockerfile", 6),  # a full version: not floating
        (UNPINNED, "docker/Dockerfile", 7),  # the uv image mounted, on the RUN's first line
        (UNPINNED, "docker/Dockerfile", 16),
        (FLOATING, "docker/Dockerfile", 16),
        (UNPINNED, "docker/Dockerfile", 17),
        (FLOATING, "docker/Dockerfile", 17),  # no tag means latest
        (UNPINNED, "docker/Dockerfile", 22),  # the stage's MINOR inherits the global 3.12
        (FLOATING, "docker/Dockerfile", 22),
        (UNPINNED, "docker/Dockerfile", 23),
        (FLOATING, "docker/Dockerfile", 23),  # whatever the registry, the tag is latest
        (UNPINNED, "docker/Dockerfile", 24),  # a global ARG is unset in a stage not declaring it
    }


def test_dockerfile_names_and_the_escape_directive(tmp_path: Path) -> None:
    files = {
        "Containerfile": (
            "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\n"
            "FROM base\n"
        ),
        "gpu.Dockerfile": "FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n",
        "Dockerfile.dev": f"FROM python:3.11.8-slim@{DIGEST}\n",
        "Dockerfile.jinja": "FROM {{ base_image }}\n",
        # A stage whose image is template markup is still a stage: --from=uv names it.
        "deploy/Dockerfile.jinja": "FROM {{ uv.image }}:{{ uv.tag }} AS uv\nCOPY --from=uv /u /u\n",
        "README.md": "FROM python:3.9\n",
    }
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "Containerfile", 2),
        (FLOATING, "Containerfile", 2),
        (UNPINNED, "gpu.Dockerfile", 1),
    }


@pytest.mark.parametrize(
    "path",
    [
        "dockerfile",
        "docker/Dockerfile-cpu",
        "docker/Dockerfile_gpu",
        "docker/gpu.dockerfile",
        "docker/cuda-12.Dockerfile",
        "dockerfile.dev",
        "Dockerfile.cuda12",
        "Dockerfile.ubuntu22.04",
        "CONTAINERFILE",
        "Containerfile-arm64",
        "Dockerfile.jinja",
    ],
)
def test_dockerfiles_are_found_by_name_in_any_case(tmp_path: Path, path: str) -> None:
    assert image_findings(tmp_path, {path: "FROM python:3.9\n"}) == {
        (UNPINNED, path, 1),
        (FLOATING, path, 1),
    }


@pytest.mark.parametrize(
    "path",
    [
        "tools/dockerfile_utils.py",
        "docs/Dockerfile.md",
        "Dockerfile.dockerignore",
        ".dockerignore",
        "Dockerfile.d/base",  # a folder named like one
        "dockerfiles/gpu",
        "build-dockerfile.sh",
        "Dockerfiles",
    ],
)
def test_files_named_like_dockerfiles_are_not_read_as_ones(tmp_path: Path, path: str) -> None:
    assert image_findings(tmp_path, {path: "FROM python:3.9\n"}) == set()


def test_compose_services_images_are_judged_unless_built_here(tmp_path: Path) -> None:
    compose = f"""
        x-queue: &queue
          image: redis:7
        services:
          cache:
            <<: *queue
          broker:
            <<: *queue
          db:
            image: postgres:16.2@{DIGEST}
          app:
            build: .
            image: my-app:latest
          web:
            image: "nginx:${{NGINX_TAG:-1.25.4}}"
          proxy:
            image: traefik:${{TRAEFIK_TAG}}
        """
    assert image_findings(tmp_path, {"deploy/docker-compose.prod.yml": compose}) == {
        (UNPINNED, "deploy/docker-compose.prod.yml", 2),  # once, for both services
        (FLOATING, "deploy/docker-compose.prod.yml", 2),
        (UNPINNED, "deploy/docker-compose.prod.yml", 14),
        (UNPINNED, "deploy/docker-compose.prod.yml", 16),  # its tag is unknown: no HM202
    }


def test_a_devcontainer_image_and_its_features(tmp_path: Path) -> None:
    configuration = f"""
        {{
          // "image": "commented-out:latest",
          "name": "gpu // not a comment /* nor this */",
          /* a block comment
             "image": "nor-this:latest" */
        \t"image": "mcr.microsoft.com/devcontainers/python:3.11",
          "features": {{
            "ghcr.io/devcontainers/features/node:1": {{}},
            "ghcr.io/devcontainers/features/git:1": {{}},
            "ghcr.io/devcontainers/features/github-cli@{DIGEST}": {{}},
            "./local-feature": {{}},
          }},
        }}
        """
    lockfile = f"""
        {{"features": {{
          "ghcr.io/devcontainers/features/git:1": {{
            "version": "1.3.5",
            "resolved": "ghcr.io/devcontainers/features/git@{DIGEST}",
            "integrity": "{DIGEST}"
          }},
          "ghcr.io/devcontainers/features/node:1": {{"version": "1.6.2", "integrity": "sha1:0a"}}
        }}}}
        """
    files = {
        ".devcontainer/gpu/devcontainer.json": configuration,
        ".devcontainer/gpu/devcontainer-lock.json": lockfile,
        ".devcontainer.json": f'{{"image": "python:3.11.8@{DIGEST}", "features": {{"a:2": {{}}}}}}',
        "docs/devcontainer.json": '{"image": "not-a-devcontainer:latest"}',
    }
    assert image_findings(tmp_path, files) == {
        (UNPINNED, ".devcontainer/gpu/devcontainer.json", 6),
        (FLOATING, ".devcontainer/gpu/devcontainer.json", 6),
        (FEATURE, ".devcontainer/gpu/devcontainer.json", 8),
        (FEATURE, ".devcontainer.json", 1),
    }


def test_kubernetes_workload_images_in_every_kind_of_manifest(tmp_path: Path) -> None:
    manifests = f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          template:
            spec:
              initContainers:
                - name: wait
                  image: busybox
              containers:
                - name: app
                  image: registry.example.com:5000/team/app:1.4.2
                - name: pinned
                  image: registry.example.com/team/app:1.4.2@{DIGEST}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: web, labels: {{image: "not:latest"}}}}
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {{name: nightly}}
        spec:
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - {{name: retrain, image: "python:3.9"}}
        """
    training = f"""
        apiVersion: kubeflow.org/v1
        kind: PyTorchJob
        metadata: {{name: train}}
        spec:
          pytorchReplicaSpecs:
            Master:
              template:
                spec:
                  containers: [{{name: pytorch, image: "pytorch/pytorch@{DIGEST}"}}]
            Worker:
              template:
                spec:
                  containers:
                    - name: pytorch
                      image: pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime
        """
    helm = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          template:
            spec:
              containers:
                - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                - image: busybox:1.36.1  # a literal: judged
        """
    files = {
        "k8s/app.yaml": manifests,
        "k8s/train.yml": training,
        "chart/templates/deployment.yaml": helm,
        "chart/values.yaml": "image:\n  repository: app\n  tag: latest\n",
    }
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "k8s/app.yaml", 9),
        (FLOATING, "k8s/app.yaml", 9),
        (UNPINNED, "k8s/app.yaml", 12),
        (UNPINNED, "k8s/app.yaml", 29),
        (FLOATING, "k8s/app.yaml", 29),
        (UNPINNED, "k8s/train.yml", 15),
        (UNPINNED, "chart/templates/deployment.yaml", 10),
    }


def test_images_of_a_file_with_braces_in_strings_are_read_from_its_nodes(tmp_path: Path) -> None:
    # Before, any `{{` sent the file to the line scan, which cannot read flow-style containers.
    manifests = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: evaluate}
        spec:
          template:
            spec:
              containers:
                - {name: evaluate, image: "app:1.0.0", args: ["--run={{ workflow.uid }}"]}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
          {{- include "labels" . | nindent 4 }}
        spec:
          template:
            spec:
              containers:
                - image: python:3.9  # a document that does not parse: its lines are scanned
        """
    assert image_findings(tmp_path, {"k8s/evaluate.yaml": manifests}) == {
        (UNPINNED, "k8s/evaluate.yaml", 8),
        (UNPINNED, "k8s/evaluate.yaml", 19),
        (FLOATING, "k8s/evaluate.yaml", 19),
    }


def test_a_kustomization_that_sets_an_image_version_is_judged_instead_of_the_manifests(
    tmp_path: Path,
) -> None:
    base = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - {name: app, image: my-app}
                - {name: sidecar, image: "sidecar:1.0.0"}
                - {name: proxy, image: "envoy:1.30.1"}
        """
    overlay = f"""
        resources: [../../base]
        patches:
          - path: patch.yaml
        images:
          - name: my-app
            newName: registry.example.com/my-app
            digest: {DIGEST}
          - name: sidecar
            newTag: "2"
          - name: envoy
            newName: mirror.example.com/envoy
        """
    patch = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - {name: debug, image: "debug-tools:latest"}
        """
    files = {
        "deploy/base/deployment.yaml": base,
        "deploy/overlays/prod/kustomization.yaml": overlay,
        "deploy/overlays/prod/patch.yaml": patch,
    }
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "deploy/base/deployment.yaml", 10),  # only renamed: its own tag still holds
        (UNPINNED, "deploy/overlays/prod/kustomization.yaml", 8),
        (FLOATING, "deploy/overlays/prod/kustomization.yaml", 8),
        (UNPINNED, "deploy/overlays/prod/patch.yaml", 8),  # a patch's image is deployed
        (FLOATING, "deploy/overlays/prod/patch.yaml", 8),
    }


def test_messages_say_what_is_wrong(tmp_path: Path) -> None:
    files = {
        "Dockerfile": "ARG BASE\nFROM ${BASE}\nFROM python:3.9@sha256:abc\nFROM python\n",
        ".devcontainer.json": '{"features": {"ghcr.io/devcontainers/features/node:1": {}}}',
    }
    messages = [finding.message for finding in audit(images.check, tmp_path, files)]
    assert messages == [
        "image ${BASE} is not pinned: it depends on BASE, which nothing here sets",
        "image python:3.9@sha256:abc has digest 'sha256:abc', which is not sha256 and 64 hex "
        "digits",
        "image python:3.9@sha256:abc has tag '3.9', which names no single release (x.y.z, date "
        "or commit)",
        "image python is not pinned by a sha256 digest",
        "image python has no tag, so it means latest",
        "feature ghcr.io/devcontainers/features/node:1 is pinned by neither a sha256 digest nor a "
        "lockfile",
    ]


def test_broken_files_report_nothing_and_do_not_crash(tmp_path: Path) -> None:
    files = {
        "Dockerfile": "FROM\nCOPY --from= a b\n",
        "compose.yaml": "services: [unclosed\n",
        ".devcontainer/devcontainer.json": '{"image": "x:latest" /* unterminated',
        "k8s/broken.yaml": "kind: Pod\nspec: {containers: [\n",
        "empty.Dockerfile": "",
    }
    assert image_findings(tmp_path, files) == set()
