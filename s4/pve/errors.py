"""The error shape of the PVE API (HTTP status, reason phrase, message, per-parameter errors)."""

from __future__ import annotations


class PVEError(Exception):
    """An error answered as ``<code> <first line of message>`` with body ``{"data":null,"message":...}``."""

    def __init__(self, code: int, message: str, errors: dict[str, str] | None = None) -> None:
        if not message.endswith("\n"):
            message += "\n"
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors

    @property
    def reason(self) -> str:
        line = self.message.splitlines()[0] if self.message.strip() else ""
        return line.replace("\r", " ").strip()


class ParamError(PVEError):
    """400 Parameter verification failed, with an ``errors`` dict."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(400, "Parameter verification failed.", errors)


class AuthFailure(PVEError):
    """A 401 raised before any handler runs: empty body, reason phrase only."""

    def __init__(self, reason: str) -> None:
        super().__init__(401, reason)


class TaskError(Exception):
    """Raised inside a task: ends the task with ``TASK ERROR: <message>``."""
