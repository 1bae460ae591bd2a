"""After a template update, what copier cannot do itself: release migrations, then uv.lock.

`hermetic update` runs this after copier; on a branch where Renovate ran
`copier update --skip-answered --defaults` (no --trust, so copier ran no task or migration of
its own), the template-update workflow runs it and commits the result onto the branch.

1. Each release migration, .hermetic/migrations/vX.Y.Z.py, newer than the template version this
   project was last migrated to (.hermetic/migrated, which copier writes when it generates the
   project and never changes afterwards; --from overrides it) and not newer than the one it has
   now (_commit in .copier-answers.yml), runs once, oldest first, from the project's root.
   .hermetic/migrated advances after each: running this twice is running it once.
2. With a uv.lock, a pyproject.toml the update changed gets a fresh lock from `uv lock`, never
   a text merge.

Standard library only: it runs before the project's environment matches its lock.
Exit status: 0 done, 1 a migration failed or a conflict is left to resolve, 2 cannot run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ANSWERS = Path(".copier-answers.yml")
MIGRATED = Path(".hermetic/migrated")
MIGRATIONS = Path(".hermetic/migrations")
# A release tag, or `git describe` past one (v1.2.3-4-gabc1234): copier records either.
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-(\d+)-g[0-9a-f]+)?$")


class CannotRunError(Exception):
    """A precondition is not met; the message says what to do."""


def version_key(text: str, where: str) -> tuple[int, int, int, int]:
    match = VERSION.match(text.strip().strip("'\""))
    if match is None:
        msg = f"{where}: {text!r} is not a template version such as v1.2.3"
        raise CannotRunError(msg)
    major, minor, patch, past = match.groups()
    return int(major), int(minor), int(patch), int(past or 0)


def current_version() -> str:
    if not ANSWERS.is_file():
        msg = f"no {ANSWERS} here: run this from the project's root"
        raise CannotRunError(msg)
    found = re.search(r"^_commit:\s*(\S+)\s*$", ANSWERS.read_text(encoding="utf-8"), re.M)
    if found is None:
        msg = f"{ANSWERS} records no _commit: the project was not made from a template release"
        raise CannotRunError(msg)
    return found[1].strip("'\"")


def migrated_version(from_version: str | None) -> str:
    if from_version:
        return from_version
    recorded = MIGRATED.read_text(encoding="utf-8").strip() if MIGRATED.is_file() else ""
    if recorded:
        return recorded
    msg = (
        f"{MIGRATED} is missing or empty: pass the template version whose migrations the project "
        "has, e.g. --from \"$(git show HEAD~1:.copier-answers.yml | sed -n 's/^_commit: //p')\""
    )
    raise CannotRunError(msg)


def record(version: str) -> None:
    """Write MIGRATED atomically: a crash leaves the old version or the new one."""
    MIGRATED.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=MIGRATED.parent, prefix=".migrated.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(f"{version}\n")
    Path(temporary).replace(MIGRATED)


def pending_migrations(since: str, until: str) -> list[Path]:
    low, high = version_key(since, str(MIGRATED)), version_key(until, str(ANSWERS))
    if not MIGRATIONS.is_dir():
        return []
    found = [(version_key(path.stem, str(path)), path) for path in MIGRATIONS.glob("v*.py")]
    return [path for key, path in sorted(found) if low < key <= high]


def migrate(since: str, until: str) -> int:
    for migration in pending_migrations(since, until):
        sys.stdout.write(f"migration {migration.stem}: running {migration}\n")
        # The release's own migration, from the template this project trusts.
        completed = subprocess.run([sys.executable, str(migration)], check=False)  # noqa: S603
        if completed.returncode != 0:
            sys.stderr.write(
                f"migration {migration.stem} failed (exit {completed.returncode}); nothing after "
                f"it ran and {MIGRATED} still says {since}: fix what it reports, then run "
                f"{Path(__file__).as_posix()} again\n"
            )
            return 1
        since = migration.stem
        record(since)
    record(until)
    return 0


def refresh_lock() -> int:
    if not Path("uv.lock").is_file():
        return 0  # a project generated with --no-lock
    pyproject = Path("pyproject.toml").read_text(encoding="utf-8")
    if re.search(r"^(<<<<<<<|>>>>>>>) ", pyproject, re.M):
        sys.stderr.write(
            "pyproject.toml holds conflict markers: resolve them, then run "
            f"{Path(__file__).as_posix()} again (it locks once pyproject.toml is clean)\n"
        )
        return 1
    uv = shutil.which("uv")
    if uv is None:
        msg = "uv is not on PATH: install the version .devcontainer/uv-requirements.txt pins"
        raise CannotRunError(msg)
    check = subprocess.run([uv, "lock", "--check"], check=False, capture_output=True)  # noqa: S603
    if check.returncode:
        sys.stdout.write("uv.lock: pyproject.toml changed, locking again\n")
        return subprocess.run([uv, "lock"], check=False).returncode  # noqa: S603
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from",
        dest="from_version",
        help=f"migrate from this template version instead of the one {MIGRATED} records",
    )
    arguments = parser.parse_args()
    try:
        until = current_version()
        status = migrate(migrated_version(arguments.from_version), until)
        return status or refresh_lock()
    except CannotRunError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
