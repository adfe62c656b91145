"""A throw-away certificate authority and a server certificate for the tests' controller.

Why generated per session: the tunnel must be ``wss://`` with a certificate the agent verifies
(``--ca-file``), and no key material belongs in the repository. The ``openssl`` CLI does it (the
test environment has no ``cryptography`` package; Debian's ``openssl`` is always there): an EC
P-256 CA, and a server certificate with the controller's IP addresses as subjectAltNames.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"


@dataclass(frozen=True)
class Certificates:
    ca: Path    # the CA certificate (PEM): what clients trust
    cert: Path  # the server certificate (PEM), signed by the CA
    key: Path   # the server's private key (PEM)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr}")


def make_certificates(folder: Path, addresses: Sequence[str]) -> Certificates:
    """Create ``ca.pem``, ``server.pem`` and ``server.key`` in ``folder`` for ``addresses``."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", DAYS, "-subj", "/CN=edgewhisk test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=edgewhisk controller",
             cwd=folder)
    san = ",".join(f"IP:{address}" for address in addresses)
    (folder / "server.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", DAYS, "-extfile", "server.ext",
             cwd=folder)
    return Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
