"""The dependency rules, HM101-HM107, as data; what each reads is said in `dependencies`."""

from __future__ import annotations

from hermetic.audit.model import Rule, Severity

UNLOCKED = Rule(
    "HM101",
    "unlocked-dependencies",
    "Dependencies without a lock file",
    Severity.WARNING,
    "Commit a lock beside the manifest, not git-ignored: `uv lock` (or `poetry lock`, `pdm lock`,"
    " `pipenv lock`), or hash-pinned requirements from `uv pip compile --generate-hashes`; for a"
    " conda environment, `conda-lock -f environment.yml` (or `conda list --explicit --md5`).",
)
UNHASHED = Rule(
    "HM102",
    "unhashed-requirements",
    "Requirements without hashes",
    Severity.WARNING,
    "Compile the file with hashes (`uv pip compile --generate-hashes requirements.in -o "
    "requirements.txt` or `pip-compile --generate-hashes`); install with `--require-hashes`.",
)
STALE_LOCK = Rule(
    "HM103",
    "stale-lock",
    "Stale lock: uv.lock disagrees with pyproject.toml",
    Severity.ERROR,
    "Run `uv lock`, commit pyproject.toml and uv.lock together, and check them in CI with "
    "`uv lock --check`.",
)
RANGED = Rule(
    "HM104",
    "unpinned-requirement",
    "Requirement not pinned with ==",
    Severity.WARNING,
    "Pin the exact version with `==`: compile the file from a requirements.in with "
    "`uv pip compile`, or pin the package in a constraints file included with `-c`; in a conda "
    "environment file, give the version (`numpy=1.26.4`) and lock it with conda-lock.",
)
FLOATING_VCS = Rule(
    "HM105",
    "floating-vcs-dependency",
    "VCS dependency not pinned to a commit",
    Severity.WARNING,
    'Pin the full commit SHA: `name @ git+https://host/org/repo@<40-hex sha>`, or `rev = "<sha>"`'
    " in [tool.uv.sources].",
)
PRE_RELEASE = Rule(
    "HM106",
    "pre-release-dependency",
    "Pre-release or nightly dependency",
    Severity.WARNING,
    "Depend on a stable release; drop `--pre`, nightly indexes and channels and"
    ' `prerelease = "allow"`. If a nightly is unavoidable, pin its exact version with a hash and'
    " mirror the wheel: nightly indexes delete old builds.",
)
LOCKED_PRE_RELEASE = Rule(
    "HM107",
    "locked-pre-release",
    "Pre-release pinned by a lock",
    Severity.NOTE,
    "If a stable release exists, bound the package below the pre-release (e.g. `<2.0a0`) in "
    "pyproject.toml or requirements.in and re-lock; if it ships only pre-releases, suppress "
    "this with the reason.",
)
RULES: tuple[Rule, ...] = (
    UNLOCKED,
    UNHASHED,
    STALE_LOCK,
    RANGED,
    FLOATING_VCS,
    PRE_RELEASE,
    LOCKED_PRE_RELEASE,
)
