"""Versions, specifiers, PEP 508 requirements and VCS URLs, read without packaging."""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*")
CLAUSE = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>)\s*([^,;\s()]+)\s*")
VERSION = re.compile(
    r"""v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?
    (?P<post>-(?P<post_n1>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?P<dev>[-_.]?dev[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?""",
    re.VERBOSE | re.IGNORECASE,
)
PRE_LABELS = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}
ARCHIVE = re.compile(r"\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tar\.xz)$", re.IGNORECASE)
VCS_URL = re.compile(r"(git|hg)\+", re.IGNORECASE)
FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}", re.IGNORECASE)
NIGHTLY = re.compile(r"nightl(y|ies)", re.IGNORECASE)
NIGHTLY_NAME = re.compile(r"(?:^|[-_.])nightly(?:[-_.]|$)", re.IGNORECASE)  # tf-nightly
BOUNDING_OPERATORS = frozenset({"<", "!="})  # `<2.0a0` keeps pre-releases out


@dataclass(frozen=True)
class Requirement:
    """A PEP 508 requirement: normalised name and extras, specifier as written, or a URL."""

    name: str
    extras: frozenset[str]
    specifier: str
    url: str | None


def parse_requirement(text: str) -> Requirement | None:
    """TEXT as a PEP 508 requirement; None for a path, a bare URL, a file name or garbage."""
    match = NAME.match(text)
    if match is None or ARCHIVE.search(match[1]):
        return None
    extras = frozenset(normalized_name(e) for e in (match[2] or "").split(",") if e.strip())
    rest = text[match.end() :]
    if rest.startswith("@"):
        url = rest[1:].split()
        return Requirement(normalized_name(match[1]), extras, "", url[0]) if url else None
    specifier = rest.partition(";")[0].strip().removeprefix("(").removesuffix(")")
    if specifier and not all(CLAUSE.fullmatch(part) for part in specifier.split(",")):
        return None
    return Requirement(normalized_name(match[1]), extras, specifier.strip(), None)


def normalized_name(name: str) -> str:
    """A distribution, extra or group name as tools compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def canonical_version(text: str) -> str | None:
    """TEXT in PEP 440's normal form (`1.0-RC1` -> `1.0rc1`); None when it is no version."""
    match = VERSION.fullmatch(text.strip())
    if match is None:
        return None
    epoch = int(match["epoch"] or 0)
    parts = [
        f"{epoch}!" if epoch else "",
        ".".join(str(int(n)) for n in match["release"].split(".")),
    ]
    if match["pre"]:
        label = match["pre_l"].lower()
        parts.append(f"{PRE_LABELS.get(label, label)}{int(match['pre_n'] or 0)}")
    if match["post"]:
        parts.append(f".post{int(match['post_n1'] or match['post_n2'] or 0)}")
    if match["dev"]:
        parts.append(f".dev{int(match['dev_n'] or 0)}")
    if match["local"]:
        parts.append("+" + re.sub(r"[-_]", ".", match["local"].lower()))
    return "".join(parts)


def is_pre_release(version: str) -> bool:
    """A PEP 440 pre- or dev release (`1.0rc1`, `2.5.0.dev20240101`), or a `+nightly` build."""
    match = VERSION.fullmatch(version.strip())
    return bool(match and (match["pre"] or match["dev"] or NIGHTLY.search(match["local"] or "")))


def is_nightly_name(name: str) -> bool:
    """A distribution that only ships nightly builds (`tf-nightly`, `pytorch-nightly`)."""
    return NIGHTLY_NAME.search(name) is not None


def pre_release_in(specifier: str) -> str | None:
    """The first pre-release version SPECIFIER lets in, if any."""
    for match in CLAUSE.finditer(specifier):
        if match[1] not in BOUNDING_OPERATORS and is_pre_release(match[2]):
            return match[2]
    return None


def specifier_set(specifier: str) -> frozenset[str]:
    return frozenset(
        f"{m[1]}{canonical_version(m[2]) or m[2].lower()}" for m in CLAUSE.finditer(specifier)
    )


def is_exact_pin(specifier: str) -> bool:
    return any(m[1] in ("==", "===") and "*" not in m[2] for m in CLAUSE.finditer(specifier))


def floating_vcs_reason(url: str) -> str | None:
    """Why a git+/hg+ URL is not pinned to a commit; None when it is, or is no VCS URL."""
    if not VCS_URL.match(url):
        return None
    location = url.split("#", 1)[0].partition("+")[2]
    path = (location.partition("://")[2] or location).partition("/")[2]
    ref = path.rpartition("@")[2] if "@" in path else ""
    if FULL_SHA.fullmatch(ref):
        return None
    if not ref:
        return "names no ref, so it installs whatever the default branch holds"
    return f"ref {ref!r} is a branch, tag or short SHA, not a full commit SHA"
