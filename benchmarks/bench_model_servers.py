"""The generated model service against LitServe and BentoML serving the same model, under wrk.

Prints figures; asserts nothing. Each framework serves the project's own model (loaded and run
by the project's code, see benchmarks/model_servers/) from a virtualenv holding the project's
locked dependencies plus the framework's pins (benchmarks/model_servers/requirements-*.txt),
built once under the cache directory. Before any timing, every server must answer the
project's golden set within 1e-5; then the project's benchmarks/bench_serving.py puts them
under the same load as its own service (--also NAME=URL), at 32 connections:

    uv run --frozen python benchmarks/bench_model_servers.py [--project PATH] [-- ARGS...]

PATH is a trained generated project (`uv sync --locked` and `uv run --frozen dvc repro` done);
without it, one is generated, synced and trained in a temporary directory (minutes). ARGS go
to bench_serving.py unchanged. After changing requirements-FRAMEWORK.in, or when the template's
pins move, re-pin with `--lock --project PATH`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVERS_DIRECTORY = Path(__file__).resolve().parent / "model_servers"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hermetic-bench"
HOST = "127.0.0.1"
CONNECTIONS = 32
GOLDEN_TOLERANCE = 1e-5
POLL_SECONDS = 0.5
STOP_SECONDS = 15.0
LOCK_COMMAND = "uv run --frozen python benchmarks/bench_model_servers.py --lock --project PATH"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")

logger = logging.getLogger("bench_model_servers")


class BenchmarkError(Exception):
    """Something the user can fix; the message says what and how."""


def _environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without our virtualenv, plus EXTRA."""
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return {**environment, **(extra or {})}


def _run(command: Sequence[str], cwd: Path, log: Path | None = None) -> str:
    """Run COMMAND and return its stdout, or append its output to LOG; a failure says why."""
    if log is None:
        completed = subprocess.run(
            list(command), cwd=cwd, env=_environment(), capture_output=True, text=True, check=False
        )
        returncode, stdout, output = completed.returncode, completed.stdout, completed.stderr
    else:
        with log.open("a", encoding="utf-8") as sink:
            returncode = subprocess.run(
                list(command), cwd=cwd, env=_environment(), stdout=sink, stderr=sink, check=False
            ).returncode
        stdout, output = "", log.read_text(encoding="utf-8", errors="replace")
    if returncode != 0:
        msg = f"`{' '.join(command)}` in {cwd} failed ({returncode}):\n{output[-3000:]}"
        raise BenchmarkError(msg)
    return stdout


@dataclass(frozen=True)
class Project:
    """A trained generated project: its package, interpreter and model directory."""

    root: Path
    package: str

    @property
    def python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def bench_serving(self) -> Path:
        return self.root / "benchmarks" / "bench_serving.py"

    @classmethod
    def at(cls, root: Path) -> Project:
        root = root.resolve()
        try:
            pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            msg = f"{root} has no pyproject.toml; give --project a project made by `hermetic new`"
            raise BenchmarkError(msg) from error
        backend = pyproject.get("tool", {}).get("uv", {}).get("build-backend", {})
        name = str(pyproject["project"]["name"])
        project = cls(root, str(backend.get("module-name", re.sub(r"[-.]", "_", name.lower()))))
        if not project.python.exists():
            msg = f"{project.python} does not exist; run `uv sync --locked` in {root}"
            raise BenchmarkError(msg)
        for needed in ("model.safetensors", "golden.json"):
            if not (project.models / needed).exists():
                msg = f"{project.models / needed} does not exist; run `uv run --frozen dvc repro`"
                raise BenchmarkError(msg)
        return project


# --- Virtualenvs: the project's lock plus one framework's pins ---------------------------------


def _pins(requirements: str) -> dict[str, tuple[str, str]]:
    """Normalized name -> (version, the requirement's lines) for each `name==version` entry;
    comments are left out (`# via PROJECT` would make two projects' equal pins differ)."""
    entries: dict[str, tuple[str, str]] = {}
    current: list[str] = []
    for line in [*requirements.splitlines(), "#end"]:
        if line[:1].isspace() and current:
            if not line.lstrip().startswith("#"):
                current.append(line)
            continue
        if current:
            match = _PIN.match(current[0])
            if match is None:
                msg = f"not an exact pin: {current[0]!r}; pin it with =="
                raise BenchmarkError(msg)
            name = re.sub(r"[-_.]+", "-", match.group(1).lower())
            entries[name] = (match.group(2), "\n".join(current))
        current = [line] if line and not line.startswith("#") else []
    return entries


