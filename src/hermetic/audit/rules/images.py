"""Container images and dev container features that are not pinned by digest, and Python
packages a Dockerfile installs without a version (HM204, pip_installs.py).

Images are read from Dockerfiles (FROM, COPY --from, RUN --mount=from; dockerfiles.py finds
them), compose services, devcontainer.json and the containers of every kind of Kubernetes
workload workloads.py knows. Decisions worth knowing:
- Dockerfile ARGs are substituted from their defaults (`${X:-word}` forms included); an image
  that still depends on an unset ARG is reported under HM201, saying so, and under HM202 only
  when its tag is known; one that could name an earlier stage is taken for that stage.
- A compose service with `build:` names the image it builds, so its `image:` is not a pull.
- A kustomization's `images:` entry with `newTag` or `digest` decides that image's version for
  every manifest in the repository, so it is judged there instead of in the manifests.
- A Kubernetes document that does not parse (a Helm template) is scanned line by line for
  literal `image:` values.
- References holding template markup (`{{`) are not judged at all.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from pathlib import PurePosixPath
from typing import NamedTuple

import yaml

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository
from hermetic.audit.rules.dockerfiles import (
    DOCKERFILES,
    dockerfile_instructions,
    dockerfile_texts,
)
from hermetic.audit.rules.pip_installs import UNPINNED_PIP_INSTALL
from hermetic.audit.rules.pip_installs import findings as pip_install_findings
from hermetic.audit.rules.workloads import kustomizations, manifests, workload_containers
from hermetic.audit.rules.yaml_nodes import (
    TEMPLATE_MARKUP,
    mapping_entries,
    mapping_value,
    node_line,
    scalar_value,
    sequence_items,
    yaml_documents,
)

IMAGE_WITHOUT_DIGEST = Rule(
    "HM201",
    "image-without-digest",
    "Container image not pinned by a sha256 digest",
    Severity.ERROR,
    "Append the digest the tag resolves to today, keeping the tag for readers: "
    "IMAGE:TAG@sha256:<64 hex> (`docker buildx imagetools inspect IMAGE:TAG` or "
    "`crane digest IMAGE:TAG` prints it); "
    "a tag can be pushed again, a digest cannot. With a digest, HM202 is not reported either.",
)
IMAGE_FLOATING_TAG = Rule(
    "HM202",
    "image-floating-tag",
    "Floating image tag",
    Severity.ERROR,
    "Pin a digest (HM201); a digest-pinned image is never reported here. Short of that, name a "
    "full release such as python:3.11.8-slim: `python:3.9` or `ubuntu:22.04` are moved to each "
    "new patch release and rebuild, under a system that was working.",
)
FEATURE_WITHOUT_DIGEST = Rule(
    "HM203",
    "devcontainer-feature-without-digest",
    "Dev container feature pulled by tag, not by digest",
    Severity.WARNING,
    "Reference the feature as ID@sha256:<64 hex>, or commit the devcontainer-lock.json that "
    "the Dev Containers CLI writes next to devcontainer.json (it records each feature's digest).",
)
RULES = (IMAGE_WITHOUT_DIGEST, IMAGE_FLOATING_TAG, FEATURE_WITHOUT_DIGEST, UNPINNED_PIP_INSTALL)
__all__ = [
    "DOCKERFILES",  # dockerfiles.py's, where `hermetic pin` has always read it
    "RULES",
    "ImageUse",
    "KustomizeImage",
    "check",
    "devcontainer_files",
    "image_uses",
    "json_with_comments",
    "kustomize_images",
    "split_reference",
    "substitute",
    "tag_floats",
]

COMPOSE_FILES = ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")
SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A tag names one release when it holds a full x.y.z version, a date stamp or a commit hash.
RELEASE_TAG = re.compile(
    r"(?<![\d.])\d+\.\d+\.\d+"
    r"|(?<!\d)20\d\d-?[01]\d-?[0-3]\d(?!\d)"
    r"|(?<![0-9a-z])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}(?![0-9a-z])"
)
VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>\w+)(?:(?P<operator>:?[-+])(?P<word>[^}]*))?\}|(?P<bare>\w+))"
)
JSON_COMMENT_OR_TAB = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|\t', re.DOTALL)
LITERAL_IMAGE_LINE = re.compile(r"^\s*(?:-\s+)?image:\s*([\"']?)([^\s\"'{}$#]+)\1\s*(?:#.*)?$")


def check(repository: Repository) -> Iterator[Finding]:
    findings = (finding for use in image_uses(repository) for finding in _judge(use))
    yield from dict.fromkeys(findings)  # a YAML anchor shared by several services: once
    yield from _feature_findings(repository)
    yield from pip_install_findings(repository)


def image_uses(repository: Repository) -> Iterator[ImageUse]:
    """Every image reference that decides what runs, template markup (`{{`) aside: Dockerfiles,
    compose services, dev containers, Kubernetes containers whose image no kustomization
    `images:` entry overrides, and those entries (`hermetic pin` reads the same list)."""
    overrides = list(kustomize_images(repository))
    overridden = {override.name for override in overrides}
    uses = chain(
        _dockerfile_uses(repository),
        _compose_uses(repository),
        _devcontainer_image_uses(repository),
        (use for use in _kubernetes_uses(repository) if use.name not in overridden),
        (ImageUse(o.path, node_line(o.entry), o.reference) for o in overrides),
    )
    return (use for use in uses if TEMPLATE_MARKUP not in use.reference)


# --- References -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageUse:
    """An image reference at PATH:LINE, variables substituted where their values are known."""

    path: str
    line: int
    reference: str
    unset: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return split_reference(self.reference)[0]


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """NAME, TAG and DIGEST of an image reference; TAG and DIGEST are None when absent."""
    name, _, digest = reference.partition("@")
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
        return name, tag, digest or None
    return name, None, digest or None


def tag_floats(tag: str | None) -> bool:
    """No tag (so `latest`), or one that names no single release: `latest`, `3.9`, `22.04`."""
    return tag is None or RELEASE_TAG.search(tag) is None


def substitute(text: str, values: Mapping[str, str | None]) -> tuple[str, tuple[str, ...]]:
    """TEXT with $X, ${X}, ${X:-word}, ${X-word}, ${X:+word}, ${X+word} expanded from VALUES
    (None: declared without a value), and the names left as written for want of one."""
    unset: list[str] = []

    def expand(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        value = values.get(name)
        operator = match["operator"]
        if operator is None:
            if value is None:
                unset.append(name)
                return match[0]
            return value
        present = bool(value) if operator.startswith(":") else value is not None
        if operator.endswith("-"):
            return value if present and value is not None else match["word"]
        return match["word"] if present else ""

    return VARIABLE.sub(expand, text), tuple(unset)


def _judge(use: ImageUse) -> Iterator[Finding]:
    """HM201 unless a sha256 digest pins the image; HM202 too when its tag is known to float."""
    _, tag, digest = split_reference(use.reference)
    if digest is not None and SHA256_DIGEST.fullmatch(digest):
        return
    if use.unset:
        problem = f"is not pinned: it depends on {', '.join(use.unset)}, which nothing here sets"
    elif digest is not None:
        problem = f"has digest {digest!r}, which is not sha256 and 64 hex digits"
    else:
        problem = "is not pinned by a sha256 digest"
    yield IMAGE_WITHOUT_DIGEST.at(use.path, use.line, f"image {use.reference} {problem}")
    if "$" not in use.reference.rpartition("/")[2] and tag_floats(tag):
        floats = (
            "has no tag, so it means latest"
            if tag is None
            else f"has tag {tag!r}, which names no single release (x.y.z, date or commit)"
        )
        yield IMAGE_FLOATING_TAG.at(use.path, use.line, f"image {use.reference} {floats}")


# --- Dockerfiles ------------------------------------------------------------------------------


class _BuildStages:
    """What a Dockerfile has declared so far: global ARGs, the current stage's ARGs, stages."""

    def __init__(self) -> None:
        self.global_args: dict[str, str | None] = {}
        self.stage_args: dict[str, str | None] | None = None
        self.names: set[str] = set()

    def declare(self, arguments: str) -> None:
        """ARG NAME[=default] ...; inside a stage, a bare NAME takes the global default."""
        try:
            words = shlex.split(arguments)
        except ValueError:
            words = arguments.split()
        for word in words:
            name, equals, default = word.partition("=")
            if self.stage_args is None:
                self.global_args[name] = default if equals else None
            else:
                self.stage_args[name] = default if equals else self.global_args.get(name)

    def begin(self, alias: str | None) -> None:
        self.stage_args = {}
        if alias is not None:
            self.names.add(alias.lower())

    def uses(self, path: str, line: int, reference: str, *, in_from: bool) -> Iterator[ImageUse]:
        """REFERENCE as an image, unless it names scratch or a stage, by index or by alias (an
        unset variable in it matching anything: `FROM base-${VARIANT}`)."""
        values = self.global_args if in_from or self.stage_args is None else self.stage_args
        resolved, unset = substitute(reference.strip("\"'"), values)
        if not resolved or resolved == "scratch" or resolved.isdigit():
            return
        literal_parts = VARIABLE.sub("\0", resolved).split("\0")
        stage = re.compile(".*".join(map(re.escape, literal_parts)), re.IGNORECASE)
        if not any(stage.fullmatch(name) for name in self.names):
            yield ImageUse(path, line, resolved, unset)


