"""The ``csv`` importer: Rocket.Chat's CSV format.

A ZIP with ``users.csv`` at its root — no header row; columns ``username,email,name`` — or a
bare ``users.csv``. ``channels.csv`` (``name,creator,private,members``) and any
``<channel>/messages.csv`` in the ZIP are counted and reported, not imported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from importops.errors import FileParseError
from importops.importers.parsed import Parsed
from importops.importers.sources import Source, text_lines

USER_COLUMNS = 3


def rows(source: Source, member: str, expected: int | None = None, layout: str = "") -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV member, blank lines skipped; wrong column counts fail by line
    (``layout`` names the expected columns in that message)."""
    with source.open(member) as stream:
        lines = (text for _, text in text_lines(stream, member))
        reader = csv.reader(lines)
        try:
            for cells in reader:
                if not cells or all(not cell.strip() for cell in cells):
                    continue
                if expected is not None and len(cells) != expected:
                    plural = "s" if len(cells) != 1 else ""
                    raise FileParseError(
                        f"{member} line {reader.line_num}: {len(cells)} column{plural}, expected {expected}{layout}"
                    )
                yield reader.line_num, cells
        except csv.Error as exc:
            raise FileParseError(f"{member} line {reader.line_num}: {exc}") from exc


def users(source: Source) -> Iterator[dict[str, Any]]:
    member = source.find("users.csv")
    if member is None:
        found = ", ".join(source.members()[:10]) or "nothing"
        raise FileParseError(f"{source.file_name}: no users.csv at the root of the archive (found: {found}).")
    for _, (username, email, name) in rows(source, member, USER_COLUMNS, " (username,email,name)"):
        username, email, name = username.strip(), email.strip(), name.strip()
        user: dict[str, Any] = {"emails": [email] if email else [], "importIds": [username or email]}
        if username:
            user["username"] = username
        if name:
            user["name"] = name
        yield user


def channels(source: Source) -> list[dict[str, Any]]:
    member = source.find("channels.csv")
    if member is None:
        return []
    return [
        {"name": cells[0].strip(), "private": len(cells) > 2 and cells[2].strip().lower() == "true"}
        for _, cells in rows(source, member)
        if cells[0].strip()
    ]


def messages(source: Source) -> int:
    return sum(
        sum(1 for _ in rows(source, member))
        for member in source.members()
        if member.lower().endswith("/messages.csv") or member.lower().endswith("messages.csv") and "/" in member
    )


def parse(source: Source) -> Parsed:
    return Parsed(users=users(source), channels=lambda: channels(source), messages=lambda: messages(source))