def _project_requirements(project: Project, *, hashes: bool) -> str:
    command = ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--no-header"]
    command += ["--project", str(project.root)]
    return _run(command if hashes else [*command, "--no-hashes"], project.root)


def _framework_files(framework: str) -> tuple[Path, Path]:
    return (
        SERVERS_DIRECTORY / f"requirements-{framework}.in",
        SERVERS_DIRECTORY / f"requirements-{framework}.txt",
    )


def _merged_requirements(project: Project, framework: str) -> tuple[str, list[str]]:
    """The project's locked pins with the framework's added; where the framework's .in pins a
    package the project also locks, the framework's version wins (listed in the notes)."""
    source, locked = _framework_files(framework)
    overrides = _pins(source.read_text(encoding="utf-8"))
    added = _pins(locked.read_text(encoding="utf-8"))
    merged = _pins(_project_requirements(project, hashes=True))
    notes: list[str] = []
    for name, (version, lines) in added.items():
        if name in merged and merged[name][0] != version:
            if name not in overrides:
                msg = (
                    f"{locked.name} pins {name}=={version}, the project locks "
                    f"{name}=={merged[name][0]}: re-pin with `{LOCK_COMMAND}`"
                )
                raise BenchmarkError(msg)
            notes.append(f"{framework}: {name} {version} (the project locks {merged[name][0]})")
        merged[name] = (version, lines)
    return "\n".join(merged[name][1] for name in sorted(merged)), notes


def framework_environment(project: Project, framework: str, cache: Path) -> tuple[Path, list[str]]:
    """A virtualenv with the project's locked pins, the framework's and the project itself,
    built once per set of pins (files come hard-linked from uv's cache) and reused."""
    requirements, notes = _merged_requirements(project, framework)
    interpreter = project.python.resolve()
    key = hashlib.sha256(f"{interpreter}\n{requirements}".encode()).hexdigest()[:16]
    venv = cache / f"{framework}-{key}"
    if not (venv / "requirements.txt").exists():
        logger.info("building %s (once for these pins)", venv)
        shutil.rmtree(venv, ignore_errors=True)  # an unfinished build; scripts hold this path
        cache.mkdir(parents=True, exist_ok=True)
        _run(["uv", "venv", "--quiet", "--python", str(interpreter), str(venv)], cache)
        pinned = venv / "pinned.txt"
        pinned.write_text(requirements + "\n", encoding="utf-8")
        python = str(venv / "bin" / "python")
        install = ["uv", "pip", "install", "--quiet", "--python", python, "--require-hashes"]
        _run([*install, "-r", str(pinned)], cache)
        _run(["uv", "pip", "check", "--python", python], cache)
        pinned.rename(venv / "requirements.txt")  # the mark of a finished build
    # The project's package itself, editable: its code is read from PATH/src on every start.
    python = str(venv / "bin" / "python")
    _run(
        ["uv", "pip", "install", "--quiet", "--python", python, "--no-deps", "-e", "."],
        project.root,
    )
    return venv, notes


def lock_framework(project: Project, framework: str) -> None:
    """Re-pin requirements-FRAMEWORK.txt, with hashes: its .in resolved against the project's
    lock, keeping only what the project does not already lock (and the .in's own pins)."""
    source, locked = _framework_files(framework)
    overrides = _pins(source.read_text(encoding="utf-8"))
    project_pins = _pins(_project_requirements(project, hashes=False))
    shared = {name: lines for name, (_, lines) in project_pins.items() if name not in overrides}
    version = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    python_version = _run([str(project.python), "-c", version], project.root).strip()
    pyproject = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    exclude_newer = pyproject.get("tool", {}).get("uv", {}).get("exclude-newer")
    with tempfile.TemporaryDirectory(prefix="bench-lock-") as temporary:
        constraints = Path(temporary) / "project-lock.txt"
        constraints.write_text("\n".join(shared.values()) + "\n", encoding="utf-8")
        command = ["uv", "pip", "compile", source.name, "--constraints", str(constraints)]
        command += ["--universal", "--python-version", python_version, "--generate-hashes"]
        command += ["--quiet", "--output-file", locked.name]
        command += ["--custom-compile-command", LOCK_COMMAND]
        if exclude_newer:
            command += ["--exclude-newer", str(exclude_newer)]
        for name in shared:
            command += ["--no-emit-package", name]
        _run(command, SERVERS_DIRECTORY)
    logger.info("pinned %s", locked)


# --- Servers ------------------------------------------------------------------------------------

# Name -> the framework whose virtualenv runs it.
SERVERS = {"litserve": "litserve", "litserve-fast-queue": "litserve", "bentoml": "bentoml"}


