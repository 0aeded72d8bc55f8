"""A throwaway PostgreSQL 15 server for tests that need what the shared one lacks.

The machine's server trusts every local connection and has TLS off; this one is made by
``initdb`` in a temporary directory on a free port with TLS on (certificates generated
here, signed by a test CA), password (scram) authentication on TCP, and a role whose
password holds ``@ / % : ?``, spaces and quotes. Tests may restart or stop it, and make
streaming replicas of it (:meth:`ScratchCluster.standby`). As root, the server runs as
the ``postgres`` user (``initdb`` refuses root).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN = Path("/usr/lib/postgresql/15/bin")
ROLE, DATABASE = "aragora", "aragora"
#: The role's password: every character that breaks naive URL or DSN handling.
PASSWORD = "p@ss/w%rd \"q' x:y?#"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, issuer: str, key: ec.EllipticCurvePrivateKey,
                 signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class ScratchCluster:
    """One throwaway server: :meth:`start`, :meth:`restart`, :meth:`stop`, :meth:`remove`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="aragora-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_server:
            shutil.chown(self.root, "postgres")
        self.ca_file = self.root / "ca.crt"
        self.wrong_ca_file = self.root / "wrong-ca.crt"

    def _server(self, *argv: str) -> None:
        subprocess.run([*self.as_server, *argv], check=True, capture_output=True, cwd=self.root)

    def create(self) -> None:
        """``initdb``, certificates, ``pg_hba.conf``, start, and the password role."""
        self._server(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        self._certificates()
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "local replication all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")
        self.start()
        self.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (PASSWORD,))
        self.admin(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")

    def _certificates(self) -> None:
        ca_key, wrong_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "abc")
        ca = _certificate("aragora test CA", "aragora test CA", ca_key, ca_key, ca=True)
        wrong = _certificate("another CA", "another CA", wrong_key, wrong_key, ca=True)
        server = _certificate("localhost", "aragora test CA", server_key, ca_key, ca=False)
        _pem(self.ca_file, _cert_pem(ca))
        _pem(self.wrong_ca_file, _cert_pem(wrong))
        for name, data in (("server.crt", _cert_pem(server)), ("server.key", _key_pem(server_key))):
            path = _pem(self.data / name, data, 0o600)
            if self.as_server:
                shutil.chown(path, "postgres", "postgres")

    def standby(self) -> ScratchCluster:
        """A streaming replica of this server (``pg_basebackup -R``), started."""
        replica = ScratchCluster()
        replica.ca_file, replica.wrong_ca_file = self.ca_file, self.wrong_ca_file
        replica._server(str(BIN / "pg_basebackup"), "-D", str(replica.data), "-R", "-X",
                        "stream", "-c", "fast", "-h", str(self.root), "-p", str(self.port),
                        "-U", "postgres")
        replica.start()
        return replica

    def admin(self, sql: str, params: tuple[str, ...] = (), dbname: str = "postgres") -> object:
        """Run ``sql`` as the superuser over the server's socket; return the first value."""
        import psycopg2

        conn = psycopg2.connect(host=str(self.root), port=self.port, user="postgres",
                                dbname=dbname)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            row = cursor.fetchone() if cursor.description else None
        conn.close()
        return None if row is None else row[0]

    def promote(self) -> None:
        """Turn this standby into a primary of its own (``pg_ctl promote``)."""
        self._server(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "promote")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c ssl=on"
                   " -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off"
                   " -c max_connections=40 -c shared_buffers=16MB")
        self._server(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                     "-w", "-o", options, "start")

    def restart(self) -> None:
        """Stop the server (closing every connection at once) and start it again."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Stop the server, terminating every session."""
        self._server(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its directory."""
        subprocess.run([*self.as_server, str(BIN / "pg_ctl"), "-D", str(self.data), "-w",
                        "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, password: str | None = PASSWORD, **params: str) -> str:
        """A ``postgresql://`` URL for the password role (percent-encoded) with ``params``."""
        auth = ROLE if password is None else f"{ROLE}:{quote(password, safe='')}"
        query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in params.items())
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{DATABASE}" + (
            f"?{query}" if query else "")
