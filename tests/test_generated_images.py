"""Every image a generated project names is pinned by digest, in every deploy variant.

Two independent readings: a plain scan of the files (every `FROM`, `COPY --from`, `image:` and
devcontainer `"image"`), and `hermetic pin --check` (offline), which must pass on each rendered
variant and fail once a floating tag is planted.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermetic.cli import app
from tests.dockerfile_support import image_references as dockerfile_images
from tests.dockerfile_support import read_dockerfile
from tests.rendering import DEPLOY_VARIANTS

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_YAML_IMAGE = re.compile(r"^\s*-?\s*(?:image|newName):\s*[\"']?([^\s\"']+)")
_JSON_IMAGE = re.compile(r"\"image\"\s*:\s*\"([^\"]+)\"")


def image_references(project: Path) -> dict[str, list[str]]:
    """Every image named in the project's files, by file (POSIX path relative to PROJECT)."""
    found: dict[str, list[str]] = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if not path.is_file() or relative.startswith(".git/"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name == "Dockerfile" or path.name.endswith(".Dockerfile"):
            images = dockerfile_images(read_dockerfile(path))
        elif path.suffix in {".yaml", ".yml"}:
            images = [
                match.group(1) for line in text.splitlines() if (match := _YAML_IMAGE.match(line))
            ]
        elif path.name == "devcontainer.json":
            images = _JSON_IMAGE.findall(text)
        else:
            continue
        if images:
            found[relative] = images
    return found


@pytest.mark.parametrize("variant", sorted(DEPLOY_VARIANTS))
def test_no_image_reference_lacks_a_digest(
    variant: str, rendered_variant: Callable[[str], Path]
) -> None:
    references = image_references(rendered_variant(variant))
    assert "Dockerfile" in references, "the project image's Dockerfile names its base images"
    assert any(path.startswith(".devcontainer/") for path in references)
    if DEPLOY_VARIANTS[variant].get("with_k8s", True):
        assert any(path.startswith("deploy/k8s/") for path in references)
    unpinned = {
        path: [image for image in images if not DIGEST.search(image)]
        for path, images in references.items()
    }
    assert not {path: images for path, images in unpinned.items() if images}


@pytest.mark.parametrize("variant", sorted(DEPLOY_VARIANTS))
def test_pin_check_passes_on_every_generated_project(
    variant: str, rendered_variant: Callable[[str], Path]
) -> None:
    result = CliRunner().invoke(app, ["pin", str(rendered_variant(variant)), "--check"])
    assert result.exit_code == 0, result.output


def test_pin_check_fails_on_a_planted_floating_tag(
    rendered_variant: Callable[[str], Path], tmp_path: Path
) -> None:
    project = shutil.copytree(rendered_variant("defaults"), tmp_path / "project")
    dockerfile = project / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    planted, count = re.subn(
        r"^FROM python:\S+", "FROM python:3.11-slim", text, count=1, flags=re.MULTILINE
    )
    assert count == 1
    dockerfile.write_text(planted, encoding="utf-8")
    assert "python:3.11-slim" in image_references(project)["Dockerfile"]
    result = CliRunner().invoke(app, ["pin", str(project), "--check"])
    assert result.exit_code == 1, result.output
    assert "python:3.11-slim" in result.output
