"""TLS for the simulators: a throwaway self-signed certificate for 127.0.0.1 / localhost / ::1.

Some clients refuse plain HTTP: azure-core will not send a bearer token to a non-https URL, so the
vendor SDKs (azure-ai-ml, azure-ai-agents) only talk to a simulator served with `tls=True`. The
certificate is made at start, valid for a day, and written (PEM) with its key to a private temp
directory; `ca_file` is the path a client trusts:

    REQUESTS_CA_BUNDLE=<ca_file>   # requests, and the azure SDKs (which use requests)
    SSL_CERT_FILE=<ca_file>        # the stdlib ssl / urllib / httpx
    requests.get(url, verify=<ca_file>)

The certificate is its own CA (basicConstraints CA:TRUE) so OpenSSL accepts it as a trust anchor.
Made with the `cryptography` package when importable (it comes with azure-identity), else with the
`openssl` command line.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
VALID_FOR = datetime.timedelta(days=1)


class TLSUnavailable(RuntimeError):
    """Neither `cryptography` nor the `openssl` command is there to make a certificate."""


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate and its key, as PEM files in `directory`."""

    directory: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context serving this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def remove(self) -> None:
        """Delete the files (the directory was made for them alone)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def make_certificate(common_name: str = "runbridge simulator") -> Certificate:
    """A new self-signed certificate for localhost, 127.0.0.1 and ::1 in a new temp directory."""
    directory = Path(tempfile.mkdtemp(prefix="sim-tls-"))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    try:
        try:
            _with_cryptography(common_name, cert_file, key_file)
        except ImportError:
            _with_openssl(common_name, cert_file, key_file)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Certificate(directory, cert_file, key_file)


def _with_cryptography(common_name: str, cert_file: Path, key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names: list[x509.GeneralName] = [x509.DNSName(host) for host in HOSTS]
    alt_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ADDRESSES]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _with_openssl(common_name: str, cert_file: Path, key_file: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TLSUnavailable("TLS needs the 'cryptography' package or the 'openssl' command")
    alt = ",".join([f"DNS:{host}" for host in HOSTS] + [f"IP:{address}" for address in ADDRESSES])
    command = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key_file), "-out", str(cert_file), "-days", str(VALID_FOR.days),
        "-subj", f"/CN={common_name}", "-addext", f"subjectAltName={alt}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyAgreement,keyCertSign",
        "-addext", "extendedKeyUsage=serverAuth",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TLSUnavailable(f"openssl could not make a certificate: {result.stderr.strip()}")
