"""Shutdown that loses no request: on SIGTERM readiness turns 503 at once, the service keeps
answering for DRAIN_SECONDS (while load balancers stop sending), then uvicorn stops accepting,
lets in-flight requests finish and exits."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class Lifecycle:
    def __init__(self, on_drain: Callable[[], None] = lambda: None) -> None:
        self.draining = False
        self._on_drain = on_drain

    def begin_draining(self) -> None:
        if not self.draining:
            self.draining = True
            logger.info("draining: readiness is 503, in-flight and new requests are still served")
            self._on_drain()


def drain_on_sigterm(lifecycle: Lifecycle, drain_seconds: float) -> Callable[[], None]:
    """Put a draining step in front of the server's SIGTERM handler; return an undo function.

    Only the main thread may set signal handlers; elsewhere (a server in a test thread)
    nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    server_handler: SignalHandler = signal.getsignal(signal.SIGTERM)

    def stop_server(number: int) -> None:
        if callable(server_handler):
            server_handler(number, None)

    def handle_sigterm(number: int, _frame: FrameType | None) -> None:
        if lifecycle.draining:  # a second SIGTERM: stop now
            loop.call_soon_threadsafe(stop_server, number)
            return
        lifecycle.begin_draining()
        loop.call_soon_threadsafe(loop.call_later, drain_seconds, stop_server, number)

    signal.signal(signal.SIGTERM, handle_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is handle_sigterm:
            signal.signal(signal.SIGTERM, server_handler)

    return restore
