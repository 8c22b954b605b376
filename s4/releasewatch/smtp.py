"""SMTP delivery (smtplib): plain, STARTTLS or implicit TLS; credentials never appear in messages or reprs."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

SECURITY = ("none", "starttls", "ssl")
ENV_USER = "S4_SMTP_USERNAME"
ENV_PASSWORD = "S4_SMTP_PASSWORD"  # noqa: S105 - the name of the variable, not a secret


class SmtpConfigError(ValueError):
    pass


class DeliveryError(RuntimeError):
    """The SMTP server could not be used at all (nothing was sent)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    security: str = "none"            # none | starttls | ssl
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise SmtpConfigError(f"smtp security must be one of {', '.join(SECURITY)}, got {self.security!r}")
        if not self.host:
            raise SmtpConfigError("smtp host is empty")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise SmtpConfigError(f"smtp port must be 1-65535, got {self.port!r}")
        if bool(self.username) != bool(self.password):
            raise SmtpConfigError("smtp username and password go together (one of them is missing)")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> SmtpConfig:
        """From option names host/port/security/username/password/timeout/verify_tls/ca_file; the credentials
        fall back to $S4_SMTP_USERNAME / $S4_SMTP_PASSWORD."""
        env = os.environ if env is None else env
        try:
            port = int(options.get("port") or (465 if options.get("security") == "ssl" else 25))
            timeout = float(options.get("timeout") or 30)
        except (TypeError, ValueError):
            raise SmtpConfigError("smtp port and timeout must be numbers") from None
        return cls(host=str(options.get("host") or "localhost"), port=port,
                   security=str(options.get("security") or "none"),
                   username=options.get("username") or env.get(ENV_USER) or None,
                   password=options.get("password") or env.get(ENV_PASSWORD) or None,
                   timeout=timeout, verify_tls=_bool(options.get("verify_tls", True), "verify_tls"),
                   ca_file=options.get("ca_file") or None)

    def describe(self) -> str:
        auth = f", as {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({self.security}{auth})"


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SmtpConfigError(f"smtp {name} must be a boolean, got {value!r}")


def _context(cfg: SmtpConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.ca_file)
    if not cfg.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Sender:
    """One SMTP session: ``with Sender(cfg) as s: s.send(msg)``. Connection/login failures raise DeliveryError."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Sender:
        cfg = self.cfg
        try:
            if cfg.security == "ssl":
                self.smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=_context(cfg))
            else:
                self.smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
                if cfg.security == "starttls":
                    self.smtp.starttls(context=_context(cfg))
            if cfg.username and cfg.password:
                self.smtp.login(cfg.username, cfg.password)
        except smtplib.SMTPAuthenticationError as exc:
            self._quit()
            raise DeliveryError(f"SMTP server {cfg.describe()} refused the login ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            self._quit()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            if isinstance(exc, ssl.SSLCertVerificationError):
                reason = f"TLS certificate not trusted ({exc.verify_message}); set ca_file or verify_tls"
            elif isinstance(exc, ssl.SSLError):
                reason = f"TLS failed ({exc.reason or exc})"
            elif isinstance(exc, socket.timeout):
                reason = "timed out"
            raise DeliveryError(f"cannot use SMTP server {cfg.describe()}: {reason}") from None
        return self

    def send(self, msg: EmailMessage) -> list[str]:
        """Send one message; returns the recipients the server refused while accepting others. Raises
        smtplib.SMTPException / OSError when the message was not accepted at all."""
        if self.smtp is None:
            raise DeliveryError("not connected")
        refused = self.smtp.send_message(msg)
        return sorted(refused)

    def _quit(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def __exit__(self, *exc: object) -> None:
        self._quit()
