"""conda environment files: HM101 without a conda lock beside them, HM104 and HM106 in their
conda specs and channels; their `pip:` list is read as a requirements file (HM104-HM106)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import yaml

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_requirements import (
    RequirementsFile,
    is_conda_explicit,
    requirements_entries,
)
from hermetic.audit.rules.deps_rules import PRE_RELEASE, RANGED, UNLOCKED
from hermetic.audit.rules.deps_specifiers import (
    BOUNDING_OPERATORS,
    NIGHTLY,
    is_nightly_name,
    is_pre_release,
)
from hermetic.audit.rules.yaml_nodes import (
    mapping_entries,
    node_line,
    scalar_value,
    sequence_items,
    yaml_documents,
)

# Environment files by name, in any case (`environment.yml`, `env-gpu.yaml`, MLflow's
# `conda.yaml`), or any YAML file in an env(s)/environment(s)/conda folder.
ENVIRONMENT_PATH = re.compile(
    r"""(?:.*/)?(?:
        (?:envs?|environments?|conda)/[^/]*
        | (?:[^/]*[-_.])?(?:envs?|environments?|conda)(?:[-_.][^/]*)?
    )\.ya?ml""",
    re.IGNORECASE | re.VERBOSE,
)
# Any other YAML file is one when it has both top-level keys (Snakemake's, CI's own names).
CONDA_KEYS = (re.compile(r"^channels\s*:", re.M), re.compile(r"^dependencies\s*:", re.M))
CONDA_LOCK_PATH = re.compile(r"(?:.*/)?[^/]*conda-lock[^/]*\.ya?ml", re.IGNORECASE)
EXPLICIT_CANDIDATE = re.compile(r".*\.(?:txt|lock)", re.IGNORECASE)
# A conda MatchSpec: `channel::name[key=value] version build`, `name=1.2=build`, `name>=1,<2`.
SPEC = re.compile(
    r"""(?:(?P<channel>[^\s:]+(?::[^\s:]+)*)::)?
    (?P<name>[A-Za-z0-9_][A-Za-z0-9._+-]*)
    \s*(?:\[(?P<keys>[^\]]*)\])?
    \s*(?P<rest>.*)""",
    re.VERBOSE,
)
BRACKET_VERSION = re.compile(r"""\bversion\s*=\s*['"]?([^'",\]]+)""")
# One version: exact (`==1.2`, `1.2` after a space) or conda's own pin (`=1.2`), no `*`.
PINNED = re.compile(r"==?[^=<>!~,|*]+|[^=<>!~,|*]+")
BUILD = re.compile(r"(?<=[\w.*])=[^=,|]*$")  # `=1.2.3=py311h_0`: the build string
CLAUSE = re.compile(r"(===|==|>=|<=|!=|~=|=|>|<)?\s*([0-9][^,|\s=<>!~]*)")
# Labels of release candidates and dev builds (`conda-forge/label/numpy_rc`), PyTorch's RCs.
PRE_RELEASE_CHANNEL = re.compile(
    r"(?:^|/)(?:label/(?:.*[-_])?(?:rc|dev|alpha|beta|pre|nightly)\b|pytorch-test/?$)"
)
# The release part of a version: 1.2.3 of 1.2.3.post1 or 1.2.3rc1.
RELEASE = re.compile(r"\d+(?:\.\d+)*")
# conda's fuzzy match (`=1.2`, or `1.2` after a space) is `1.2.*`: it fixes a version only once
# it names major, minor and patch.
FUZZY_PIN_COMPONENTS = 3


@dataclass(frozen=True)
class CondaSpec:
    """A conda dependency: name, channel (or ""), version spec without spaces (or "")."""

    name: str
    channel: str
    version: str

    @property
    def is_pinned(self) -> bool:
        """One version, alone or among other clauses: exact (`==1.2`), or conda's fuzzy match
        naming a patch release (`=1.2.3`, `1.2.3`: later builds are what a lock fixes, HM101).
        `=1.2` is `1.2.*`, a range, as `==1.*` is for pip: `python=3.10` floats too."""
        if "|" in self.version:
            return False
        return any(_pins_one_version(clause) for clause in self.version.split(","))

    def pre_release(self) -> str | None:
        for match in CLAUSE.finditer(self.version):
            operator, version = match[1] or "", match[2]
            if operator not in BOUNDING_OPERATORS and is_pre_release(version.removesuffix(".*")):
                return version
        return None


def _pins_one_version(clause: str) -> bool:
    if not PINNED.fullmatch(clause):
        return False
    if clause.startswith("=="):
        return True
    release = RELEASE.match(clause.removeprefix("="))
    return release is not None and release[0].count(".") + 1 >= FUZZY_PIN_COMPONENTS


def conda_spec(text: str) -> CondaSpec | None:
    """TEXT as a conda MatchSpec; None when it is none (a URL, a template, garbage)."""
    match = SPEC.fullmatch(text.strip())
    if match is None:
        return None
    version = match["rest"]
    in_brackets = BRACKET_VERSION.search(match["keys"] or "")
    with_build = False
    if in_brackets:
        version = in_brackets[1]
    elif version and version[0] not in "=<>!~":
        words = version.split()  # `name 1.2.3 build`: the version, then the build
        version, with_build = words[0], len(words) > 1
    compact = re.sub(r"\s+", "", version)
    version = BUILD.sub("", compact)
    with_build = with_build or version != compact
    if with_build and not version.startswith(("=", "<", ">", "!", "~")):
        version = f"=={version}"  # with a build string, conda matches the version exactly
    elif with_build and version.startswith("=") and not version.startswith("=="):
        version = f"={version}"
    if version and not version[0].isdigit() and not CLAUSE.match(version):
        return None
    return CondaSpec(match["name"].lower(), match["channel"] or "", version)