def _dockerfile_uses(repository: Repository) -> Iterator[ImageUse]:
    for path, text in dockerfile_texts(repository):
        yield from _images_in_dockerfile(path, text)


def _images_in_dockerfile(path: str, text: str) -> Iterator[ImageUse]:
    stages = _BuildStages()
    for line, keyword, arguments, *_ in dockerfile_instructions(text):
        if keyword == "ARG":
            stages.declare(arguments)
        elif keyword == "FROM":
            image, alias = _from_image_and_alias(arguments)
            yield from stages.uses(path, line, image, in_from=True)
            stages.begin(alias)
        elif keyword in ("COPY", "RUN"):
            for source in _mounted_or_copied_images(arguments):
                yield from stages.uses(path, line, source, in_from=False)


def _from_image_and_alias(arguments: str) -> tuple[str, str | None]:
    """FROM [--platform=P] IMAGE [AS ALIAS]; the alias is read from the end, so that an IMAGE
    written as template markup with spaces (`{{ image }}`) still declares its stage."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    alias = words[-1] if len(words) > 2 and words[-2].lower() == "as" else None
    return (words[0] if words else ""), alias


def _mounted_or_copied_images(arguments: str) -> Iterator[str]:
    """The sources named by COPY --from=X and RUN --mount=...,from=X,..."""
    for flag in arguments.split():
        if not flag.startswith("--"):
            break
        option, _, value = flag.partition("=")
        if option == "--from":
            yield value
        elif option == "--mount":
            for setting in value.split(","):
                key, _, source = setting.partition("=")
                if key == "from" and source:
                    yield source


# --- Compose files and dev containers ---------------------------------------------------------


def _compose_uses(repository: Repository) -> Iterator[ImageUse]:
    """Each service's `image:`, unless the service builds it (`build:` names what it tags)."""
    for path in repository.matching(*COMPOSE_FILES):
        for document in yaml_documents(repository.text(path)) or ():
            for _, service in mapping_entries(mapping_value(document, "services")):
                image = mapping_value(service, "image")
                reference = scalar_value(image)
                if image is not None and reference and mapping_value(service, "build") is None:
                    yield ImageUse(path, node_line(image), *substitute(reference, {}))


