"""The ``jsonl`` importer: one user object per line, with the fields of ``import.addUsers``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from importops import jsonsafe
from importops.errors import FileParseError, Invalid
from importops.importers.parsed import Parsed
from importops.importers.sources import Source, text_lines
from importops.validation import validate_user


def _member(source: Source) -> str:
    found = [m for m in source.members() if m.lower().endswith((".jsonl", ".ndjson", ".json"))]
    if source.archive is None:
        return source.members()[0]
    if not found:
        raise FileParseError(f"{source.file_name}: no .jsonl file found in the archive.")
    return found[0]


def users(source: Source) -> Iterator[dict[str, Any]]:
    member = _member(source)
    with source.open(member) as stream:
        for line, text in text_lines(stream, member):
            if not text.strip():
                continue
            try:
                value = jsonsafe.loads(text)
            except jsonsafe.UnsafeJSON as exc:
                raise FileParseError(f"{member} line {line}: not valid JSON ({exc}).") from exc
            try:
                yield validate_user(value)
            except Invalid as exc:
                raise FileParseError(f"{member} line {line}: {'; '.join(exc.problems)}") from exc


def parse(source: Source) -> Parsed:
    return Parsed(users=users(source))
