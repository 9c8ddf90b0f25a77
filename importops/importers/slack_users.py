"""The ``slack-users`` importer: Slack's member-list CSV export (a header row).

Slack writes ``username,email,status,billing-active,has-2fa,has-sso,userid,fullname,
displayname,expiration-timestamp``; headers are matched case-insensitively, and only
``email`` or ``username`` is required. ``status`` "Deactivated" imports an inactive user,
"Bot" a bot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from importops.errors import FileParseError
from importops.importers.parsed import Parsed
from importops.importers.rocketchat_csv import rows
from importops.importers.sources import Source

ALIASES = {
    "username": ("username", "user name"),
    "email": ("email", "email address"),
    "status": ("status", "account type"),
    "userid": ("userid", "user id", "id"),
    "fullname": ("fullname", "full name", "name"),
    "displayname": ("displayname", "display name"),
}


def _member(source: Source) -> str:
    csvs = [m for m in source.members() if m.lower().endswith(".csv")]
    if not csvs:
        raise FileParseError(f"{source.file_name}: no CSV file found.")
    return csvs[0]


def users(source: Source) -> Iterator[dict[str, Any]]:
    member = _member(source)
    lines = rows(source, member)
    try:
        _, header = next(lines)
    except StopIteration:
        raise FileParseError(f"{member}: the file has no header row.") from None
    names = [cell.strip().lower() for cell in header]
    columns = {key: next((names.index(a) for a in aliases if a in names), None) for key, aliases in ALIASES.items()}
    if columns["email"] is None and columns["username"] is None:
        raise FileParseError(
            f"{member} line 1: a Slack member list needs an 'email' or 'username' column (found: {', '.join(names)})."
        )
    for line, cells in lines:
        if len(cells) != len(names):
            raise FileParseError(f"{member} line {line}: {len(cells)} columns, expected {len(names)}")

        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns[key]
            return cells[index].strip() if index is not None else ""

        email, username, status = cell("email"), cell("username"), cell("status").lower()
        user: dict[str, Any] = {
            "emails": [email] if email else [],
            "importIds": [cell("userid") or email or username],
        }
        if username:
            user["username"] = username
        name = cell("fullname") or cell("displayname")
        if name:
            user["name"] = name
        if status == "deactivated":
            user["deleted"] = True
        if status == "bot":
            user["type"] = "bot"
        yield user


def parse(source: Source) -> Parsed:
    return Parsed(users=users(source))
