"""The generated Dockerfile, .dockerignore and DevContainers: the real linters accept them, every
image is the catalogue's digest, and the image's command serves the trained model.

hadolint comes with the tool's dev environment; checkov and the devcontainer CLI come from
scripts/install-system-tools.sh. No Docker engine runs here: `build_stages` builds the image's
filesystem from the Dockerfile's own instructions (tests/containers_support.py).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.containers_support import (
    BuiltImage,
    base_interpreter,
    build_project_image,
    catalogue,
    catalogue_uv_run,
    filesystem_state,
    healthcheck_command,
    image_command,
    install_catalogue_uv,
    python_patch_version,
    reference,
    wait_for,
)
from tests.dockerfile_support import (
    Stage,
    build_context,
    copied_images,
    copy_sources,
    devcontainer_uv_install,
    exec_form,
    image_references,
    is_in_context,
    read_dockerfile,
    read_dockerignore,
    requirement_lines,
    run_instruction_parts,
    split_flags,
)
from tests.helpers import (
    REPO_ROOT,
    free_port,
    group_requirements,
    normalized_distribution,
    read_answers,
    run_command,
    suppression_reason,
)

INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (scripts/test does)"
CHECKOV = REPO_ROOT / "tests" / "checkov" / ".venv" / "bin" / "checkov"
DEVCONTAINER_CLI = REPO_ROOT / "tests" / "devcontainer" / "node_modules" / ".bin" / "devcontainer"
UV_CATALOGUE = REPO_ROOT / "tests" / "uv_catalogue"
UV_REQUIREMENTS = ".devcontainer/uv-requirements.txt"
PROJECT_DOCKERFILE = "Dockerfile"
DEVCONTAINER_KINDS = ("gpu", "cpu")
DOCKERFILES = (
    PROJECT_DOCKERFILE,
    *(f".devcontainer/{kind}/Dockerfile" for kind in DEVCONTAINER_KINDS),
)
MODEL_FILES = ("model.safetensors", "model.json", "drift_reference.parquet", "golden.json")
EXTENSIONS = {"ms-python.python", "charliermarsh.ruff", "ms-python.mypy-type-checker"}
# A RUN of the runtime stage that only creates the service's user (not run on this machine).
USER_CREATION = re.compile(r"^groupadd [^;&|]* && useradd [^;&|]*$")
DIGEST_REFERENCE = re.compile(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}")


def expected_bases(answers: dict[str, Any]) -> dict[str, set[str]]:
    """The images each Dockerfile may name, for a variant's answers."""
    images = catalogue()
    uv = reference(images["uv"])
    python = reference(images["python"][answers["python_version"]])
    return {
        PROJECT_DOCKERFILE: {uv, python},
        ".devcontainer/gpu/Dockerfile": {uv, reference(images["cuda"][answers["cuda_version"]])},
        ".devcontainer/cpu/Dockerfile": {uv, python},
    }


def required(path: Path, what: str) -> Path:
    assert path.exists(), f"{what} is not installed at {path}: {INSTALL_HINT}"
    return path


# The answers that change the Dockerfiles and .dockerignore (data_source, dvc_remote do not).
CONTAINER_VARIANTS = ("defaults", "training-only-cuda12.6", "serving-without-k8s")


@pytest.fixture(scope="module", params=CONTAINER_VARIANTS)
def rendered(request: pytest.FixtureRequest, rendered_variant: Callable[[str], Path]) -> Path:
    return rendered_variant(request.param)


def stages_of(project: Path, dockerfile: str) -> list[Stage]:
    return read_dockerfile(project / dockerfile)


# hadolint, checkov: zero findings; a suppression only with its reason beside it.


def test_hadolint_finds_nothing_at_warning_level(rendered: Path) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint is missing from the tool's environment: run `uv sync`"
    command = [str(hadolint), "--no-color", "--format", "json", "--failure-threshold", "warning"]
    completed = run_command([*command, *DOCKERFILES], rendered)
    findings = json.loads(completed.stdout)
    serious = [finding for finding in findings if finding["level"] in {"error", "warning"}]
    assert completed.returncode == 0 and not serious, json.dumps(findings, indent=2)


