"""Bounded resources: a line of any length, a ZIP declaring a huge directory, and slow
clients against the demo's server setup."""

from __future__ import annotations

import io
import socket
import struct
import time
import urllib.error
import urllib.request

import pytest

from importops.importers import sources
from importops.models import ImportOperation
from tests.files import jsonl, rocketchat_zip, upload_body, users_csv, zipped
from tests.live import Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    def send(content: bytes, *, importer: str, name: str):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post("uploadImportFile", upload_body(content, importer=importer, name=name))

    return send


class CountingStream(io.BytesIO):
    """Remembers the largest piece it handed out."""

    largest = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line

    def __iter__(self):  # main read lines by iterating: unbounded
        while line := self.readline():
            yield line


def test_a_long_line_fails_while_streaming_before_it_is_read_whole(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_LINE_LENGTH": 1000}
    stream = CountingStream(b"ok\n" + b"x" * 100_000 + b"\n")
    with pytest.raises(sources.FileParseError, match="line 2: longer than 1000 bytes"):
        list(sources.text_lines(stream, "users.jsonl"))
    assert stream.largest <= 1001


def test_a_long_line_ends_the_parse_with_its_line_number(upload, settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_LINE_LENGTH": 1000}
    content = jsonl([{"emails": ["a@example.com"], "importIds": ["a"], "bio": "b" * 5000}])
    assert upload(content, importer="jsonl", name="users.jsonl").status_code == 200
    operation = ImportOperation.objects.get(valid=True)
    assert operation.status == "importer_import_failed"
    assert "users.jsonl line 1: longer than 1000 bytes" in operation.failure_reason


def test_a_line_of_exactly_the_limit_is_fine(settings):
    settings.IMPORTOPS = {**settings.IMPORTOPS, "MAX_LINE_LENGTH": 10}
    lines = list(sources.text_lines(io.BytesIO(b"0123456789\n0123456789"), "x.csv"))
    assert [text for _, text in lines] == ["0123456789\n", "0123456789"]


def declaring(entries: int, directory_size: int, *, zip64: bool = False) -> bytes:
    """A small, real ZIP whose end-of-directory record declares another directory."""
    content = bytearray(zipped({"users.csv": users_csv([("a", "a@example.com", "A")])}))
    at = content.rfind(b"PK\x05\x06")
    if zip64:
        record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, directory_size, 0)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
        end = bytearray(content[at:])
        struct.pack_into("<HHL", end, 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF)
        return bytes(content[:at]) + record + locator + bytes(end)
    struct.pack_into("<HHL", content, at + 8, min(entries, 0xFFFF), min(entries, 0xFFFF), directory_size)
    return bytes(content)


@pytest.mark.parametrize(
    "content",
    [declaring(60_000, 3_000_000), declaring(5, 2**31), declaring(10**9, 10**11, zip64=True)],
    ids=["entries", "directory-bytes", "zip64"],
)
def test_a_huge_declared_directory_is_refused_without_reading_it(api, monkeypatch, content):
    def never(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile must not read this directory")

    monkeypatch.setattr(sources.zipfile, "ZipFile", never)
    before = list(ImportOperation.objects.values_list("pk", "valid"))
    response = api.post("uploadImportFile", upload_body(content, importer="csv", name="export.zip"))
    assert response.status_code == 400, response.content
    assert response.json()["errorType"] == "error-invalid-import-file"
    assert "declares" in response.json()["error"]
    assert list(ImportOperation.objects.values_list("pk", "valid")) == before


def test_ordinary_zips_still_pass(upload):
    assert upload(rocketchat_zip(3), importer="csv", name="export.zip").status_code == 200
    assert ImportOperation.objects.get(valid=True).status == "importer_user_selection"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_slow_clients_do_not_stop_the_demo_server_from_answering(tmp_path):
    """300 clients send headers and part of a body, then stall. With threaded WSGI workers
    (what scripts/run.sh ran before) a few dozen of them leave no thread to answer anybody."""
    server = Server(tmp_path, demo=True)
    stalled = []
    try:
        for _ in range(300):
            client = socket.create_connection(("127.0.0.1", server.port))
            client.sendall(
                b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"user": '
            )
            stalled.append(client)
        time.sleep(3)  # every stalled request has reached the server
        for path, status in (("/api/v1/me", 401), ("/api/v1/schema", 200), ("/admin/login/", 200), ("/", 200)):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(server.url + path, timeout=10) as response:
                    answered = response.status
            except urllib.error.HTTPError as exc:
                answered = exc.code
            assert answered == status and time.monotonic() - started < 5, (path, answered)
        # A body over what any endpoint reads is refused from its headers, before it is read.
        huge = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        huge.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999999\r\n\r\n")
        answer = huge.recv(65536).decode()
        huge.close()
        assert answer.startswith("HTTP/1.1 413") and '"error-payload-too-large"' in answer, answer
    finally:
        for client in stalled:
            client.close()
        server.stop()
    assert "Traceback" not in server.output()
