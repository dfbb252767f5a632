"""Console progress of one worker: documents and MB read and the rate, every 10 seconds.

Printed by the worker itself (stderr), so a long DirectRunner run shows it is moving.
"""

from __future__ import annotations

import sys
import time

__all__ = ["PROGRESS_EVERY_SECONDS", "Progress"]

PROGRESS_EVERY_SECONDS = 10.0


class Progress:
    """Console progress of this worker: documents and MB read, rate (logged every 10 s)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.documents = 0
        self.bytes = 0

    def update(self, documents: int, nbytes: int) -> None:
        """Count ``documents`` more documents of ``nbytes`` bytes; print a line when due."""
        self.documents += documents
        self.bytes += nbytes
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            elapsed = max(now - self.started, 1e-9)
            print(f"corpus-audit: {self.documents:,} documents, {self.bytes / 1e6:,.1f} MB read "
                  f"({self.bytes / 1e6 / elapsed:,.2f} MB/s, {self.documents / elapsed:,.0f} docs/s this worker)",
                  file=sys.stderr, flush=True)
