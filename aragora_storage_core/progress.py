"""Progress of long work on a terminal; silent when output is piped or redirected."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """Counts work done toward a total and redraws one line on a TTY.

    ``Progress("backup", total=10)``; call :meth:`advance` as work completes and
    :meth:`close` at the end. Nothing is written unless ``stream`` is a terminal.
    """

    def __init__(self, label: str, total: int | None = None,
                 stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._width = 60  # the longest line drawn: a shorter one is padded over it

    def advance(self, amount: int = 1, note: str = "") -> None:
        """Record ``amount`` more units done and redraw."""
        self.done += amount
        if not self.enabled:
            return
        if self.total:
            percent = 100 * self.done / self.total
            text = f"{self.label}: {self.done}/{self.total} ({percent:.0f}%)"
        else:
            text = f"{self.label}: {self.done}"
        line = f"{text} {note}"[:120]
        self._width = max(self._width, len(line))
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