def server_command(name: str, venv: Path, port: int) -> list[str]:
    if SERVERS[name] == "litserve":
        script = SERVERS_DIRECTORY / "litserve_server.py"
        command = [str(venv / "bin" / "python"), str(script), "--port", str(port)]
        return [*command, "--fast-queue"] if name == "litserve-fast-queue" else command
    bentoml = str(venv / "bin" / "bentoml")
    service = "bentoml_service:ProjectModelService"
    options = ["--working-dir", str(SERVERS_DIRECTORY), "--host", HOST, "--port", str(port)]
    return [bentoml, "serve", service, *options]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _post(port: int, body: bytes, timeout: float) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


def _start_time(pid: int) -> str | None:
    """PID's start time (tells a reused pid apart), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _process_tree(root: int) -> dict[int, str]:
    """ROOT and its descendants as they are now: pid -> start time."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    tree: dict[int, str] = {}
    pending = [root]
    while pending:
        pid = pending.pop()
        start = _start_time(pid)
        if start is not None and pid not in tree:
            tree[pid] = start
            pending += children.get(pid, [])
    return tree


def _still_running(tree: dict[int, str]) -> list[int]:
    return [pid for pid, start in tree.items() if _start_time(pid) == start]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, a bounded wait, then SIGKILL to every process of
    its tree still there (BentoML's worker runs in a session of its own; LitServe's outlive
    their parent when it alone is signalled)."""
    tree = _process_tree(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # start_new_session: its pid names the group
    deadline = time.monotonic() + STOP_SECONDS
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    while _still_running(tree) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    for pid in _still_running(tree):
        logger.warning("killing %d, still running %.0f s after SIGTERM", pid, STOP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=STOP_SECONDS)
    deadline = time.monotonic() + STOP_SECONDS
    while _still_running(tree) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS / 5)


@contextlib.contextmanager
def running_server(
    name: str, venv: Path, project: Project, logs: Path, probe: bytes, timeout: float
) -> Iterator[int]:
    """Start NAME on 127.0.0.1 (output to LOGS/NAME.log), yield its port once it answers
    PROBE with 200, and always stop it."""
    port = _free_port()
    log = logs / f"{name}.log"
    environment = _environment(
        {
            "BENCH_MODEL_PACKAGE": project.package,
            "BENCH_MODEL_DIRECTORY": str(project.models),
            "BENTOML_HOME": str(logs / "bentoml-home"),
            "BENTOML_DO_NOT_TRACK": "True",
        }
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            server_command(name, venv, port),
            cwd=project.root,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                msg = f"{name} exited ({process.returncode}) before answering; {log}:\n{_tail(log)}"
                raise BenchmarkError(msg)
            with contextlib.suppress(OSError, http.client.HTTPException):
                if _post(port, probe, timeout=2.0)[0] == 200:
                    break
            if time.monotonic() > deadline:
                msg = f"{name} did not answer on port {port} within {timeout:.0f} s; {log}:\n"
                raise BenchmarkError(msg + _tail(log))
            time.sleep(POLL_SECONDS)
        logger.info("%s answers on http://%s:%d/predict (log: %s)", name, HOST, port, log)
        yield port
    finally:
        _stop(process)


def check_golden(name: str, port: int, golden: dict[str, Any]) -> None:
    """NAME must give every golden row the recorded probability (within 1e-5) and label, and
    name the model version the golden set was recorded for: proof it serves the same model."""
    cases = golden["cases"]
    body = json.dumps({"instances": [case["instance"] for case in cases]}).encode()
    status, answer = _post(port, body, timeout=60.0)
    if status != 200:
        msg = f"{name} answered the golden set with HTTP {status}: {answer[:500]!r}"
        raise BenchmarkError(msg)
    answered = json.loads(answer)
    predictions = answered.get("predictions", [])
    differing = [
        f"row {row}: {prediction} instead of {case['expected']}"
        for row, (case, prediction) in enumerate(zip(cases, predictions, strict=False))
        if abs(prediction["probability"] - case["expected"]["probability"]) > GOLDEN_TOLERANCE
        or prediction["label"] != case["expected"]["label"]
    ]
    version = answered.get("model_version")
    if len(predictions) != len(cases) or differing or version != golden["model_version"]:
        msg = (
            f"{name} does not serve the project's model: {len(predictions)} answers for "
            f"{len(cases)} golden rows, model_version {version!r} (golden set: "
            f"{golden['model_version']!r}), {len(differing)} differ by more than "
            f"{GOLDEN_TOLERANCE}: {differing[:3]}; rebuild the model and golden set "
            "(`uv run --frozen dvc repro`) and check the server loads PATH/models"
        )
        raise BenchmarkError(msg)
    logger.info("%s matches the golden set (%d rows)", name, len(cases))


# --- The benchmark ------------------------------------------------------------------------------


def generate_project(workdir: Path, log: Path) -> Path:
    """`hermetic new` with default answers, synced and trained: minutes, output to LOG."""
    root = workdir / "project"
    logger.info("generating, syncing and training %s (log: %s)", root, log)
    new = ["uv", "run", "--frozen", "hermetic", "new", str(root), "--defaults"]
    _run([*new, "--data", "project_name=bench-servers"], REPO_ROOT, log)
    _run(["uv", "sync", "--locked"], root, log)
    _run(["uv", "run", "--frozen", "dvc", "repro"], root, log)
    return root


def framework_versions(frameworks: Sequence[str]) -> str:
    versions = []
    for framework in frameworks:
        pins = _pins(_framework_files(framework)[0].read_text(encoding="utf-8"))
        versions.append(f"{framework}=={pins[framework][0]}")
    return ", ".join(versions)


def framework_environments(
    project: Project, frameworks: Sequence[str], cache: Path
) -> tuple[dict[str, Path], list[str]]:
    """Each framework's virtualenv, and the project pins each one overrides."""
    environments: dict[str, Path] = {}
    notes: list[str] = []
    for framework in frameworks:
        environments[framework], overridden = framework_environment(project, framework, cache)
        notes += overridden
    return environments, notes


