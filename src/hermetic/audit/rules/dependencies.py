"""Dependency hazards (HM101-HM107) in requirements files, pyproject.toml, Pipfile, conda
environment files and locks. The family: its rules and one check; the readers live in the
`deps_*` modules (requirements files, pyproject.toml, conda, locks, HM103's staleness).

Requirements files are `.txt` files, in any case, in a `requirements/` (or `requirement/`)
folder, or whose name starts with `requirement`/`requirements`/`constraints`, ends with
`requirement.txt`/`requirements.txt`/`constraints.txt`, or holds `requirement(s)` between
separators (`test-requirements-py3.txt`); and any file another one includes with `-r`/`-c`
(`-c` makes it a constraints file). They are read as pip does: `\\` continues a line, ` #`
starts a comment, options follow the requirement. `.in` files are inputs, not audited; a
file holding an `@EXPLICIT` line is a conda explicit list (a conda lock), not pip's.

conda environment files are YAML files named `environment*`/`env*`/`conda*` (MLflow's
`conda.yaml`; also `*-environment.yml`, `*_env.yaml`), any YAML file in an `env(s)/`,
`environment(s)/` or `conda/` folder, and any YAML file with top-level `channels:` and
`dependencies:`, when their `dependencies` are conda specs and an optional `{pip: [...]}`
list (Helm's and Ansible's `dependencies` are not). Their `pip:` list is read as the
requirements file conda hands pip, at its lines in the YAML file.

- HM101 fires once per pyproject.toml (at its first dependency list) that declares
  dependencies ([project] dependencies or optional-dependencies, [dependency-groups],
  [tool.uv] dev-dependencies, Poetry's dependency tables other than `python`) with no uv.lock,
  poetry.lock, pdm.lock, pylock.toml or pylock.*.toml beside it, no uv.lock that records its
  folder as a workspace member, and no hash-pinned requirements file beside it (or in
  `requirements/` beside it); per Pipfile without Pipfile.lock; and per conda environment
  file (at `dependencies:`) with no conda-lock file (`*conda-lock*.yml`) or `@EXPLICIT` list
  (`conda list --explicit`, conda-lock's `*.lock`, Snakemake's `*.pin.txt`) in its folder. A
  lock git ignores does not count. Requirements files never get HM101: without hashes they
  get HM102.
- HM102: one finding per requirements file, at the first requirement without `--hash`, with
  the count. Only registry requirements and remote archives need hashes; VCS, local-path and
  editable lines cannot take one. Constraints files are exempt: pip does not reliably
  enforce hashes there; so is a conda file's `pip:` list, which the conda lock covers (HM101).
- HM103 compares, for each package uv.lock records from a local folder (`editable`, `virtual`,
  `directory`), the names, extras and specifiers (PEP 440-normalised, order- and
  whitespace-insensitive) of [package.metadata] requires-dist and requires-dev with the
  folder's pyproject.toml; markers and direct URLs are not compared (uv rewrites both), and
  requirements [tool.uv.sources] redirects are compared by name and extras only. One finding
  per pyproject.toml, at its first differing requirement, or at the list's key when the lock
  has a requirement pyproject.toml dropped.
- HM104: each requirement line without an exact `==`/`===` pin (a wildcard `==1.*` is a range)
  in a requirements file or a conda `pip:` list, unless a constraints file it includes with
  `-c` pins the package; each conda spec without one version: `name==1.2`, `name=1.2.3`,
  `name 1.2.3` and any spec with a build (`name=1.2=build`) are pinned; conda's fuzzy
  `name=1.2` (`1.2.*`: `python=3.10` floats too), no version, `>=`, `<`, `~=`, `*` and `|` are
  not. `pip` is a package like any other.
- HM105: a `git+`/`hg+` URL whose `@ref` is not a full 40- (or 64-) hex commit, in
  requirements files, conda `pip:` lists and pyproject.toml requirement strings; a
  [tool.uv.sources] git source without a full-SHA `rev` (a tag, branch, short rev or nothing).
- HM106: what a person asked for: a pre-release or dev version in a specifier (except after
  `<`/`!=`, which only bound a range) in pyproject.toml, a hand-written (unhashed)
  requirements file, a conda spec or `pip:` list; a nightly-only distribution (`tf-nightly`);
  `--pre`; a nightly index or URL; a nightly or pre-release conda channel (`pytorch-nightly`,
  `pytorch-test`, `conda-forge/label/*_rc`, also as `channel::name`); uv's
  `prerelease = "allow"` or `"if-necessary"`.
- HM107: what a resolver picked: a pre-release in uv.lock, poetry.lock, pdm.lock, pylock or a
  hash-pinned (compiled) requirements file that no pyproject.toml, hand-written requirements
  file or conda file asks for; local packages (the project itself) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_conda import (
    conda_environments,
    environment_hazards,
    included_by,
    pre_releases_asked,
    unlocked_environments,
)
from hermetic.audit.rules.deps_locks import (
    locked_pre_releases,
    unlocked_pipfiles,
    unlocked_projects,
)
from hermetic.audit.rules.deps_pyproject import Project, project_hazards, projects_in
from hermetic.audit.rules.deps_requirements import (
    RequirementsFile,
    requirement_files,
    requirements_entries,
    requirements_file_hazards,
)
from hermetic.audit.rules.deps_rules import RULES
from hermetic.audit.rules.deps_specifiers import (
    floating_vcs_reason,
    is_nightly_name,
    is_pre_release,
    parse_requirement,
    pre_release_in,
)
from hermetic.audit.rules.deps_stale import stale_locks

__all__ = [
    "RULES",
    "check",
    "floating_vcs_reason",
    "is_pre_release",
    "parse_requirement",
    "requirements_entries",
]


def check(repository: Repository) -> Iterator[Finding]:
    """Every dependency hazard in REPOSITORY, each once, where a user would fix it."""
    environments = conda_environments(repository)
    files = requirement_files(repository, included_by(environments))
    pip_lists = [environment.pip for environment in environments if environment.pip]
    projects = projects_in(repository)
    asked = _asked_pre_releases(projects, [*files, *pip_lists]) | pre_releases_asked(environments)
    yield from unlocked_projects(repository, projects, files)
    yield from unlocked_pipfiles(repository)
    yield from unlocked_environments(repository, environments)
    for requirements in [*files, *pip_lists]:
        yield from requirements_file_hazards(requirements, files, asked)
    for environment in environments:
        yield from environment_hazards(environment)
    for project in projects:
        yield from project_hazards(project)
    yield from stale_locks(repository, {project.path: project for project in projects})
    yield from locked_pre_releases(repository, asked)


def _asked_pre_releases(projects: list[Project], files: list[RequirementsFile]) -> frozenset[str]:
    """Names a manifest asks a pre-release or a nightly of: reported there (HM106), not again
    in locks."""
    requirements = [d.requirement for project in projects for d in project.declared]
    for requirements_file in files:
        if not requirements_file.is_hash_pinned:
            requirements += [entry.requirement for entry in requirements_file.entries]
    return frozenset(
        r.name
        for r in requirements
        if r and (pre_release_in(r.specifier) or is_nightly_name(r.name))
    )
