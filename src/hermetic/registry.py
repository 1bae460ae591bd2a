"""OCI distribution API client: tag -> digest, with the anonymous bearer-token flow.

What a registry is asked, and why:
- `HEAD /v2/<repository>/manifests/<tag>` accepting OCI and Docker indexes and manifests: the
  `Docker-Content-Digest` header is the digest of the top-level object (the index of a
  multi-platform image), and a HEAD does not count against Docker Hub's pull limit.
- `GET` of the same URL only when the HEAD lacks that header; the digest is then the sha256 of
  the body, which must equal the header when the registry sends one.
- A 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is answered by an
  anonymous token from the realm (`token` or `access_token`), as Docker Hub, ghcr.io and nvcr.io
  do; the request is then sent once more with it.
HTTPS everywhere except the hosts named as insecure; every request has a timeout.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import NoReturn

from hermetic import __version__
from hermetic.errors import (
    CannotRunError,
    DigestMismatchError,
    MalformedReferenceError,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachableError,
    UnknownImageError,
)

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_API = "registry-1.docker.io"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
MANIFEST_LIMIT_BYTES = 4 * 1024 * 1024  # the distribution spec's limit for a manifest
DEFAULT_TIMEOUT_SECONDS = 30.0

# The reference grammar of github.com/distribution/reference.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"\w[\w.-]{0,127}")
_NAME_LIMIT = 255
_CHALLENGE_PARAMETER = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class ImageReference:
    """NAME as written (`python`, `ghcr.io/astral-sh/uv`), where it lives (REGISTRY: `docker.io`
    or host[:port]; REPOSITORY: `library/python`), and its TAG and DIGEST when it has them."""

    name: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def text(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        return f"{self.name}{tag}{f'@{self.digest}' if self.digest else ''}"

    @property
    def api_host(self) -> str:
        """The host that answers the distribution API: Docker Hub's is not docker.io."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def is_placeholder(self) -> bool:
        """A digest of 64 zeros: the project's own image, until a release writes its digest."""
        return self.digest == PLACEHOLDER_DIGEST

    def pinned(self, digest: str) -> str:
        """The reference as written, with its tag (`latest` when it had none) and DIGEST."""
        return f"{self.name}:{self.tag or 'latest'}@{digest}"


def parse_reference(text: str, where: str = "") -> ImageReference:
    """TEXT as an image reference, or a MalformedReferenceError naming WHERE it was found."""
    name, at, digest = text.partition("@")
    tag: str | None = None
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
    first, slash, rest = name.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        registry, repository = first.lower(), rest
        if not _DOMAIN.fullmatch(first):
            _malformed(text, where, f"{first!r} is not a registry host[:port]")
    else:
        registry, repository = DOCKER_HUB, name
    if registry in DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        repository = repository if "/" in repository else f"library/{repository}"
    if not _PATH.fullmatch(repository) or len(name) > _NAME_LIMIT:
        _malformed(
            text, where, f"{repository!r} is not a repository name (lower-case a-z, 0-9, ._-/)"
        )
    if tag is not None and not _TAG.fullmatch(tag):
        _malformed(text, where, f"{tag!r} is not a tag (letters, digits, _.-; at most 128)")
    if at and not SHA256_DIGEST.fullmatch(digest):
        _malformed(text, where, f"{digest!r} is not a sha256 digest (sha256: and 64 hex digits)")
    return ImageReference(name, registry, repository, tag, digest if at else None)


def _malformed(text: str, where: str, why: str) -> NoReturn:
    raise MalformedReferenceError(
        f"{where}{': ' if where else ''}image reference {text!r} is malformed: {why}",
        "write it as [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. "
        "python:3.11.8-slim-bookworm or ghcr.io/astral-sh/uv:0.8.15@sha256:<64 hex digits>",
    )


def parse_insecure_registry(value: str) -> str:
    """HOST[:PORT], lower-cased, as `--insecure-registry` takes it."""
    if not _DOMAIN.fullmatch(value):
        raise CannotRunError(
            f"--insecure-registry {value!r} is not a HOST or HOST:PORT",
            "name the registry as it appears in image references, without a scheme or path, "
            "e.g. --insecure-registry 127.0.0.1:5000",
        )
    return value.lower()


@dataclass(frozen=True)
class ManifestDigest:
    """The digest a tag points at, the media type of what it names, and the host asked."""

    digest: str
    media_type: str
    host: str

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def kind(self) -> str:
        return "multi-platform index" if self.is_index else "single-platform manifest"


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Message
    body: bytes

    def error_codes(self) -> list[tuple[str, str]]:
        """(code, message) of a registry's JSON error body; empty when it has none."""
        try:
            errors = json.loads(self.body).get("errors", [])
            return [(str(e.get("code", "")), str(e.get("message", ""))) for e in errors]
        except (ValueError, AttributeError, TypeError):
            return []