def benchmark(arguments: argparse.Namespace, forwarded: Sequence[str], workdir: Path) -> int:
    logs = Path(tempfile.mkdtemp(prefix="bench-model-servers-logs-"))  # kept: read on failure
    project = Project.at(arguments.project or generate_project(workdir, logs / "generate.log"))
    frameworks = sorted({SERVERS[name] for name in arguments.servers})
    if arguments.lock:
        for framework in frameworks:
            lock_framework(project, framework)
        return 0
    if not arguments.check_only and not project.bench_serving.exists():
        msg = (
            f"{project.bench_serving} does not exist: the project predates the serving "
            "benchmark; generate a new one (omit --project) or `copier update` it"
        )
        raise BenchmarkError(msg)
    environments, notes = framework_environments(project, frameworks, arguments.cache_dir)
    golden = json.loads((project.models / "golden.json").read_text(encoding="utf-8"))
    probe = json.dumps({"instances": [golden["cases"][0]["instance"]]}).encode()
    with contextlib.ExitStack() as servers:
        ports: dict[str, int] = {}
        for name in arguments.servers:
            venv = environments[SERVERS[name]]
            server = running_server(name, venv, project, logs, probe, arguments.startup_timeout)
            ports[name] = servers.enter_context(server)
        for name, port in ports.items():
            check_golden(name, port, golden)
        print(f"model servers: {framework_versions(frameworks)}; logs in {logs}")
        for note in notes:
            print(f"  dependency overridden for {note}")
        sys.stdout.flush()
        if arguments.check_only:
            return 0
        command = [str(project.python), str(project.bench_serving)]
        command += ["--connections", str(CONNECTIONS)]
        for name, port in ports.items():
            command += ["--also", f"{name}=http://{HOST}:{port}/predict"]
        # Inherits stdout: its figures are this benchmark's output.
        completed = subprocess.run(
            [*command, *forwarded], cwd=project.root, env=_environment(), check=False
        )
        return completed.returncode


def _split_forwarded(argv: list[str]) -> tuple[list[str], list[str]]:
    """This script's arguments, and those after `--` (for bench_serving.py)."""
    if "--" not in argv:
        return argv, []
    separator = argv.index("--")
    return argv[:separator], argv[separator + 1 :]


def main() -> None:
    own, forwarded = _split_forwarded(sys.argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Arguments after -- go to the project's benchmarks/bench_serving.py.",
    )
    parser.add_argument("--project", type=Path, help="A trained generated project.")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=list(SERVERS),
        default=list(SERVERS),
        help="Which to start (default: all).",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="Virtualenvs.")
    parser.add_argument("--startup-timeout", type=float, default=180.0, help="Seconds.")
    parser.add_argument(
        "--check-only", action="store_true", help="Start and golden-check; no load."
    )
    parser.add_argument(
        "--lock", action="store_true", help="Re-pin requirements-*.txt against --project."
    )
    arguments = parser.parse_args(own)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-model-servers-") as workdir:
        try:
            status = benchmark(arguments, forwarded, Path(workdir))
        except BenchmarkError as error:
            logger.error("bench_model_servers: %s", error)
            status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
