"""What a file importer hands to staging."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from importops.importers.sources import Source


@dataclass
class Parsed:
    """Users are streamed (staged in bulk as they come); channels are few; messages are
    only counted — importops imports users, and reports the rest."""

    users: Iterator[dict[str, Any]]
    channels: Callable[[], list[dict[str, Any]]] = field(default=lambda: [])
    messages: Callable[[], int] = field(default=lambda: 0)


Parser = Callable[[Source], Parsed]
