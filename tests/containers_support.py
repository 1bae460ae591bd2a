"""Helpers for the container tests: a build of a Dockerfile's stages on this machine, without
Docker (no engine runs here), and running the built image's command (tests/dockerfile_support.py
reads the Dockerfile and its .dockerignore).

The build runs the Dockerfile's own instructions: COPY from the build context (the project as
.dockerignore filters it) or from an earlier stage, ENV, WORKDIR, and RUN through `/bin/sh -c`
with the stage's environment. Each stage's root filesystem is a directory; what a base image
would provide comes from stand-ins on this machine, named in `BaseImages`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.dockerfile_support import (
    Instruction,
    Stage,
    build_context,
    copy_sources,
    environment_pairs,
    exec_form,
    read_dockerfile,
    run_instruction_parts,
    split_flags,
)
from tests.helpers import REPO_ROOT, run_command

# The PATH of the python and uv images (the python image puts /usr/local/bin first).
IMAGE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
# Paths that belong to the image's own filesystem; the rest (/usr/bin, /bin) is the machine's.
IMAGE_PREFIXES = ("/app", "/opt", "/root", "/tmp", "/usr/local")


@dataclass(frozen=True)
class BaseImages:
    """Stand-ins for the base images' files: image reference -> {path in image: file here}."""

    files: dict[str, dict[str, Path]]
    # Variables the base image sets (the python images set PATH and LANG).
    environment: dict[str, str]


@dataclass
class BuiltStage:
    stage: Stage
    root: Path
    workdir: str = "/"
    environment: dict[str, str] = field(default_factory=dict)

    def host_path(self, path: str, tmp: Path) -> Path:
        """Where a path of the image's filesystem lies on this machine (/tmp: the tmpfs)."""
        absolute = path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"
        if absolute == "/tmp" or absolute.startswith("/tmp/"):
            return tmp / absolute.removeprefix("/tmp").lstrip("/")
        return self.root / absolute.lstrip("/")

    def host_value(self, value: str, tmp: Path) -> str:
        """An environment value with the image's own paths moved to where they lie here."""
        mapped = [
            str(self.host_path(part, tmp)) if part.startswith(IMAGE_PREFIXES) else part
            for part in value.split(":")
        ]
        return ":".join(mapped)

    def host_environment(self, tmp: Path) -> dict[str, str]:
        return {key: self.host_value(value, tmp) for key, value in self.environment.items()}

    def resolve(self, command: str, tmp: Path) -> str:
        """The executable a command name finds on the image's PATH."""
        found = shutil.which(command, path=self.host_environment(tmp)["PATH"])
        assert found is not None, f"{command} is not on the image's PATH"
        return found


def _copy(source: Path, target: Path) -> None:
    """COPY: a directory's contents into the target directory, a file to the target path."""
    if source.is_dir() and not source.is_symlink():
        # Hard links: the same files at no cost in disk (a venv is gigabytes).
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True, copy_function=os.link)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            os.link(source, target)


def target_stages(stages: list[Stage], target: str) -> list[Stage]:
    """The stages BuildKit builds for TARGET: it, and the stages it is FROM or copies from."""
    by_name = {stage.name: stage for stage in stages if stage.name}
    needed = {target}
    pending = [by_name[target]]
    while pending:
        stage = pending.pop()
        for name in [stage.base, *copy_sources(stage)]:
            if name in by_name and name not in needed:
                needed.add(name)
                pending.append(by_name[name])
    return [stage for stage in stages if stage.name in needed]


def build_stages(
    stages: list[Stage],
    context: Path,
    bases: BaseImages,
    work: Path,
    skip_run: re.Pattern[str],
    extra_build_environment: dict[str, str],
) -> dict[str, BuiltStage]:
    """Run every stage: each gets a root directory under WORK (and WORK/tmp for /tmp).

    A RUN that SKIP_RUN matches is not run (it changes the machine, such as useradd); the
    caller checks that those are all the skipped ones. EXTRA_BUILD_ENVIRONMENT is what stands
    in for RUN's mounts (the uv cache).
    """
    built: dict[str, BuiltStage] = {}
    for index, stage in enumerate(stages):
        key = stage.name or str(index)
        root = work / f"stage-{index}-{key}"
        root.mkdir(parents=True)
        current = BuiltStage(stage, root, environment={"PATH": IMAGE_PATH, **bases.environment})
        if stage.base in built:
            raise AssertionError("FROM an earlier stage is not simulated")
        assert stage.base in bases.files, f"no stand-in for the base image {stage.base}"
        for image_path, here in bases.files[stage.base].items():
            target = current.host_path(image_path, work / "tmp")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(here)
        for instruction in stage.instructions:
            _apply(current, instruction, context, built, work, skip_run, extra_build_environment)
        built[key] = current
    return built


