"""Per-request context as plain ASGI: request id, model headers on every response (errors and
crashes included), one JSON access-log line, and the /predict latency and status metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .metrics import ServiceMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_logger = logging.getLogger(__name__.rsplit(".", 1)[0] + ".access")

REQUEST_ID_HEADER = b"x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
PREDICT_PATH = "/predict"


def request_id_of(scope: Scope) -> bytes:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _ACCEPTABLE_REQUEST_ID.fullmatch(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        identity_headers: list[tuple[bytes, bytes]],
        identity_log_fields: dict[str, str],
        metrics: ServiceMetrics,
    ) -> None:
        self.app = app
        self._identity_headers = identity_headers
        self._identity_log_fields = identity_log_fields
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        status = 500
        response_started = False
        extra_headers = [(REQUEST_ID_HEADER, request_id), *self._identity_headers]

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            access_logger.exception(
                "request failed", extra={"request_id": request_id.decode(), "path": scope["path"]}
            )
            if not response_started:
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"detail":"internal error"}'})
        finally:
            elapsed = time.perf_counter() - started
            if scope["path"] == PREDICT_PATH:
                self._metrics.prediction_latency.observe(elapsed)
                self._metrics.prediction_requests.labels(str(status)).inc()
            access_logger.info(
                "request",
                extra={
                    "request_id": request_id.decode(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    **self._identity_log_fields,
                },
            )
