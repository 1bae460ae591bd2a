from pydantic import BaseModel


class HearbeatResult(BaseModel):
    """The heartbeat endpoint's answer."""

    is_alive: bool