@dataclass(frozen=True)
class Environment:
    """A conda environment file: its specs and channels with their lines, and its pip list."""

    path: str
    line: int  # of `dependencies:`
    specs: tuple[tuple[int, str], ...]
    channels: tuple[tuple[int, str], ...]
    pip: RequirementsFile | None


def conda_environments(repository: Repository) -> list[Environment]:
    """Every conda environment file: a mapping whose `dependencies` are conda specs and an
    optional `{pip: [...]}`; Ansible's or Helm's `dependencies` lists are not."""
    found = []
    for path in repository.files:
        if not path.lower().endswith((".yml", ".yaml")) or CONDA_LOCK_PATH.fullmatch(path):
            continue
        if not ENVIRONMENT_PATH.fullmatch(path):
            text = repository.text(path)
            if not text or "channels" not in text or "dependencies" not in text:
                continue  # the cheap test first: most YAML files are no environments
            if not all(key.search(text) for key in CONDA_KEYS):
                continue
        environment = _environment(path, yaml_documents(repository.text(path)))
        if environment is not None:
            found.append(environment)
    return found


def _environment(path: str, documents: list[yaml.Node] | None) -> Environment | None:
    if not documents or len(documents) != 1:
        return None
    keys = {key.value: (key, value) for key, value in mapping_entries(documents[0])}
    if "dependencies" not in keys:
        return None
    key, dependencies = keys["dependencies"]
    specs: list[tuple[int, str]] = []
    pip: list[tuple[int, str]] = []
    for item in sequence_items(dependencies):
        text = scalar_value(item)
        if text is not None:
            specs.append((node_line(item), text))
            continue
        entries = {entry.value: value for entry, value in mapping_entries(item)}
        if set(entries) != {"pip"}:
            return None  # not conda's: Helm's and Ansible's items are mappings
        pip += [(node_line(n), v) for n in sequence_items(entries["pip"]) if (v := scalar_value(n))]
    if not specs or not any(conda_spec(text) for _, text in specs):
        return None
    channels = keys.get("channels", (None, None))[1]
    return Environment(
        path,
        node_line(key),
        tuple(specs),
        tuple((node_line(n), v) for n in sequence_items(channels) if (v := scalar_value(n))),
        _pip_list(path, pip) if pip else None,
    )


def _pip_list(path: str, items: list[tuple[int, str]]) -> RequirementsFile:
    """The `pip:` items as the requirements file conda hands pip, at their lines in PATH."""
    entries = (
        replace(entry, line=line) for line, text in items for entry in requirements_entries([text])
    )
    return RequirementsFile(path, is_constraints=False, entries=tuple(entries), embedded=True)


def included_by(environments: list[Environment]) -> dict[str, bool]:
    """Files the pip lists include: path -> whether it is a constraints file (`-c`)."""
    included: dict[str, bool] = {}
    for environment in environments:
        if environment.pip is not None:
            for option, is_constraints in (("--requirement", False), ("--constraint", True)):
                included |= dict.fromkeys(environment.pip.referenced(option), is_constraints)
    return included


def unlocked_environments(
    repository: Repository, environments: list[Environment]
) -> Iterator[Finding]:
    """HM101 for an environment with no conda-lock file or `@EXPLICIT` list in its folder."""
    if not environments:
        return
    folders = {posixpath.dirname(environment.path) for environment in environments}
    locked = {
        posixpath.dirname(path)
        for path in repository.files
        if posixpath.dirname(path) in folders
        and (
            CONDA_LOCK_PATH.fullmatch(path)
            or (EXPLICIT_CANDIDATE.fullmatch(path) and is_conda_explicit(repository.text(path)))
        )
    }
    for environment in environments:
        if posixpath.dirname(environment.path) not in locked:
            message = (
                "conda environment without a lock: no conda-lock file or `@EXPLICIT` list"
                " beside it, so every create solves anew"
            )
            yield UNLOCKED.at(environment.path, environment.line, message)


def environment_hazards(environment: Environment) -> Iterator[Finding]:
    """HM104 and HM106 in the conda specs and channels (the pip list is read elsewhere)."""
    path = environment.path
    for line, channel in environment.channels:
        if _is_pre_release_channel(channel):
            yield PRE_RELEASE.at(path, line, f"channel {channel} serves pre-release builds")
    for line, text in environment.specs:
        spec = conda_spec(text)
        if spec is None:
            continue
        if version := spec.pre_release():
            yield PRE_RELEASE.at(path, line, f"{text} asks for pre-release {version}")
        elif _is_pre_release_channel(spec.channel):
            yield PRE_RELEASE.at(path, line, f"{text} comes from a pre-release channel")
        elif is_nightly_name(spec.name):
            yield PRE_RELEASE.at(path, line, f"{text} is a nightly build")
        if spec.is_pinned:
            continue
        if not spec.version:
            message = f"{text} has no version: conda installs the newest it can solve"
        else:
            message = f"{text} allows a range of versions"
        yield RANGED.at(path, line, message)


def _is_pre_release_channel(channel: str) -> bool:
    """`pytorch-nightly`, a nightly URL, PyTorch's RC channel, a pre-release label."""
    lowered = channel.lower()
    return NIGHTLY.search(lowered) is not None or PRE_RELEASE_CHANNEL.search(lowered) is not None


def pre_releases_asked(environments: list[Environment]) -> set[str]:
    """Names the conda specs ask a pre-release or nightly of."""
    return {
        spec.name
        for environment in environments
        for _, text in environment.specs
        if (spec := conda_spec(text)) and (spec.pre_release() or is_nightly_name(spec.name))
    }