class RegistryClient:
    """Asks registries what tags point at; one token per repository, each tag asked once."""

    def __init__(
        self,
        insecure_registries: Iterable[str] = (),
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._insecure = frozenset(insecure_registries)
        self._timeout = timeout_seconds
        self._tokens: dict[tuple[str, str], str] = {}
        self._resolved: dict[tuple[str, str, str], ManifestDigest] = {}
        self._opener = urllib.request.build_opener()

    def resolve(self, reference: ImageReference) -> ManifestDigest:
        """The digest REFERENCE's tag (`latest` when it has none) points at now."""
        tag = reference.tag or "latest"
        key = (reference.registry, reference.repository, tag)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(reference, tag)
        return self._resolved[key]

    def describe_platforms(self, reference: ImageReference, resolved: ManifestDigest) -> str:
        """`multi-platform index (linux/amd64, linux/arm64)` or `linux/amd64 (single-platform
        manifest)`, read from the index, or from the manifest's config blob."""
        body = self._verified(reference, f"manifests/{resolved.digest}", resolved.digest)
        document = _json_object(body, f"manifest {resolved.digest} of {reference.text}")
        if resolved.is_index:
            entries = document.get("manifests")
            platforms = [
                _platform_name(entry.get("platform"))
                for entry in (entries if isinstance(entries, list) else [])
                if isinstance(entry, dict)
            ]
            known = sorted({p for p in platforms if p and not p.startswith("unknown")})
            return f"{resolved.kind} ({', '.join(known) or 'platforms not stated'})"
        config = document.get("config")
        config_digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(config_digest, str) or not SHA256_DIGEST.fullmatch(config_digest):
            return f"platform not stated ({resolved.kind})"
        blob = self._verified(reference, f"blobs/{config_digest}", config_digest)
        platform = _platform_name(_json_object(blob, f"config {config_digest}"))
        return f"{platform or 'platform not stated'} ({resolved.kind})"

    # --- Requests -----------------------------------------------------------------------------

    def _url(self, reference: ImageReference, path: str) -> str:
        host = reference.api_host
        secure = host not in self._insecure and host.partition(":")[0] not in self._insecure
        return f"{'https' if secure else 'http'}://{host}/v2/{reference.repository}/{path}"

    def _resolve(self, reference: ImageReference, tag: str) -> ManifestDigest:
        url = self._url(reference, f"manifests/{tag}")
        head = self._authorized("HEAD", url, reference)
        announced = head.headers.get("Docker-Content-Digest", "")
        if head.status == 200 and SHA256_DIGEST.fullmatch(announced):
            return ManifestDigest(announced, _media_type(head), reference.api_host)
        got = self._authorized("GET", url, reference)
        if got.status != 200:
            raise self._failure(got, reference, url)
        actual = f"sha256:{hashlib.sha256(got.body).hexdigest()}"
        announced = got.headers.get("Docker-Content-Digest", "")
        if announced and announced != actual:
            raise _mismatch(reference, url, announced, actual)
        return ManifestDigest(actual, _media_type(got), reference.api_host)

    def _verified(self, reference: ImageReference, path: str, digest: str) -> bytes:
        """The body at PATH, which must hash to DIGEST."""
        url = self._url(reference, path)
        got = self._authorized("GET", url, reference)
        if got.status != 200:
            raise self._failure(got, reference, url)
        actual = f"sha256:{hashlib.sha256(got.body).hexdigest()}"
        if actual != digest:
            raise _mismatch(reference, url, digest, actual)
        return got.body

    def _authorized(self, method: str, url: str, reference: ImageReference) -> _Response:
        """METHOD URL with the repository's token; on a 401, a fresh token and one retry."""
        key = (reference.registry, reference.repository)
        response = self._send(method, url, MANIFEST_ACCEPT, self._tokens.get(key))
        if response.status != 401:
            return response
        self._tokens[key] = self._token(response, reference)
        response = self._send(method, url, MANIFEST_ACCEPT, self._tokens[key])
        if response.status == 401:
            raise RegistryAuthError(
                f"{reference.api_host} refused an anonymous pull of {reference.text} even with "
                "the token its token service issued: the repository does not exist, is "
                "private, or the token service grants no pull",
                "check the image name and that it is public; hermetic pin only pulls "
                "anonymously, so pin a private image by hand "
                "(`skopeo inspect --format '{{.Digest}}' docker://IMAGE:TAG` after a login)",
            )
        return response

    def _token(self, challenged: _Response, reference: ImageReference) -> str:
        """An anonymous bearer token for the challenge in a 401's WWW-Authenticate header."""
        challenge = challenged.headers.get("WWW-Authenticate", "")
        scheme, _, parameters = challenge.strip().partition(" ")
        fields = {
            match[1].lower(): match[2] if match[2] is not None else match[3]
            for match in _CHALLENGE_PARAMETER.finditer(parameters)
        }
        if scheme.lower() != "bearer" or not fields.get("realm"):
            raise RegistryAuthError(
                f"{reference.api_host} asks for {scheme or 'unstated'} authentication to pull "
                f"{reference.text}, and hermetic pin only does the anonymous bearer-token flow",
                "pin this image by hand with credentials "
                "(`skopeo inspect --format '{{.Digest}}' docker://IMAGE:TAG` after a login)",
            )
        realm = fields["realm"]
        query = urllib.parse.urlencode(
            [
                ("service", fields.get("service", "")),
                ("scope", fields.get("scope") or f"repository:{reference.repository}:pull"),
            ]
        )
        response = self._send("GET", f"{realm}{'&' if '?' in realm else '?'}{query}", None, None)
        token: object = None
        if response.status == 200:
            answer = _json_object(response.body, f"the answer of the token service {realm}")
            token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(
                f"the token service {realm} refused an anonymous token to pull "
                f"{reference.text} (HTTP {response.status})",
                "check the image name and that it is public; hermetic pin only pulls "
                "anonymously, so pin a private image by hand",
            )
        return token

    def _send(self, method: str, url: str, accept: str | None, token: str | None) -> _Response:
        request = urllib.request.Request(url, method=method)  # noqa: S310 - http(s) URLs only
        request.add_header("User-Agent", f"hermetic/{__version__}")
        if accept:
            request.add_header("Accept", accept)
        if token:  # never forwarded on a redirect (blobs redirect to storage that rejects it)
            request.add_unredirected_header("Authorization", f"Bearer {token}")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _Response(response.status, response.headers, _read(response))
        except urllib.error.HTTPError as error:
            with error:
                return _Response(error.code, error.headers, _read(error))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise self._unreachable(url, error) from error

    def _unreachable(self, url: str, error: Exception) -> RegistryUnreachableError:
        reason = getattr(error, "reason", None) or error
        parsed = urllib.parse.urlsplit(url)
        host = parsed.netloc
        hint = ""
        if parsed.scheme == "https" and "ssl" in f"{type(reason).__name__} {reason}".lower():
            hint = f"; if {host} serves plain HTTP, pass --insecure-registry {host}"
        return RegistryUnreachableError(
            f"{host} could not be reached ({reason or type(error).__name__}) at {url}",
            "check the network, proxy settings and the registry name, then run again" + hint,
        )

    def _failure(self, response: _Response, reference: ImageReference, url: str) -> RegistryError:
        codes = response.error_codes()
        names = {code for code, _ in codes}
        detail = "; ".join(f"{code}: {message}" for code, message in codes) or (
            response.body[:200].decode("utf-8", "replace").strip() or "no details"
        )
        if "NAME_UNKNOWN" in names:
            return UnknownImageError(
                f"{reference.api_host} has no repository {reference.repository} "
                f"({reference.text}): {detail}",
                "check the image name and its registry",
            )
        if response.status == 404 or names & {"MANIFEST_UNKNOWN", "TAG_INVALID"}:
            return UnknownImageError(
                f"{reference.api_host} has no tag {reference.tag or 'latest'} of "
                f"{reference.repository} ({reference.text}): {detail}",
                "check the tag against the registry's list of tags; a tag can be deleted, "
                "so choose one that exists and run hermetic pin again",
            )
        if response.status == 429:
            return RegistryError(
                f"{reference.api_host} rate-limited the request for {reference.text}: {detail}",
                "wait and run again (Docker Hub limits anonymous pulls per address)",
            )
        return RegistryError(
            f"{reference.api_host} answered HTTP {response.status} to {url}: {detail}",
            "check the registry's status and the image name, then run again",
        )


def _read(response: http.client.HTTPResponse | urllib.error.HTTPError) -> bytes:
    body = response.read(MANIFEST_LIMIT_BYTES + 1)
    if len(body) > MANIFEST_LIMIT_BYTES:
        raise RegistryError(
            f"{response.geturl()} answered more than {MANIFEST_LIMIT_BYTES} bytes, more than "
            "a manifest may be",
            "check the registry name: this is not an OCI distribution registry",
        )
    return bytes(body)


def _media_type(response: _Response) -> str:
    content_type = response.headers.get("Content-Type", "").partition(";")[0].strip()
    if content_type and content_type != "application/json":
        return content_type
    try:
        declared = json.loads(response.body).get("mediaType")
    except (ValueError, AttributeError):
        return content_type
    return declared if isinstance(declared, str) else content_type


def _json_object(body: bytes, what: str) -> dict[str, object]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise RegistryError(
            f"{what} is not a JSON object", "check that the registry serves the OCI API"
        )
    return document


def _platform_name(platform: object) -> str | None:
    """os/architecture[/variant] of an index entry's `platform` or an image config."""
    if not isinstance(platform, dict):
        return None
    parts = [platform.get(key) for key in ("os", "architecture", "variant")]
    return "/".join(str(part) for part in parts if part) or None


def _mismatch(reference: ImageReference, url: str, expected: str, actual: str) -> RegistryError:
    return DigestMismatchError(
        f"the body {url} returned hashes to {actual}, not {expected}, for {reference.text}: "
        "it was altered on the way or the registry is broken",
        "run again; if it persists, check for a proxy rewriting responses, and report it to "
        "the registry's operators",
    )