def _apply(
    current: BuiltStage,
    instruction: Instruction,
    context: Path,
    built: dict[str, BuiltStage],
    work: Path,
    skip_run: re.Pattern[str],
    extra_build_environment: dict[str, str],
) -> None:
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    keyword = instruction.keyword
    if keyword == "WORKDIR":
        current.workdir = instruction.arguments
        current.host_path(".", tmp).mkdir(parents=True, exist_ok=True)
    elif keyword == "ENV":
        for key, value in environment_pairs(instruction.arguments).items():
            current.environment[key] = value.replace("$PATH", current.environment["PATH"])
    elif keyword == "COPY":
        flags, words = split_flags(instruction.arguments)
        assert set(flags) <= {"from"}, f"COPY flags not simulated: {flags}"
        *sources, destination = words
        origin = built[flags["from"]] if "from" in flags else None
        for source in sources:
            if origin is None:
                source_path = context / source
                assert source_path.exists(), f"COPY {source}: not in the build context"
            else:
                source_path = origin.host_path(source, tmp)
                assert source_path.exists() or source_path.is_symlink(), f"COPY --from {source}"
            target = current.host_path(destination, tmp)
            if destination.endswith("/") and not source_path.is_dir():
                target = target / source_path.name
            _copy(source_path, target)
    elif keyword == "RUN":
        flags, command = run_instruction_parts(instruction.arguments)
        assert set(flags) <= {"mount"} and all(
            value.startswith("type=cache,") for value in flags.values()
        ), f"RUN flags not simulated: {flags}"
        if skip_run.search(command):
            return
        environment = {**current.host_environment(tmp), **extra_build_environment}
        completed = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=current.host_path(".", tmp),
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, (
            f"RUN (line {instruction.line}) exited {completed.returncode}\n{command}\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    elif keyword not in {"LABEL", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "USER"}:
        raise AssertionError(f"{keyword} (line {instruction.line}) is not simulated")


# The image catalogue and the files that pin versions.


def install_catalogue_uv(target: Path) -> Path:
    """uv at the catalogue's version, from PyPI by hash (tests/uv_catalogue), into TARGET."""
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is not on PATH: install uv (https://docs.astral.sh/uv/)"
    requirements = REPO_ROOT / "tests" / "uv_catalogue" / "requirements.txt"
    options = ("--quiet", "--require-hashes", "--target", str(target))
    inputs = ("--python", str(base_interpreter()), "--requirement", str(requirements))
    completed = run_command([uv, "pip", "install", *options, *inputs], REPO_ROOT)
    assert completed.returncode == 0, completed.stderr
    executable = target / "bin" / "uv"
    version = run_command([str(executable), "--version"], target).stdout.split()
    assert version[:2] == ["uv", catalogue()["uv"]["tag"]], version
    return executable


def catalogue_uv_run(
    uv: Path, arguments: list[str], cwd: Path, cache: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    """The catalogue's uv, offline, with a cache of its own (its cache format differs)."""
    return run_command(
        [str(uv), *arguments],
        cwd,
        environment={
            "UV_CACHE_DIR": str(cache),
            "UV_OFFLINE": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            **environment,
        },
    )


def catalogue() -> dict[str, Any]:
    document = yaml.safe_load((REPO_ROOT / "devcontainer" / "catalogue.yml").read_text("utf-8"))
    images: dict[str, Any] = document["image_catalogue"]["default"]
    return images


def reference(entry: dict[str, str]) -> str:
    return f"{entry['image']}:{entry['tag']}@{entry['digest']}"


def python_patch_version() -> str:
    """The Python of the catalogue's slim image (3.11.8): every container's interpreter."""
    (entry,) = catalogue()["python"].values()
    version = str(entry["tag"]).split("-")[0]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), entry["tag"]
    return version


def base_interpreter() -> Path:
    """The machine's Python that runs these tests (outside any virtualenv)."""
    interpreter = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    assert interpreter.is_file(), f"no interpreter at {interpreter}"
    return interpreter


# Running the image's command here.


def image_command(runtime: BuiltStage, words: list[str], tmpfs: Path, port: int) -> list[str]:
    """ENTRYPOINT + WORDS as they run here: the image's paths mapped, localhost and a free port."""
    found = runtime.stage.last("ENTRYPOINT")
    assert found is not None, "the image has no ENTRYPOINT"
    entrypoint = exec_form(found.arguments)
    command = [runtime.resolve(entrypoint[0], tmpfs), *entrypoint[1:]]
    replacements = {"--host": "127.0.0.1", "--port": str(port)}
    for previous, word in zip(["", *words], words, strict=False):
        if previous in replacements:
            command.append(replacements[previous])
        elif word.startswith(IMAGE_PREFIXES):
            command.append(str(runtime.host_path(word, tmpfs)))
        else:
            command.append(word)
    return command


def filesystem_state(root: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of everything under ROOT: a write anywhere changes it."""
    state = {}
    for directory, names, files in os.walk(root):
        for name in [*names, *files]:
            status = (Path(directory) / name).lstat()
            relative = os.path.relpath(Path(directory) / name, root)
            state[relative] = (status.st_mtime_ns, status.st_size)
    return state


def http_get(url: str) -> tuple[int, bytes]:
    """The status and body of a GET (an error status too)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http://127.0.0.1
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Until URL answers 200; fails (with the service's log) if it exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited:\n{log.read_text('utf-8')}"
        try:
            if http_get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} was not 200 within {seconds} s:\n{log.read_text('utf-8')}")


# The project image, built here.


@dataclass(frozen=True)
class BuiltImage:
    build: BuiltStage
    runtime: BuiltStage
    work: Path

    def site_packages(self, stage: BuiltStage) -> Path:
        venv = self.build.stage.environment()["UV_PROJECT_ENVIRONMENT"]
        (found,) = stage.host_path(venv, self.work).glob("lib/python3.*/site-packages")
        return found


def build_project_image(project: Path, work: Path, skip_run: re.Pattern[str]) -> BuiltImage:
    """Build PROJECT's Dockerfile under WORK from the context its .dockerignore makes.

    Stand-ins: the machine's uv for the catalogue's (the same flags; the catalogue's would
    download torch again, its cache format differs), the machine's uv cache for the RUN's cache
    mount, and the machine's interpreter of the project's minor version for the image's.
    """
    context = work / "context"
    for relative in build_context(project):
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / relative, context / relative)
    uv = Path(os.environ.get("UV") or shutil.which("uv") or "uv")
    cache = subprocess.run(
        [str(uv), "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    python_version = re.search(r'^requires-python = "==(\d+\.\d+)\.\*"$', pyproject, re.M)
    assert python_version, "requires-python names no minor version"
    minor = python_version.group(1)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" == minor, (
        "run the tests on Python " + minor
    )
    images = catalogue()
    interpreter = base_interpreter()
    bases = BaseImages(
        files={
            reference(images["uv"]): {"/uv": uv, "/uvx": uv.with_name("uvx")},
            reference(images["python"][minor]): {
                f"/usr/local/bin/{name}": interpreter
                for name in ("python", "python3", f"python{minor}")
            },
        },
        environment={"LANG": "C.UTF-8", "HOME": "/root"},
    )
    every_stage = read_dockerfile(project / "Dockerfile")
    # The default target, the last stage, as `docker build .` builds it.
    stages = target_stages(every_stage, str(every_stage[-1].name))
    built = build_stages(stages, context, bases, work, skip_run, {"UV_CACHE_DIR": cache})
    return BuiltImage(built["build"], built[str(stages[-1].name)], work)


def healthcheck_command(runtime: BuiltStage, tmpfs: Path, port: int) -> list[str]:
    """The image's HEALTHCHECK command as it runs here (its port 8000 moved to PORT)."""
    healthcheck = runtime.stage.last("HEALTHCHECK")
    assert healthcheck is not None, "the image has no HEALTHCHECK"
    probe = exec_form(healthcheck.arguments.partition(" CMD ")[2])
    address = probe[-1].replace(":8000/", f":{port}/")
    assert address != probe[-1], f"the health check does not ask port 8000: {probe}"
    return [runtime.resolve(probe[0], tmpfs), *probe[1:-1], address]
