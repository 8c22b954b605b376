"""Lab CA and server certificate for the PVE server (generated once per state dir with ``cryptography``)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def ca_paths(state_dir: Path) -> tuple[Path, Path, Path, Path]:
    """(ca.pem, ca.key, server.pem, server.key)"""
    return state_dir / "ca.pem", state_dir / "ca.key", state_dir / "server.pem", state_dir / "server.key"


def ensure_certificates(state_dir: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "pve")) -> None:
    """Create the lab CA and a server certificate for ``hosts`` unless they exist and cover all of them."""
    ca_pem, ca_key, srv_pem, srv_key = ca_paths(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if ca_pem.exists() and ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        cakey = loaded
    else:
        cakey = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "S4 lab"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "S4 lab PVE CA")])
        ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(cakey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(cakey.public_key()), critical=False)
            .sign(cakey, hashes.SHA256())
        )
        _write(ca_key, _key_pem(cakey), 0o600)
        _write(ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        srv_pem.unlink(missing_ok=True)
    if srv_pem.exists() and srv_key.exists():
        cert = x509.load_pem_x509_certificate(srv_pem.read_bytes())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = {str(v) for v in san.get_values_for_type(x509.DNSName)}
            names |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
        except x509.ExtensionNotFound:
            names = set()
        if set(hosts) <= names and cert.not_valid_after_utc > now + dt.timedelta(days=30):
            return
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for h in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(cakey.public_key()), critical=False)
        .sign(cakey, hashes.SHA256())
    )
    _write(srv_key, _key_pem(key), 0o600)
    _write(srv_pem, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def fingerprint(state_dir: Path) -> str:
    cert = x509.load_pem_x509_certificate(ca_paths(state_dir)[2].read_bytes())
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
