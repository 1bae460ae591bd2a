"""`serve`: checks that the service can start, then runs it on uvicorn (one or more workers)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from .settings import MULTIPROCESS_DIRECTORY_VARIABLE, ServiceSettings

_APP_FACTORY = f"{__name__.rsplit('.', 1)[0]}.app:create_app_from_environment"


def _metrics_directory() -> tuple[Path, bool]:
    """The directory where workers share metrics: the caller's (emptied of old values) or new."""
    given = os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory, False
    directory = Path(tempfile.mkdtemp(prefix="prometheus-multiproc-"))
    os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = str(directory)
    return directory, True


def run_service(settings: ServiceSettings, host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM/SIGINT; a model, golden set or reference that cannot load fails here,
    before any port is opened, with the reason."""
    directory, created = _metrics_directory()
    try:
        # Imported only now: prometheus_client picks its multiprocess mode on import.
        from .app import create_app  # noqa: PLC0415
        from .metrics import forget_worker  # noqa: PLC0415

        settings.to_environment()
        app = create_app(settings)
        common = {
            "host": host,
            "port": port,
            "log_config": None,  # keep the JSON log lines
            "access_log": False,  # the service writes its own, with request ids
            "timeout_graceful_shutdown": int(settings.graceful_timeout_seconds),
        }
        if workers == 1:
            uvicorn.run(app, **common)  # type: ignore[arg-type]
        else:
            forget_worker(os.getpid())  # the check above must not count as a live worker
            uvicorn.run(_APP_FACTORY, factory=True, workers=workers, **common)  # type: ignore[arg-type]
    finally:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
