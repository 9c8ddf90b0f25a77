"""Opening import files from outside safely.

A ZIP is judged from its central directory alone — entry count, declared sizes,
compression ratios — so a bomb is refused before a byte is inflated; while reading, an
entry can never yield more than it declared. Entry names with ``..`` or an absolute path
are ignored. Text is strict UTF-8 (with or without BOM), decoded line by line so an error
names its line.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from importops.conf import importops_settings
from importops.errors import FileParseError, InvalidImportFile

BIG_ENTRY = 1024 * 1024  # ratios of smaller entries do not matter


def looks_like_zip(head: bytes, file_name: str) -> bool:
    return head.startswith(b"PK") or file_name.lower().endswith(".zip")


def safe_member(name: str) -> bool:
    """A ZIP entry name that stays inside the archive: no absolute path, no ``..``."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return False
    return ".." not in name.replace("\\", "/").split("/")


def _open_checked(fileobj: IO[bytes], file_name: str) -> zipfile.ZipFile | None:
    """The checked ZIP archive, or None for a plain file; InvalidImportFile with a reason for
    an empty file, a broken or empty ZIP, a ZIP bomb."""
    fileobj.seek(0)
    head = fileobj.read(4)
    fileobj.seek(0)
    if not head:
        raise InvalidImportFile(f"The file {file_name!r} is empty.")
    if not looks_like_zip(head, file_name):
        return None
    check_directory(fileobj, file_name)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidImportFile(f"The file {file_name!r} is not a valid ZIP archive ({exc}).") from exc
    try:
        check_zip(archive, file_name)
    except InvalidImportFile:
        archive.close()
        raise
    return archive


END_OF_DIRECTORY = struct.Struct("<4s4H2LH")
DIRECTORY_BYTES_PER_ENTRY = 1024  # a central directory record: 46 bytes, the name, extras, comment


def _declared_directory(fileobj: IO[bytes]) -> tuple[int, int] | None:
    """(entries, central directory bytes) as the end-of-directory record (or its ZIP64 form)
    declares them, read from the file's tail alone; None when there is no such record."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    tail_size = min(size, END_OF_DIRECTORY.size + 0xFFFF + 20)  # record, longest comment, ZIP64 locator
    fileobj.seek(size - tail_size)
    tail = fileobj.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < END_OF_DIRECTORY.size:
        return None
    _, _, _, _, entries, directory_size, _, _ = END_OF_DIRECTORY.unpack_from(tail, at)
    if (entries == 0xFFFF or directory_size == 0xFFFFFFFF) and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        (record_at,) = struct.unpack_from("<Q", tail, at - 12)
        fileobj.seek(record_at)
        record = fileobj.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            entries, directory_size = struct.unpack_from("<QQ", record, 32)
    return entries, directory_size


def check_directory(fileobj: IO[bytes], file_name: str) -> None:
    """Refuse a ZIP whose declared directory is too big before zipfile reads (and holds) it."""
    declared = _declared_directory(fileobj)
    fileobj.seek(0)
    if declared is None:
        return  # zipfile will say what is wrong
    entries, directory_size = declared
    limit = importops_settings.MAX_ZIP_ENTRIES
    if entries > limit or directory_size > limit * DIRECTORY_BYTES_PER_ENTRY:
        raise InvalidImportFile(
            f"The ZIP file {file_name!r} declares {entries} entries in a {directory_size}-byte directory; "
            f"at most {limit} entries are accepted."
        )


def check_upload(fileobj: IO[bytes], file_name: str) -> None:
    """Refuse, before anything is stored, what can be judged without parsing."""
    archive = _open_checked(fileobj, file_name)
    if archive is not None:
        archive.close()
    fileobj.seek(0)


def check_zip(archive: zipfile.ZipFile, file_name: str) -> None:
    entries = archive.infolist()
    if not entries:
        raise InvalidImportFile(f"The ZIP file {file_name!r} is empty.")
    limit = importops_settings.MAX_ZIP_ENTRIES
    if len(entries) > limit:
        raise InvalidImportFile(f"The ZIP file {file_name!r} has {len(entries)} entries; at most {limit} are accepted.")
    total = sum(entry.file_size for entry in entries)
    if total > importops_settings.MAX_UNCOMPRESSED_SIZE:
        raise InvalidImportFile(
            f"The ZIP file {file_name!r} would inflate to {total} bytes; at most "
            f"{importops_settings.MAX_UNCOMPRESSED_SIZE} are accepted."
        )
    ratio = importops_settings.MAX_COMPRESSION_RATIO
    for entry in entries:
        if entry.file_size > BIG_ENTRY and entry.file_size > ratio * max(entry.compress_size, 1):
            raise InvalidImportFile(
                f"The ZIP entry {entry.filename!r} is compressed more than {ratio}:1: refused as a possible ZIP bomb."
            )


@dataclass
class Source:
    """An opened import file: a ZIP's safe entries, or one plain file."""

    file_name: str
    archive: zipfile.ZipFile | None
    plain: IO[bytes] | None

    def members(self) -> list[str]:
        if self.archive is None:
            return [posixpath.basename(self.file_name)]
        return [e.filename for e in self.archive.infolist() if not e.is_dir() and safe_member(e.filename)]

    def find(self, name: str) -> str | None:
        """The member called ``name`` at the archive's root (case-insensitive), if any."""
        for member in self.members():
            if member.lower() == name.lower():
                return member
        return None

    @contextmanager
    def open(self, member: str) -> Iterator[IO[bytes]]:
        if self.archive is None:
            assert self.plain is not None
            self.plain.seek(0)
            yield self.plain
            return
        if not safe_member(member):
            raise FileParseError(f"Refusing to read {member!r}: it points outside the archive.")
        with self.archive.open(member) as stream:  # never yields more than the declared size
            yield stream


@contextmanager
def open_source(fileobj: IO[bytes], file_name: str) -> Iterator[Source]:
    try:
        archive = _open_checked(fileobj, file_name)
    except InvalidImportFile as exc:
        raise FileParseError(exc.message) from exc
    if archive is None:
        yield Source(file_name=file_name, archive=None, plain=fileobj)
        return
    with archive:
        yield Source(file_name=file_name, archive=archive, plain=None)


def _raw_lines(stream: IO[bytes], name: str) -> Iterator[bytes]:
    """Lines of at most MAX_LINE_LENGTH bytes, judged while reading: a longer line fails
    before more of it than the limit is held in memory (or decoded)."""
    limit = importops_settings.MAX_LINE_LENGTH
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if len(raw) > limit and not (len(raw) == limit + 1 and raw.endswith(b"\n")):
            raise FileParseError(f"{name} line {number}: longer than {limit} bytes (MAX_LINE_LENGTH).")
        yield raw


def text_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 stream (a leading BOM is dropped); a byte that is not
    UTF-8 fails with the line it is on."""
    for number, raw in enumerate(_raw_lines(stream, name), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileParseError(
                f"{name} line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}). "
                "Save the file as UTF-8 and upload it again."
            ) from exc
