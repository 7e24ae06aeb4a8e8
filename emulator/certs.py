"""A local certificate authority and a server certificate for 127.0.0.1/localhost, made once and kept.

Clients trust ``ca.pem`` (REQUESTS_CA_BUNDLE / SSL_CERT_FILE); the server presents ``server.pem``. Both are
regenerated only when missing or about to expire, so the CA stays stable between runs.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertPaths:
    ca: Path
    ca_key: Path
    server: Path
    server_key: Path


def paths(directory: Path) -> CertPaths:
    return CertPaths(
        directory / "ca.pem", directory / "ca-key.pem", directory / "server.pem", directory / "server-key.pem"
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _valid(path: Path, margin: timedelta = timedelta(days=7)) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc > datetime.now(UTC) + margin


def _make_ca(p: CertPaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local ARM emulator CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(p.ca_key, key)
    p.ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    logger.info("created a new local CA at %s", p.ca)


def _make_server(p: CertPaths) -> None:
    ca_key = serialization.load_pem_private_key(p.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(p.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(p.server_key, key)
    p.server.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure(directory: Path) -> CertPaths:
    """Create the CA and server certificate in ``directory`` unless valid ones are already there."""
    directory.mkdir(parents=True, exist_ok=True)
    p = paths(directory)
    if not (_valid(p.ca) and p.ca_key.exists()):
        _make_ca(p)
        p.server.unlink(missing_ok=True)
    if not (_valid(p.server) and p.server_key.exists()):
        _make_server(p)
    return p


def server_context(p: CertPaths) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(p.server, p.server_key)
    return ctx