def devcontainer_files(repository: Repository) -> list[str]:
    """`.devcontainer.json`, and `devcontainer.json` anywhere under a `.devcontainer` folder."""
    return [
        path
        for path in repository.matching(".devcontainer.json", "devcontainer.json")
        if PurePosixPath(path).name == ".devcontainer.json"
        or ".devcontainer" in PurePosixPath(path).parts[:-1]
    ]


def json_with_comments(text: str | None) -> yaml.Node | None:
    """A JSON-with-comments text as a YAML node, which knows its lines: comments and tabs are
    blanked (offsets kept) and YAML's flow syntax, a superset of JSON, allows trailing commas."""
    if text is None:
        return None

    def blank(match: re.Match[str]) -> str:
        token = match[0]
        return token if token.startswith('"') else re.sub(r"[^\n]", " ", token)

    documents = yaml_documents(JSON_COMMENT_OR_TAB.sub(blank, text))
    return documents[0] if documents else None


def _devcontainer_image_uses(repository: Repository) -> Iterator[ImageUse]:
    for path in devcontainer_files(repository):
        image = mapping_value(json_with_comments(repository.text(path)), "image")
        reference = scalar_value(image)
        if image is not None and reference:
            yield ImageUse(path, node_line(image), reference)


def _feature_findings(repository: Repository) -> Iterator[Finding]:
    """HM203 for each feature neither referenced by digest nor locked, local ones (./) aside."""
    for path in devcontainer_files(repository):
        configuration = json_with_comments(repository.text(path))
        locked = _locked_features(repository, path)
        for feature, _ in mapping_entries(mapping_value(configuration, "features")):
            reference = str(feature.value)
            digest = reference.partition("@")[2]
            if reference.startswith(".") or SHA256_DIGEST.fullmatch(digest) or reference in locked:
                continue
            message = f"feature {reference} is pinned by neither a sha256 digest nor a lockfile"
            yield FEATURE_WITHOUT_DIGEST.at(path, node_line(feature), message)


