"""A real OCI registry for the tests: Debian's docker-registry on 127.0.0.1, images written
as OCI layouts here and pushed with skopeo, a token service for the bearer-token flow, and a
proxy that alters what the registry answers."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (as root) to install it"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TOKEN_SERVICE = "hermetic-test-registry"  # noqa: S105 - a name, not a secret
TOKEN_ISSUER = "hermetic-test-token-service"  # noqa: S105 - a name, not a secret
DENIED_PREFIX = "private/"  # the token service refuses every scope under it


def program(name: str) -> str:
    """The path of a program the registry tests drive; a loud failure saying how to get it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not on PATH: {INSTALL_HINT}", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- OCI layouts --------------------------------------------------------------------------------


def write_layout(directory: Path, tag: str, content: str, platforms: Sequence[str]) -> Path:
    """An OCI image layout holding TAG: one image per platform ("linux/amd64"), each with one
    layer whose file says CONTENT; an index when there are several platforms."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    manifests = []
    for platform in platforms:
        os_name, architecture = platform.split("/")
        archive = _tar({"content.txt": f"{content} {platform}\n".encode()})
        layer = blob(gzip.compress(archive, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
        config = {
            "architecture": architecture,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha256(archive)}"]},
            "config": {},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
            "layers": [layer],
        }
        descriptor = blob(json.dumps(manifest).encode(), OCI_MANIFEST)
        manifests.append({**descriptor, "platform": {"os": os_name, "architecture": architecture}})
    if len(manifests) == 1:
        top = {key: value for key, value in manifests[0].items() if key != "platform"}
    else:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        top = blob(json.dumps(index).encode(), OCI_INDEX)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    layout_index = {
        "schemaVersion": 2,
        "manifests": [{**top, "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    (directory / "index.json").write_text(json.dumps(layout_index), encoding="utf-8")
    return directory


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- The registry -------------------------------------------------------------------------------


@dataclass
class LocalRegistry:
    """docker-registry at HOST (127.0.0.1:PORT), plain HTTP; skopeo pushes and reads it."""

    host: str
    workdir: Path
    log: Path
    pushed: int = 0

    def push(
        self, repository_tag: str, content: str, platforms: Sequence[str] = ("linux/amd64",)
    ) -> str:
        """Push a new image (an index for several PLATFORMS) as REPOSITORY:TAG; its digest."""
        self.pushed += 1
        tag = repository_tag.rpartition(":")[2]
        layout = write_layout(self.workdir / f"layout-{self.pushed}", tag, content, platforms)
        copy = ["copy", "--quiet", "--dest-tls-verify=false"]
        if len(platforms) > 1:
            copy.append("--all")
        self.skopeo(*copy, f"oci:{layout}:{tag}", f"docker://{self.host}/{repository_tag}")
        return self.digest(repository_tag)

    def digest(self, repository_tag: str) -> str:
        """What REPOSITORY:TAG points at, as skopeo reads it: sha256 of the raw top manifest."""
        raw = self.raw(repository_tag)
        return f"sha256:{_sha256(raw)}"

    def raw(self, repository_tag: str) -> bytes:
        return self.skopeo(
            "inspect", "--raw", "--tls-verify=false", f"docker://{self.host}/{repository_tag}"
        )

    def skopeo(self, *arguments: str) -> bytes:
        policy = self.workdir / "policy.json"
        if not policy.exists():
            policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}', encoding="utf-8")
            (self.workdir / "auth.json").write_text('{"auths": {}}', encoding="utf-8")
        command, *rest = arguments
        completed = subprocess.run(
            [
                program("skopeo"),
                "--policy",
                str(policy),
                command,
                "--authfile",
                str(self.workdir / "auth.json"),
                *rest,
            ],
            capture_output=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr.decode()
        return completed.stdout


@contextmanager
def running_registry(
    workdir: Path, token_realm: str | None = None, root_certificate: Path | None = None
) -> Iterator[LocalRegistry]:
    """docker-registry on a free port of 127.0.0.1, storage in WORKDIR; with TOKEN_REALM, it
    accepts only tokens signed by ROOT_CERTIFICATE's key. Always stopped afterwards."""
    binary = program("docker-registry")
    port = free_port()
    auth = ""
    if token_realm is not None:
        auth = (
            "auth:\n  token:\n"
            f"    realm: {token_realm}\n    service: {TOKEN_SERVICE}\n"
            f"    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {root_certificate}\n"
        )
    configuration = workdir / "registry.yml"
    configuration.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: hermetic-tests\n{auth}",
        encoding="utf-8",
    )
    log = workdir / "registry.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "serve", str(configuration)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/v2/", process, log)
        yield LocalRegistry(f"127.0.0.1:{port}", workdir, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Any HTTP answer from URL (200, or 401 under token auth) within 15 s; else fail."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - http://127.0.0.1
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"docker-registry did not answer {url} within 15 s: {log.read_text()}")


