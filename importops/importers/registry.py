"""The importers an operation can name by ``importerKey``.

A host project registers its own with ``registry.register(Importer(...))`` in its
``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from importops.importers import jsonl, rocketchat_csv, slack_users


@dataclass(frozen=True)
class Importer:
    key: str
    name: str
    listed: bool = True
    #: For file importers: ``parse(source) -> Parsed`` (users streamed, channels listed,
    #: messages counted; see importops.importers.parsed). None for the API importer.
    parser: Callable[..., Any] | None = None
    #: File name extensions the importer accepts, for the admin's upload form.
    extensions: tuple[str, ...] = ()


API = Importer(key="api", name="api", listed=False)

_importers: dict[str, Importer] = {}


def register(importer: Importer) -> None:
    _importers[importer.key] = importer


def get(key: str) -> Importer | None:
    return _importers.get(key)


def listed() -> Iterator[Importer]:
    return (importer for importer in _importers.values() if importer.listed)


def _register_builtins() -> None:

    register(API)
    register(Importer(key="csv", name="CSV", parser=rocketchat_csv.parse, extensions=(".zip", ".csv")))
    register(Importer(key="slack-users", name="Slack_Users", parser=slack_users.parse, extensions=(".csv",)))
    register(Importer(key="jsonl", name="JSONL", parser=jsonl.parse, extensions=(".jsonl", ".ndjson", ".zip")))


_register_builtins()