def _locked_features(repository: Repository, configuration_path: str) -> set[str]:
    """The features the lockfile beside the configuration pins with a sha256 integrity."""
    folder, name = posixpath.split(configuration_path)
    lock_name = ".devcontainer-lock.json" if name.startswith(".") else "devcontainer-lock.json"
    lockfile = json_with_comments(repository.text(posixpath.join(folder, lock_name)))
    return {
        str(feature.value)
        for feature, entry in mapping_entries(mapping_value(lockfile, "features"))
        if SHA256_DIGEST.fullmatch(scalar_value(mapping_value(entry, "integrity")) or "")
    }


# --- Kubernetes -------------------------------------------------------------------------------


def _kubernetes_uses(repository: Repository) -> Iterator[ImageUse]:
    """Workload container images; `image:` lines of the documents that do not parse."""
    for manifest in manifests(repository):
        lines = repository.lines(manifest.path)
        for start, end in manifest.unparsed:
            for number in range(start, min(end, len(lines) + 1)):
                literal = LITERAL_IMAGE_LINE.match(lines[number - 1])
                if literal:
                    yield ImageUse(manifest.path, number, literal[2])
        for container in workload_containers(manifest):
            image = container.image
            if image is not None and image.value:
                yield ImageUse(manifest.path, node_line(image), str(image.value))


class KustomizeImage(NamedTuple):
    """A kustomization `images:` ENTRY that sets a version: the image NAME it overrides in
    every manifest, and the REFERENCE it puts there (newName or name, newTag, digest)."""

    path: str
    entry: yaml.Node
    name: str
    reference: str


def kustomize_images(repository: Repository) -> Iterator[KustomizeImage]:
    """Each kustomization `images:` entry that sets a version (newTag or digest)."""
    for path, kustomization in kustomizations(repository):
        for entry in sequence_items(mapping_value(kustomization, "images")):
            name = scalar_value(mapping_value(entry, "name"))
            new_name = scalar_value(mapping_value(entry, "newName")) or name
            tag = scalar_value(mapping_value(entry, "newTag"))
            digest = scalar_value(mapping_value(entry, "digest"))
            if name and (tag or digest):
                reference = f"{new_name}{f':{tag}' if tag else ''}{f'@{digest}' if digest else ''}"
                yield KustomizeImage(path, entry, name, reference)