def test_every_suppression_gives_its_reason(rendered: Path) -> None:
    for dockerfile in DOCKERFILES:
        lines = (rendered / dockerfile).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if ignore := re.search(r"#\s*hadolint\s+ignore=[\w,]+(.*)", line):
                reason = suppression_reason(lines, number, ignore.group(1))
                assert reason, f"{dockerfile}:{number + 1}: a hadolint ignore without its reason"
            if skip := re.search(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", line):
                reason = (skip.group(2) or "").strip()
                assert len(reason) >= 10, (
                    f"{dockerfile}:{number + 1}: {skip.group(1)} has no reason"
                )


def test_checkov_passes_every_dockerfile(rendered: Path) -> None:
    checkov = required(CHECKOV, "checkov")
    files = [argument for path in DOCKERFILES for argument in ("-f", str(rendered / path))]
    completed = run_command(
        [
            str(checkov),
            *files,
            *("--framework", "dockerfile", "--compact", "--skip-download"),
            *("--output", "json"),
        ],
        rendered,
    )
    report = json.loads(completed.stdout)
    results = report["results"]
    assert report["summary"]["resource_count"] == len(DOCKERFILES), report["summary"]
    assert not results["parsing_errors"], results["parsing_errors"]
    failed = [(check["check_id"], check["file_path"]) for check in results["failed_checks"]]
    assert completed.returncode == 0 and not failed, failed
    for check in results["skipped_checks"]:
        assert check["check_result"]["suppress_comment"].strip(), check["check_id"]


# The DevContainers: what the devcontainer CLI reads, and every version pinned.


@pytest.mark.parametrize("kind", DEVCONTAINER_KINDS)
def test_devcontainer_cli_reads_the_configuration(rendered: Path, kind: str) -> None:
    cli = required(DEVCONTAINER_CLI, "the devcontainer CLI")
    config_path = rendered / ".devcontainer" / kind / "devcontainer.json"
    completed = run_command(
        [
            str(cli),
            "read-configuration",
            *("--workspace-folder", str(rendered)),
            *("--config", str(config_path), "--docker-path", "/bin/true"),
        ],
        rendered,
    )
    assert completed.returncode == 0, completed.stderr
    configuration = json.loads(completed.stdout)["configuration"]
    build = configuration["build"]
    assert (config_path.parent / build["dockerfile"]).is_file(), build
    assert (config_path.parent / build["context"]).resolve() == rendered.resolve(), build
    assert "features" not in configuration, "features are pulled by tag: use the Dockerfile"
    assert configuration["postCreateCommand"] == "uv sync --locked"
    run_arguments = configuration.get("runArgs", [])
    if kind == "gpu":
        assert run_arguments[:2] == ["--gpus", "all"], run_arguments
    else:
        assert "--gpus" not in run_arguments, run_arguments
    stages = stages_of(rendered, f".devcontainer/{kind}/Dockerfile")
    user = stages[-1].last("USER")
    assert user is not None and configuration["remoteUser"] == user.arguments != "root"
    vscode = configuration["customizations"]["vscode"]
    pinned = [
        re.fullmatch(r"([\w-]+\.[\w-]+)@\d+\.\d+\.\d+", item) for item in vscode["extensions"]
    ]
    assert all(pinned), vscode["extensions"]
    assert {match.group(1) for match in pinned if match} == EXTENSIONS
    environment = stages[-1].environment()
    interpreter = f"{environment['UV_PROJECT_ENVIRONMENT']}/bin/python"
    assert vscode["settings"]["python.defaultInterpreterPath"] == interpreter
    assert vscode["settings"]["[python]"]["editor.defaultFormatter"] == "charliermarsh.ruff"


@pytest.mark.parametrize("kind", DEVCONTAINER_KINDS)
def test_devcontainer_pins_python_uv_and_packages(rendered: Path, kind: str) -> None:
    stages = stages_of(rendered, f".devcontainer/{kind}/Dockerfile")
    final = stages[-1]
    environment = final.environment()
    python = python_patch_version()
    assert environment["UV_PYTHON"] == python, "uv must pick exactly the pinned interpreter"
    assert environment["UV_PYTHON_DOWNLOADS"] == "never"
    bootstrap = catalogue()["uv"]
    assert copied_images(final, stages) == [reference(bootstrap)], "the catalogue's uv image"
    install = devcontainer_uv_install(final)
    assert {"--require-hashes", "--no-deps"} <= set(install), install
    target = install[install.index("--target") + 1]
    assert environment["PATH"].startswith(f"{target}/bin:"), "the project's uv comes first"
    commands = [run_instruction_parts(instruction.arguments)[1] for instruction in final.all("RUN")]
    assert any("rm /usr/local/bin/uv " in command for command in commands), "bootstrap uv stays"
    copies = [split_flags(instruction.arguments)[1] for instruction in final.all("COPY")]
    requirement = install[install.index("--requirement") + 1]
    assert [UV_REQUIREMENTS, requirement] in copies
    if kind == "gpu":
        assert environment["UV_PYTHON_PREFERENCE"] == "only-managed"
        assert sum(f"uv python install {python}" in command for command in commands) == 2
    else:
        assert environment["UV_PYTHON_PREFERENCE"] == "only-system"
        assert final.base.split(":")[1].startswith(f"{python}-"), final.base
    for command in commands:
        for packages in re.findall(r"apt-get install ((?:[^&;|])*)", command):
            names = [word for word in packages.split() if not word.startswith("-")]
            assert names and all(re.fullmatch(r"[\w.+-]+=\S+", name) for name in names), names


def test_devcontainer_uv_is_the_tested_uv_by_hash(rendered: Path) -> None:
    """The DevContainers' (and CI's) uv is the one this template release is tested with."""
    bootstrap = (REPO_ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    tested = re.search(r'^UV_VERSION="(\d+\.\d+\.\d+)"$', bootstrap, re.MULTILINE)
    assert tested is not None
    requirements = requirement_lines(rendered / UV_REQUIREMENTS)
    assert requirements[0] == f"uv=={tested.group(1)} \\", requirements
    assert len(requirements) > 1 and all(
        re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", line) for line in requirements[1:]
    ), requirements


def test_every_image_is_the_catalogue_entry_for_the_answers(rendered: Path) -> None:
    answers = read_answers(rendered)
    for dockerfile, allowed in expected_bases(answers).items():
        references = image_references(stages_of(rendered, dockerfile))
        for found in references:
            assert DIGEST_REFERENCE.fullmatch(found), f"{dockerfile}: {found} has no digest"
        assert set(references) == allowed, dockerfile
    gpu = stages_of(rendered, ".devcontainer/gpu/Dockerfile")[-1].base
    assert gpu == reference(catalogue()["cuda"][answers["cuda_version"]])


# The project image, read statically.


def _stage(stages: list[Stage], name: str) -> Stage:
    (found,) = [stage for stage in stages if stage.name == name]
    return found


def test_project_image_runs_as_a_numeric_user_without_uv_or_a_compiler(rendered: Path) -> None:
    stages = stages_of(rendered, PROJECT_DOCKERFILE)
    build, runtime = _stage(stages, "build"), stages[-1]
    python = reference(catalogue()["python"][read_answers(rendered)["python_version"]])
    assert build.base == runtime.base == python and "slim" in python
    user = runtime.last("USER")
    assert user is not None and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user.arguments), user
    assert runtime.instructions[-1].keyword in {"CMD", "ENTRYPOINT"}
    assert user.line > max(i.line for i in runtime.instructions if i.keyword in {"RUN", "COPY"})
    assert copy_sources(runtime) == [build.name, build.name], "only the build stage's results"
    for instruction in runtime.all("RUN"):
        assert USER_CREATION.fullmatch(instruction.arguments), instruction
    build_environment = build.environment()
    assert build_environment["UV_COMPILE_BYTECODE"] == "1"
    assert build_environment["UV_PYTHON_DOWNLOADS"] == "never"
    assert build_environment["UV_LINK_MODE"] == "copy"
    syncs = [
        run_instruction_parts(i.arguments)[1] for i in build.all("RUN") if "uv sync" in i.arguments
    ]
    assert syncs == ["uv sync --locked --no-dev --no-install-project"]
    environment = runtime.environment()
    assert environment["HOME"] == environment["TMPDIR"] == "/tmp"
    assert environment["PYTHONDONTWRITEBYTECODE"] == environment["PYTHONUNBUFFERED"] == "1"
    assert environment["PATH"].startswith(build_environment["UV_PROJECT_ENVIRONMENT"] + "/bin:")
    assert "docker run --rm --read-only --tmpfs /tmp" in (rendered / PROJECT_DOCKERFILE).read_text(
        encoding="utf-8"
    )


def test_project_image_command_health_and_model_follow_the_answers(rendered: Path) -> None:
    answers = read_answers(rendered)
    runtime = stages_of(rendered, PROJECT_DOCKERFILE)[-1]
    text = (rendered / PROJECT_DOCKERFILE).read_text(encoding="utf-8")
    entrypoint, command = runtime.last("ENTRYPOINT"), runtime.last("CMD")
    assert entrypoint is not None and command is not None
    assert exec_form(entrypoint.arguments) == ["python", "-m", answers["package_name"]]
    copies = [split_flags(instruction.arguments)[1] for instruction in runtime.all("COPY")]
    models = [words for words in copies if words[-1] == "/app/models/"]
    healthcheck = runtime.last("HEALTHCHECK")
    if answers["with_serving"]:
        assert exec_form(command.arguments) == [
            "serve", "--host", "0.0.0.0", "--port", "8000", "--model-directory", "/app/models",  # noqa: S104
        ]  # fmt: skip
        assert [expose.arguments for expose in runtime.all("EXPOSE")] == ["8000"]
        assert healthcheck is not None
        probe = exec_form(healthcheck.arguments.partition(" CMD ")[2])
        assert probe[0] == "python" and "http://127.0.0.1:8000/health/live" in probe[-1]
        assert models == [[f"models/{name}" for name in MODEL_FILES] + ["/app/models/"]]
        assert "dvc pull" in text, "the comment says the weights must be pulled before a build"
    else:
        assert exec_form(command.arguments) == ["--help"]
        assert healthcheck is None and not runtime.all("EXPOSE") and not models


def test_the_training_target_adds_dvc_and_the_pipeline_files_to_the_runtime_set(
    rendered: Path,
) -> None:
    """`--target training`: the training pods' image. The same interpreter, user and read-only
    layout as the default target, the lock's `pipeline` group on top, the pipeline's files."""
    stages = stages_of(rendered, PROJECT_DOCKERFILE)
    names = [stage.name for stage in stages]
    assert names[-1] == "runtime", "the default target (`docker build .`) stays the last stage"
    training, runtime, pipeline = (_stage(stages, n) for n in ("training", "runtime", "pipeline"))
    assert training.base == runtime.base and pipeline.base == "build"
    syncs = [run_instruction_parts(i.arguments)[1] for i in pipeline.all("RUN")]
    assert syncs == ["uv sync --locked --no-dev --group pipeline --no-install-project"]
    copies = [split_flags(instruction.arguments) for instruction in training.all("COPY")]
    assert ({"from": "pipeline"}, ["/opt/venv", "/opt/venv"]) in copies
    assert ({"from": "build"}, ["/app/src", "/app/src"]) in copies
    copied = {source for flags, words in copies if not flags for source in words[:-1]}
    assert copied == {"params.yaml", "dvc.yaml", "dvc.lock", ".dvcignore", ".dvc/config"}
    assert not any("models/" in source for source in copied), "the model comes from the remote"
    user = training.last("USER")
    assert user is not None and user.arguments == "10001:10001"
    assert user.line > max(i.line for i in training.all("COPY"))
    environment = training.environment()
    for key, value in runtime.environment().items():
        assert environment[key] == value, key
    # DVC's site cache defaults to /var/tmp/dvc, on the read-only root filesystem.
    assert environment["DVC_SITE_CACHE_DIR"].startswith("/tmp/")
    assert environment["DVC_NO_ANALYTICS"] == "1"
    entrypoint = training.last("ENTRYPOINT")
    assert entrypoint is not None
    assert exec_form(entrypoint.arguments) == [
        "python",
        "-m",
        read_answers(rendered)["package_name"],
    ]


# .dockerignore: what a build context holds.


def test_dockerignore_matching_follows_dockers_documented_examples() -> None:
    patterns = read_dockerignore("# comment\n*/temp*\n*/*/temp*\ntemp?\n**/*.go\n")
    excluded = ["somedir/temporary.txt", "somedir/temp", "somedir/subdir/temporary.txt", "tempa"]
    kept = ["temporary.txt", "a/b/c/temp.txt", "tempab", "main.c"]
    assert not any(is_in_context(path, patterns) for path in [*excluded, "x/y/main.go"])
    assert all(is_in_context(path, patterns) for path in kept)
    patterns = read_dockerignore("*.md\n!README*.md\nREADME-secret.md\n")
    assert [is_in_context(p, patterns) for p in ("a.md", "README-x.md", "README-secret.md")] == [
        False,
        True,
        False,
    ]
    patterns = read_dockerignore("*\n!src/\n**/__pycache__\n")
    assert is_in_context("src/pkg/a.py", patterns)
    assert not is_in_context("src/pkg/__pycache__/a.pyc", patterns)
    assert not is_in_context(".venv/bin/python", patterns)


def test_the_build_context_holds_only_what_the_image_copies(rendered: Path, tmp_path: Path) -> None:
    answers = read_answers(rendered)
    project = tmp_path / "project"
    shutil.copytree(rendered, project)
    package = answers["package_name"]
    planted = [
        ".venv/bin/python",
        ".git/HEAD",
        "data/raw/dataset.parquet",
        "data/processed/train.parquet",
        "checkpoints/latest.safetensors",
        f"src/{package}/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/cache.db",
        "reports/metrics.json",
        "uv.lock",
        "dvc.lock",
        ".dvc/config.local",
        ".dvc/cache/files/md5/00/0000",
        ".dvc/tmp/lock",
        *(f"models/{name}" for name in MODEL_FILES),
    ]
    for relative in planted:
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(b"planted")
    sources = {
        path.relative_to(project).as_posix()
        for path in (project / "src").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    expected = sources | {"pyproject.toml", "uv.lock", "params.yaml", UV_REQUIREMENTS}
    # The training target's pipeline files; never .dvc/config.local (credentials), the cache.
    expected |= {"dvc.yaml", "dvc.lock", ".dvcignore", ".dvc/config"}
    if answers["with_serving"]:
        expected |= {f"models/{name}" for name in MODEL_FILES}
    context = set(build_context(project))
    assert context == expected, (sorted(context - expected), sorted(expected - context))
    copies = [
        split_flags(instruction.arguments)
        for dockerfile in DOCKERFILES
        for stage in stages_of(project, dockerfile)
        for instruction in stage.all("COPY")
    ]
    for flags, words in copies:
        for source in words[:-1] if "from" not in flags else []:
            assert any(path.startswith(source.rstrip("/")) for path in context), source


def test_the_hashed_uv_requirement_is_the_catalogue_uv() -> None:
    version = catalogue()["uv"]["tag"]
    requirements = (UV_CATALOGUE / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(rf"^uv=={re.escape(version)} \\$", requirements, re.MULTILINE)
    assert f"uv=={version}" in (UV_CATALOGUE / "requirements.in").read_text(encoding="utf-8")
    assert "--hash=sha256:" in requirements


# The catalogue's uv (the images' uv) with the generated lock.


@pytest.fixture(scope="module")
def catalogue_uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_catalogue_uv(tmp_path_factory.mktemp("catalogue-uv"))


@pytest.mark.slow
def test_catalogue_uv_accepts_the_generated_lock(
    catalogue_uv: Path, generated_project: Callable[[str], Path], tmp_path: Path
) -> None:
    project = generated_project("defaults")
    completed = catalogue_uv_run(catalogue_uv, ["lock", "--check"], project, tmp_path / "cache")
    assert completed.returncode == 0, completed.stderr
    stale = tmp_path / "stale"
    stale.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy2(project / name, stale / name)
    pyproject = (stale / "pyproject.toml").read_text(encoding="utf-8")
    without_rich = re.sub(r'\n    "rich==[^"]+",', "", pyproject)
    assert without_rich != pyproject, "the control needs a dependency to drop"
    (stale / "pyproject.toml").write_text(without_rich, encoding="utf-8")
    assert catalogue_uv_run(catalogue_uv, ["lock", "--check"], stale, tmp_path / "cache").returncode


@pytest.mark.slow
def test_catalogue_uv_can_install_the_devcontainer_python(
    catalogue_uv: Path, tmp_path: Path
) -> None:
    arguments = ["python", "list", python_patch_version(), "--all-versions", "--only-downloads"]
    listed = catalogue_uv_run(catalogue_uv, arguments, tmp_path, tmp_path / "cache")
    assert f"cpython-{python_patch_version()}-linux-x86_64-gnu" in listed.stdout, listed


@pytest.mark.slow
@pytest.mark.parametrize("kind", DEVCONTAINER_KINDS)
def test_catalogue_uv_installs_the_devcontainer_uv(
    catalogue_uv: Path, rendered_variant: Callable[[str], Path], kind: str, tmp_path: Path
) -> None:
    """The DevContainer's own `uv pip install` words, run by the catalogue's uv from PyPI; the
    machine's interpreter stands in for the image's (the same minor version)."""
    project = rendered_variant("defaults")
    words = devcontainer_uv_install(stages_of(project, f".devcontainer/{kind}/Dockerfile")[-1])
    target = tmp_path / "target"
    replacements = {
        "--python": str(base_interpreter()),
        "--target": str(target),
        "--requirement": str(project / UV_REQUIREMENTS),
    }
    command = [str(catalogue_uv)]
    for previous, word in itertools.pairwise(words):
        command.append(replacements.get(previous, word))
    assert set(replacements) <= set(words), words
    completed = run_command(
        command, tmp_path, environment={"UV_CACHE_DIR": str(tmp_path / "cache")}
    )
    assert completed.returncode == 0, completed.stderr
    version = run_command([str(target / "bin" / "uv"), "--version"], tmp_path).stdout.split()[:2]
    pin = requirement_lines(project / UV_REQUIREMENTS)[0]
    assert pin == f"uv=={version[1]} \\", (pin, version)


# The project image, built from its Dockerfile without Docker, run as its CMD says.


@pytest.fixture(scope="module")
def image(
    reproduced_project: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltImage]:
    """The project image of the trained default project, every stage built (see
    `build_project_image` for what stands in for the base images)."""
    project, _ = reproduced_project
    work = tmp_path_factory.mktemp("image")
    yield build_project_image(project, work, USER_CREATION)
    shutil.rmtree(work, ignore_errors=True)  # gigabytes: torch and its CUDA libraries


@pytest.mark.slow
def test_image_environment_is_the_locked_runtime_set(
    image: BuiltImage,
    catalogue_uv: Path,
    reproduced_project: tuple[Path, str],
    tmp_path: Path,
) -> None:
    project, _ = reproduced_project
    packages = image.site_packages(image.runtime)
    installed = {
        (normalized_distribution(match.group(1)), match.group(2))
        for path in packages.glob("*.dist-info")
        if (match := re.fullmatch(r"(.+)-([^-]+)\.dist-info", path.name))
    }
    dev = group_requirements(tomllib.loads((project / "pyproject.toml").read_text("utf-8")), "dev")
    dev_names = {normalized_distribution(re.split(r"[=<>;\[ ]", item)[0]) for item in dev}
    assert not dev_names & {name for name, _ in installed}, "dev-only packages in the image"
    venv_bin = packages.parents[2] / "bin"
    assert not {"uv", "uvx", "gcc", "cc"} & {path.name for path in venv_bin.iterdir()}
    plan = catalogue_uv_run(
        catalogue_uv,
        ["sync", "--locked", "--no-dev", "--no-install-project", "--dry-run"],
        project,
        tmp_path / "cache",
        UV_PROJECT_ENVIRONMENT=str(tmp_path / "venv"),
    )
    assert plan.returncode == 0, plan.stderr
    planned = {
        (normalized_distribution(name), version)
        for name, version in re.findall(r"^ \+ ([\w.-]+)==(\S+)$", plan.stderr, re.MULTILINE)
    }
    assert planned and planned == installed, planned ^ installed


@pytest.mark.slow
def test_image_command_serves_the_trained_model_from_a_read_only_root(image: BuiltImage) -> None:
    runtime = image.runtime
    tmpfs = image.work / "tmpfs"
    tmpfs.mkdir()
    port = free_port()
    cmd = runtime.stage.last("CMD")
    assert cmd is not None
    command = image_command(runtime, exec_form(cmd.arguments), tmpfs, port)
    environment = runtime.host_environment(tmpfs)
    probe = healthcheck_command(runtime, tmpfs, port)
    before = filesystem_state(runtime.root)
    log = image.work / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=runtime.host_path(".", tmpfs),
            env=environment,
            stdout=output,
            stderr=output,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/health/live", process, log, 120)
        wait_for(f"{base}/health/ready", process, log, 60)
        assert subprocess.run(probe, env=environment, check=False).returncode == 0
        golden = json.loads(runtime.host_path("/app/models/golden.json", tmpfs).read_text("utf-8"))
        case = golden["cases"][0]
        request = urllib.request.Request(  # noqa: S310 - localhost
            f"{base}/predict",
            data=json.dumps({"instances": [case["instance"]]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
            body = json.load(response)
        (prediction,) = body["predictions"]
        assert prediction["label"] == case["expected"]["label"]
        assert prediction["probability"] == pytest.approx(case["expected"]["probability"], abs=1e-6)
        assert body["model_version"] == golden["model_version"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            process.kill()
    assert subprocess.run(probe, env=environment, capture_output=True, check=False).returncode
    changed = {
        path for path, state in filesystem_state(runtime.root).items() if before.get(path) != state
    }
    assert not changed and before.keys() == filesystem_state(runtime.root).keys(), sorted(changed)


@pytest.mark.slow
def test_image_runs_the_training_command(image: BuiltImage) -> None:
    runtime = image.runtime
    tmpfs = image.work / "tmpfs-train"
    tmpfs.mkdir()
    command = image_command(runtime, ["train", "--help"], tmpfs, 0)
    completed = subprocess.run(
        command,
        cwd=runtime.host_path(".", tmpfs),
        env=runtime.host_environment(tmpfs),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "--checkpoint-directory" in completed.stdout


@pytest.mark.slow
def test_image_sources_are_byte_compiled_and_the_venv_is_the_images_python(
    image: BuiltImage,
) -> None:
    source = image.runtime.host_path("/app/src", image.work)
    modules = [path for path in source.rglob("*.py")]
    compiled = {path.parent.parent / path.name.split(".")[0] for path in source.rglob("*.pyc")}
    assert modules and {path.with_suffix("") for path in modules} <= compiled
    venv_python = image.site_packages(image.runtime).parents[2] / "bin" / "python"
    target = venv_python.readlink()
    image_interpreter = image.build.host_path("/usr/local/bin", image.work)
    assert target.parent == image_interpreter, "the venv must use the image's /usr/local/bin Python"
