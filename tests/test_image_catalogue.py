"""The image catalogue: complete, digest-pinned entries; one CUDA image per `cuda_version`
choice, each of the CUDA major version torch is built for in the generated lock."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO_ROOT

CATALOGUE = REPO_ROOT / "devcontainer" / "catalogue.yml"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
FIELDS = {"image", "tag", "digest", "platform", "resolved"}


def catalogue() -> dict[str, Any]:
    document = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    entries: dict[str, Any] = document["image_catalogue"]["default"]
    assert document["image_catalogue"]["when"] is False, "computed, never asked"
    return entries


def entries() -> list[tuple[str, dict[str, str]]]:
    images = catalogue()
    return [
        *((f"cuda {key}", entry) for key, entry in images["cuda"].items()),
        *((f"python {key}", entry) for key, entry in images["python"].items()),
        ("uv", images["uv"]),
    ]


def copier_question(name: str) -> dict[str, Any]:
    documents = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8").split("\n---\n")
    for document in documents:
        if not document.lstrip().startswith("!include"):
            loaded = yaml.safe_load(document)
            if isinstance(loaded, dict) and name in loaded:
                question: dict[str, Any] = loaded[name]
                return question
    raise AssertionError(f"copier.yml has no question {name}")


@pytest.mark.parametrize(("name", "entry"), entries(), ids=[name for name, _ in entries()])
def test_every_entry_is_pinned_by_digest_and_says_where_it_came_from(
    name: str, entry: dict[str, str]
) -> None:
    assert set(entry) == FIELDS, name
    assert DIGEST.fullmatch(entry["digest"]), name
    assert entry["tag"] and entry["tag"] != "latest" and "@" not in entry["tag"], name
    assert re.match(r"\d{4}-\d{2}-\d{2}, ", entry["resolved"]), "when, then how"


def test_one_cuda_image_per_cuda_version_choice_of_that_version() -> None:
    cuda = catalogue()["cuda"]
    assert sorted(cuda) == sorted(copier_question("cuda_version")["choices"])
    for version, entry in cuda.items():
        assert entry["tag"].startswith(f"{version}."), (version, entry["tag"])


def test_the_python_image_is_the_projects_python() -> None:
    (version,) = catalogue()["python"]
    assert version == copier_question("python_version")["default"]


@pytest.mark.slow
def test_cuda_major_versions_match_the_cuda_build_of_torch_in_the_lock(
    generated_project: Callable[[str], Path],
) -> None:
    lock = tomllib.loads((generated_project("defaults") / "uv.lock").read_text(encoding="utf-8"))
    runtime = [p for p in lock["package"] if re.fullmatch(r"nvidia-cuda-runtime-cu\d+", p["name"])]
    assert runtime, "torch's CUDA runtime wheel is not in the lock"
    torch_cuda_major = {package["version"].split(".")[0] for package in runtime}
    assert len(torch_cuda_major) == 1, runtime
    catalogue_majors = {version.split(".")[0] for version in catalogue()["cuda"]}
    assert catalogue_majors == torch_cuda_major
