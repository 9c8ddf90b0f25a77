"""A progress bar for management commands: redrawn in place on a terminal, plain lines
(at most one every few seconds) when the output is a file or a pipe."""

from __future__ import annotations

import time
from typing import TextIO

from django.core.management.base import OutputWrapper

WIDTH = 30
PLAIN_INTERVAL = 5.0


class ProgressBar:
    def __init__(self, stream: OutputWrapper | TextIO, *, label: str, tty: bool | None = None) -> None:
        # A command's stdout (an OutputWrapper) ends every write with a newline unless told
        # otherwise, which would turn each redraw into a new line: write through one, unended.
        self.stream = stream if isinstance(stream, OutputWrapper) else OutputWrapper(stream)
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.last_plain = 0.0
        self.drawn = False

    def update(self, done: int, total: int | None, *, note: str = "") -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        if total:
            fraction = min(1.0, done / total)
            filled = int(WIDTH * fraction)
            eta = f" ETA {int((total - done) / rate)}s" if rate > 0 and done < total else ""
            bar = "#" * filled + "." * (WIDTH - filled)
            text = f"{self.label} [{bar}] {fraction:4.0%} {done:,}/{total:,} {rate:,.0f}/s{eta}"
        else:
            text = f"{self.label} {done:,} {rate:,.0f}/s"
        if note:
            text += f" {note}"
        if self.tty:
            self.stream.write("\r\033[K" + text, ending="")
            self.stream.flush()
            self.drawn = True
        elif time.monotonic() - self.last_plain >= PLAIN_INTERVAL or (total and done >= total):
            self.stream.write(text + "\n", ending="")
            self.stream.flush()
            self.last_plain = time.monotonic()

    def finish(self, message: str = "") -> None:
        if self.tty and self.drawn:
            self.stream.write("\n", ending="")
        if message:
            self.stream.write(message + "\n", ending="")
        self.stream.flush()
