"""Issue #13 finding 9: the release watch's SMTP credentials never travel in clear text.

The attacker is on the network path to the SMTP server (or runs a server there): a server that does not offer
STARTTLS (a stripped EHLO), a plain-SMTP configuration carrying a password, a forged certificate. Each test asserts
the password never reaches the server and no message is sent.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from s4.cli import build_parser
from s4.releasewatch.smtp import DeliveryError, Sender, SmtpConfig, SmtpConfigError

PASSWORD = "pw-must-stay-on-the-controller-7f3a"  # noqa: S105 - test value


class Eavesdropper:
    """An SMTP server that accepts AUTH without TLS and records every login attempt and message."""

    def __init__(self) -> None:
        self.logins: list[bytes] = []
        self.messages: list[bytes] = []
        self.connections = 0

    def auth(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.logins.append(bytes(auth_data.password or b""))
        return AuthResult(success=True, handled=False)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd API)
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append(envelope.original_content)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def plain_server():
    """A loopback SMTP server WITHOUT STARTTLS that happily takes a password in clear text."""
    started: list[Controller] = []

    def start(**kw: Any) -> tuple[Eavesdropper, int]:
        handler = Eavesdropper()
        port = _free_port()
        ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30, authenticator=handler.auth,
                          auth_require_tls=False, **kw)
        ctrl.start()
        started.append(ctrl)
        return handler, port

    yield start
    for c in started:
        c.stop()


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "s4@smartt.example", "ops@acme.example", "notice"
    msg.set_content("body")
    return msg


def _send(cfg: SmtpConfig) -> None:
    with Sender(cfg) as s:
        s.send(_message())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_stripped_server_never_receives_the_password(plain_server) -> None:
    handler, port = plain_server()
    cfg = SmtpConfig.from_options({"host": "127.0.0.1", "port": port, "username": "s4-notices",
                                   "password": PASSWORD}, env={})
    assert cfg.security == "starttls"  # the default
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as err:
        _send(cfg)
    assert PASSWORD not in str(err.value)
    assert handler.connections == 1 and handler.logins == [] and handler.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_stripped_server_gets_no_mail_even_without_credentials(plain_server) -> None:
    handler, port = plain_server()
    with pytest.raises(DeliveryError, match="no fallback to a plain connection"):
        _send(SmtpConfig(host="127.0.0.1", port=port))
    assert handler.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_password_over_plain_smtp_is_refused_before_connecting(plain_server) -> None:
    handler, port = plain_server()
    with pytest.raises(SmtpConfigError, match="without TLS") as err:
        SmtpConfig.from_options({"host": "127.0.0.1", "port": port, "security": "none"},
                                env={"S4_SMTP_USERNAME": "s4-notices", "S4_SMTP_PASSWORD": PASSWORD})
    assert PASSWORD not in str(err.value)
    assert handler.connections == 0 and handler.logins == []


@pytest.mark.parametrize("host", ["smtp.smartt.example", "10.89.40.15", "127.0.0.1.evil.example", "::ffff:10.0.0.1"])
def test_allow_plaintext_auth_does_not_send_the_password_to_a_remote_server(host: str) -> None:
    with pytest.raises(SmtpConfigError, match="only applies to a loopback server"):
        SmtpConfig(host=host, port=25, security="none", username="s4-notices", password=PASSWORD,
                   allow_plaintext_auth=True)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_plaintext_login_forced_past_the_config_check_is_refused_by_the_sender(plain_server) -> None:
    """Defence in depth: a config whose validation was bypassed (mutated after the checks) still never logs in
    over a plain connection."""
    handler, port = plain_server()
    cfg = SmtpConfig(host="127.0.0.1", port=port, security="starttls", username="s4-notices", password=PASSWORD)
    object.__setattr__(cfg, "security", "none")
    with pytest.raises(DeliveryError, match="not encrypted"):
        _send(cfg)
    assert handler.logins == [] and handler.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_plaintext_login_to_a_loopback_relay_needs_the_explicit_option(plain_server) -> None:
    handler, port = plain_server()
    _send(SmtpConfig(host="127.0.0.1", port=port, security="none", username="s4-notices", password=PASSWORD,
                     allow_plaintext_auth=True))
    assert handler.logins == [PASSWORD.encode()] and len(handler.messages) == 1


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    crt, pem = tmp / "smtp.crt", tmp / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def test_forged_certificate_on_starttls_never_receives_the_password(tmp_path: Path) -> None:
    crt, pem = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(crt, pem)
    handler = Eavesdropper()
    port = _free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30, authenticator=handler.auth,
                      tls_context=server_ctx, require_starttls=True)
    ctrl.start()
    try:
        cfg = SmtpConfig(host="127.0.0.1", port=port, username="s4-notices", password=PASSWORD)
        with pytest.raises(DeliveryError, match="TLS certificate not trusted"):
            _send(cfg)
        assert handler.logins == [] and handler.messages == []
        # with the right CA the same server is used, over TLS
        _send(SmtpConfig(host="127.0.0.1", port=port, username="s4-notices", password=PASSWORD, ca_file=str(crt)))
        assert handler.logins == [PASSWORD.encode()] and len(handler.messages) == 1
    finally:
        ctrl.stop()


def test_cli_defaults_to_starttls() -> None:
    args = build_parser().parse_args(["release-watch", "--send"])
    assert args.smtp_security == "starttls" and args.smtp_allow_plaintext_auth is False
