"""SMTP delivery (smtplib): STARTTLS (default), implicit TLS or plain; credentials never appear in messages or reprs.

Credentials are only ever sent over a TLS connection whose certificate was verified (unless verify_tls is turned
off explicitly). A plain (``security: none``) connection with a username/password is refused before anything is
sent, unless ``allow_plaintext_auth`` is set *and* the server is on a loopback address (a local relay): a password
never crosses a network in clear text. A server that does not offer STARTTLS when ``starttls`` is configured is
refused (no downgrade).
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
ENV_USER = "S4_SMTP_USERNAME"
ENV_PASSWORD = "S4_SMTP_PASSWORD"  # noqa: S105 - the name of the variable, not a secret


class SmtpConfigError(ValueError):
    pass


class DeliveryError(RuntimeError):
    """The SMTP server could not be used at all (nothing was sent)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"        # starttls | ssl | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None
    allow_plaintext_auth: bool = False  # AUTH over a plain connection, only ever to a loopback server

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise SmtpConfigError(f"smtp security must be one of {', '.join(SECURITY)}, got {self.security!r}")
        if not self.host:
            raise SmtpConfigError("smtp host is empty")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise SmtpConfigError(f"smtp port must be 1-65535, got {self.port!r}")
        if bool(self.username) != bool(self.password):
            raise SmtpConfigError("smtp username and password go together (one of them is missing)")
        if self.username and self.security == "none":
            if not self.allow_plaintext_auth:
                raise SmtpConfigError(
                    f"refusing to send the SMTP credentials to {self.host}:{self.port} over a connection without "
                    "TLS (security none): use security starttls or ssl (allow_plaintext_auth permits it for a "
                    "loopback relay only)")
            if not is_loopback(self.host):
                raise SmtpConfigError(
                    f"refusing to send the SMTP credentials to {self.host}:{self.port} without TLS: "
                    "allow_plaintext_auth only applies to a loopback server (localhost, 127.0.0.0/8, ::1)")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> SmtpConfig:
        """From option names host/port/security/username/password/timeout/verify_tls/ca_file/allow_plaintext_auth;
        the credentials fall back to $S4_SMTP_USERNAME / $S4_SMTP_PASSWORD. Security defaults to starttls."""
        env = os.environ if env is None else env
        security = str(options.get("security") or "starttls")
        try:
            port = int(options.get("port") or DEFAULT_PORTS.get(security, 587))
            timeout = float(options.get("timeout") or 30)
        except (TypeError, ValueError):
            raise SmtpConfigError("smtp port and timeout must be numbers") from None
        return cls(host=str(options.get("host") or "localhost"), port=port,
                   security=security,
                   username=options.get("username") or env.get(ENV_USER) or None,
                   password=options.get("password") or env.get(ENV_PASSWORD) or None,
                   timeout=timeout, verify_tls=_bool(options.get("verify_tls", True), "verify_tls"),
                   ca_file=options.get("ca_file") or None,
                   allow_plaintext_auth=_bool(options.get("allow_plaintext_auth", False), "allow_plaintext_auth"))

    def describe(self) -> str:
        auth = f", as {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({self.security}{auth})"


def is_loopback(host: str) -> bool:
    """A loopback server: the name localhost or a literal loopback address (names are not resolved: DNS is not
    trusted to decide where a password goes)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
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
                    self.smtp.ehlo_or_helo_if_needed()
                    if not self.smtp.has_extn("starttls"):
                        raise DeliveryError(f"cannot use SMTP server {cfg.describe()}: it does not offer STARTTLS "
                                            "(nothing was sent; no fallback to a plain connection)")
                    self.smtp.starttls(context=_context(cfg))
            if cfg.username and cfg.password:
                # last line of defence: credentials go over TLS, or in clear text to a loopback relay when allowed
                if not isinstance(self.smtp.sock, ssl.SSLSocket) and not (
                        cfg.allow_plaintext_auth and is_loopback(cfg.host)):
                    raise DeliveryError(f"refusing to send the SMTP credentials to {cfg.describe()}: "
                                        "the connection is not encrypted")
                self.smtp.login(cfg.username, cfg.password)
        except DeliveryError:
            self._quit()
            raise
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
