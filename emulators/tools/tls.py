"""HTTPS for ``pixelmock serve --tls`` and ``pixelmock proxy --tls``: a certificate for this machine's
names from a local certificate authority made at start, or the user's own certificate and key.

The real providers answer ``https://`` URLs, and some clients refuse asset URLs that are not HTTPS
(genblaze-gmicloud: "only absolute HTTPS URLs allowed"). ``--tls`` makes a fresh CA with trustme (the
``[tls]`` extra; python-trio/trustme, the library the ``trio`` and ``urllib3`` test suites use) and a
server certificate it signs for ``localhost``, ``127.0.0.1``, ``::1``, the host name and the bound
address; ``--tls-ca-out FILE`` writes the CA's certificate for clients to trust (``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``, httpx's ``verify=``). The CA's key never leaves the
process: it lives in a temporary folder removed when the server stops. Nothing is trusted system-wide.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "TlsUnavailable", "local_names", "tls_files"]


class TlsUnavailable(RuntimeError):
    """``--tls`` without ``--tls-cert`` needs trustme, which is not installed; or only one of
    ``--tls-cert`` and ``--tls-key`` was given. ``pixelmock serve`` (or ``proxy``) prints the message, exit
    status 2."""


@dataclass(frozen=True)
class TlsFiles:
    """What the server loads: ``cert`` (PEM chain) and ``key`` (PEM; may be the same file), and the CA
    certificate clients should trust (``ca``; None for the user's own certificate)."""

    cert: Path
    key: Path
    ca: Path | None = None


def local_names(host: str) -> list[str]:
    """The names a local certificate is issued for: ``localhost``, ``127.0.0.1``, ``::1``, this machine's
    host name (a container's, which compose services reach it by) and ``host`` unless it is a wildcard
    address (``0.0.0.0``, ``::``)."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    try:
        wildcard = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = False
    if host and not wildcard:
        names.append(host)
    return list(dict.fromkeys(n for n in names if n))


@contextmanager
def tls_files(
    host: str, cert: Path | None = None, key: Path | None = None, ca_out: Path | None = None
) -> Iterator[TlsFiles]:
    """The files to serve HTTPS with, for the ``with`` block: ``cert`` and ``key`` when given (both or
    neither), else a certificate from a fresh local CA for ``local_names(host)``, its CA certificate
    written whole to ``ca_out`` when given (the temporary files are removed afterwards; ``ca_out`` stays).
    Raises ``TlsUnavailable``."""
    if (cert is None) != (key is None):
        raise TlsUnavailable("--tls-cert and --tls-key go together: give both, or neither for a local CA")
    if cert is not None and key is not None:
        yield TlsFiles(cert, key)
        return
    try:
        import trustme
    except ImportError:
        raise TlsUnavailable(
            "--tls makes a local CA with trustme, which is not installed: pip install 'pixelmock[tls]' "
            "(or give your own --tls-cert and --tls-key)"
        ) from None
    authority = trustme.CA(organization_name="pixelmock local CA")
    issued = authority.issue_cert(*local_names(host), organization_name="pixelmock")
    folder = Path(tempfile.mkdtemp(prefix="pixelmock-tls-"))
    owner = os.getpid()  # gunicorn's workers are forks that leave this block too, when they exit
    try:
        chain, ca = folder / "server.pem", folder / "ca.pem"
        issued.private_key_and_cert_chain_pem.write_to_path(str(chain))
        authority.cert_pem.write_to_path(str(ca))
        if ca_out is not None:
            partial = ca_out.with_name(ca_out.name + ".partial")
            partial.write_bytes(authority.cert_pem.bytes())
            partial.replace(ca_out)
        yield TlsFiles(chain, chain, ca_out or ca)
    finally:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)
