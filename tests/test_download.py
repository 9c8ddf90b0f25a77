"""downloadPublicImportFile: what it refuses (before any DNS lookup where it can), and a
real download from a local HTTP server when local addresses are allowed."""

import contextlib
import http.server
import socket
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from importops.models import ImportOperation
from tests.files import rocketchat_zip

pytestmark = pytest.mark.django_db

REFUSED = "error-invalid-import-file-url"


def download(api, url, importer="csv"):
    return api.post("downloadPublicImportFile", {"fileUrl": url, "importerKey": importer})


def refused(response, reason_part):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False and body["errorType"] == REFUSED, body
    assert reason_part in body["error"], body["error"]
    assert not ImportOperation.objects.exists()


@pytest.fixture
def no_dns(monkeypatch):
    """Fails the test if anything resolves a name."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"DNS lookup of {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/users.zip", "not on DOWNLOAD_ALLOWED_HOSTS"),
        ("http://10.0.0.1/users.zip", "not on DOWNLOAD_ALLOWED_HOSTS"),
        ("http://169.254.169.254/latest/meta-data/", "not on DOWNLOAD_ALLOWED_HOSTS"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://files.example.com/users.zip", "only http and https"),
        ("http://files.example.com/users.zip", "not on DOWNLOAD_ALLOWED_HOSTS"),
    ],
)
def test_refused_before_any_lookup(api, no_dns, url, reason):
    refused(download(api, url), reason)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.5", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_allowed_host_with_a_local_address_is_still_refused(api, settings, host):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "DOWNLOAD_ALLOWED_HOSTS": [host.strip("[]")]}
    refused(download(api, f"http://{host}/users.zip"), "loopback, private, link-local or reserved")


def test_unknown_importer_first(api):
    response = download(api, "http://files.example.com/x.zip", importer="nope")
    assert response.json()["errorType"] == "error-importer-not-defined"


@pytest.fixture
def file_server():
    """A real HTTP server on 127.0.0.1 serving a Rocket.Chat CSV export."""
    content = rocketchat_zip(7)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/export.zip":
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.end_headers()
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_local_download_when_allowed(api, settings, file_server, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    settings.IMPORTOPS = {
        **settings.IMPORTOPS,
        "DOWNLOAD_ALLOWED_HOSTS": ["127.0.0.1"],
        "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": True,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = download(api, f"{file_server}/export.zip")
    assert response.status_code == 200, response.content
    operation = ImportOperation.objects.get(valid=True)
    assert (operation.status, operation.count_users, operation.file_name) == (
        "importer_user_selection",
        7,
        "export.zip",
    )


def test_redirects_and_errors_are_not_followed(api, settings, file_server):
    settings.IMPORTOPS = {
        **settings.IMPORTOPS,
        "DOWNLOAD_ALLOWED_HOSTS": ["127.0.0.1"],
        "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": True,
    }
    refused(download(api, f"{file_server}/moved"), "HTTP 302")
    refused(download(api, f"{file_server}/missing.zip"), "HTTP 404")


def test_download_size_limit(api, settings, file_server):
    settings.IMPORTOPS = {
        **settings.IMPORTOPS,
        "DOWNLOAD_ALLOWED_HOSTS": ["127.0.0.1"],
        "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": True,
        "MAX_UPLOAD_SIZE": 100,
    }
    response = download(api, f"{file_server}/export.zip")
    assert response.status_code == 413 and response.json()["errorType"] == "error-payload-too-large"


def test_system_check_refuses_local_downloads_without_debug(settings):
    settings.DEBUG = False
    settings.IMPORTOPS = {**settings.IMPORTOPS, "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": True}
    with pytest.raises(SystemCheckError, match="importops.E002"):
        call_command("check")
    settings.DEBUG = True
    call_command("check")


@pytest.fixture
def trickling_server():
    """Sends its headers one byte every 0.2 s: each recv() is quick, the whole is not."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nX-Slow: " + b"x" * 200:
                if stop.is_set():
                    return
                with contextlib.suppress(OSError):
                    connection.sendall(bytes([byte]))
                time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_the_download_timeout_is_one_budget_for_headers_and_body(api, settings, trickling_server):
    """main: every byte came within the socket timeout, so the download never ended."""
    settings.IMPORTOPS = {
        **settings.IMPORTOPS,
        "DOWNLOAD_ALLOWED_HOSTS": ["127.0.0.1"],
        "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": True,
        "DOWNLOAD_TIMEOUT": 1,
    }
    started = time.monotonic()
    refused(download(api, f"{trickling_server}/users.csv"), "longer than 1 s")
    assert time.monotonic() - started < 5  # refused() also checks that no operation was created