# --- Token service ------------------------------------------------------------------------------


@dataclass
class TokenService:
    """Issues JWTs signed with KEY (RS256, certificate in x5c) granting every requested action,
    except on repositories under DENIED_PREFIX; records each scope asked for."""

    key: Path
    certificate: Path
    realm: str = ""
    scopes: list[str] = field(default_factory=list)

    def token(self, service: str, scopes: list[str]) -> str | None:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            if name.startswith(DENIED_PREFIX):
                return None
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        certificate = subprocess.run(
            [program("openssl"), "x509", "-in", str(self.certificate), "-outform", "DER"],
            capture_output=True,
            check=True,
        ).stdout
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(certificate).decode()]}
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": "",
            "aud": service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signed = (
            f"{_base64url(json.dumps(header).encode())}.{_base64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            [program("openssl"), "dgst", "-sha256", "-sign", str(self.key)],
            input=signed.encode(),
            capture_output=True,
            check=True,
        ).stdout
        return f"{signed}.{_base64url(signature)}"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key(workdir: Path) -> tuple[Path, Path]:
    """A fresh RSA key and its self-signed certificate (the registry's root bundle)."""
    key, certificate = workdir / "token.key", workdir / "token.crt"
    subprocess.run(
        [
            program("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "2",
            "-subj",
            f"/CN={TOKEN_ISSUER}",
        ],
        capture_output=True,
        check=True,
    )
    return key, certificate


@contextmanager
def running_token_service(service: TokenService) -> Iterator[TokenService]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = query.get("scope", [])
            service.scopes.extend(scopes)
            token = service.token(query.get("service", [""])[0], scopes)
            if token is None:
                self._answer(401, {"details": "access to this repository is denied"})
            else:
                self._answer(200, {"token": token, "expires_in": 300})

        def _answer(self, status: int, document: dict[str, object]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests assert on what was asked, not on a log."""

    with _serving(Handler) as port:
        service.realm = f"http://127.0.0.1:{port}/token"
        yield service


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """HANDLER served on a free port of 127.0.0.1 in a thread; shut down afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- A proxy that alters answers ----------------------------------------------------------------


@contextmanager
def altering_proxy(
    upstream: str,
    alter_head: Callable[[dict[str, str]], None],
    alter_body: Callable[[bytes], bytes],
) -> Iterator[str]:
    """HOST:PORT of a plain-HTTP proxy to UPSTREAM that passes HEAD headers through ALTER_HEAD
    and GET bodies through ALTER_BODY (keeping the registry's headers, Content-Length aside)."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            status, headers, _ = self._forward("HEAD")
            alter_head(headers)
            self._reply(status, headers, b"", head=True)

        def do_GET(self) -> None:
            status, headers, body = self._forward("GET")
            self._reply(status, headers, alter_body(body) if status == 200 else body, head=False)

        def _forward(self, method: str) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(upstream, timeout=10)
            passed = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            connection.request(method, self.path, headers=passed)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            return response.status, dict(response.getheaders()), body

        def _reply(self, status: int, headers: dict[str, str], body: bytes, *, head: bool) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in (
                    "content-length",
                    "connection",
                    "date",
                    "transfer-encoding",
                ):
                    self.send_header(name, value)
            self.send_header(
                "Content-Length", headers.get("Content-Length", "0") if head else str(len(body))
            )
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    with _serving(Handler) as port:
        yield f"127.0.0.1:{port}"
