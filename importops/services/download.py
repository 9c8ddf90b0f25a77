"""``downloadPublicImportFile``: fetching a file from a URL without becoming a proxy into the
server's own network.

1. Only http/https, only hosts on DOWNLOAD_ALLOWED_HOSTS — checked before any DNS lookup.
2. Every address the host resolves to must be public (not loopback, private, link-local,
   reserved, multicast or unspecified) unless DOWNLOAD_ALLOW_LOCAL_ADDRESSES is on.
3. The connection goes to the checked address itself (no second lookup to rebind), within
   one DOWNLOAD_TIMEOUT for everything, no redirects, and at most MAX_UPLOAD_SIZE bytes read.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
from urllib.parse import urlsplit

from importops.conf import importops_settings
from importops.errors import InvalidImportFileUrl, PayloadTooLarge

CHUNK = 64 * 1024


def _refuse(reason: str) -> InvalidImportFileUrl:
    return InvalidImportFileUrl(f"The file URL is not allowed: {reason} [error-invalid-import-file-url]")


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an allowed URL; raises InvalidImportFileUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"malformed URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise _refuse("only http and https URLs can be downloaded")
    host = (parts.hostname or "").lower()
    if not host:
        raise _refuse("the URL has no host")
    allowed = {h.lower() for h in importops_settings.DOWNLOAD_ALLOWED_HOSTS}
    if host not in allowed:
        raise _refuse(f"the host {host!r} is not on DOWNLOAD_ALLOWED_HOSTS")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(host: str, port: int) -> str:
    """The address to connect to; every address of the host must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _refuse(f"the host {host!r} does not resolve ({exc})") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not importops_settings.DOWNLOAD_ALLOW_LOCAL_ADDRESSES:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise _refuse(f"{host!r} resolves to {address}, a loopback, private, link-local or reserved address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def download(url: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of an allowed URL. DOWNLOAD_TIMEOUT is one
    wall-clock budget for connecting, the headers and the body: a server that trickles a byte
    at a time (each within a socket timeout) is cut off when the budget is spent."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port)
    timeout = importops_settings.DOWNLOAD_TIMEOUT
    limit = importops_settings.MAX_UPLOAD_SIZE
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, address, port, timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv()

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.start()
    try:
        connection.request("GET", path, headers={"User-Agent": "importops", "Accept": "*/*"})
        response = connection.getresponse()
        if response.status != 200:
            raise _refuse(f"the server answered HTTP {response.status} (redirects are not followed)")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise PayloadTooLarge(limit)
        chunks, size = [], 0
        while chunk := response.read1(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(limit)
            chunks.append(chunk)
        if expired.is_set():
            raise _refuse(f"the download took longer than {timeout} s")
        content_type = (response.getheader("Content-Type") or "application/octet-stream").split(";")[0].strip()
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise _refuse(f"the download took longer than {timeout} s") from exc
        raise _refuse(f"the download failed ({exc})") from exc
    finally:
        watchdog.cancel()
        connection.close()
    name = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "download"
    return b"".join(chunks), content_type, name
