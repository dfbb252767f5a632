"""Error types shared by every subpackage: each is shown to the user as one line.

They live at the package root, below ``pipeline``, ``transforms``, ``report`` and
``lexicons``, so raising one never makes two subpackages import each other.
"""

from __future__ import annotations

__all__ = ["InputError", "ReportError", "UsageError"]


class UsageError(ValueError):
    """Unusable settings: shown to the user as one line, exit code 2."""


class InputError(ValueError):
    """No usable input (nothing matched, unsupported file, unreadable dataset): exit code 2."""


class ReportError(ValueError):
    """A run directory the reports cannot use: shown as one line, exit code 2."""

#: How a failed write reads in an error's text (a worker's error arrives as text): the CLI turns
#: these into one line (exit 3), and the Beam engine keeps their tracebacks out of the log.
WRITE_FAILURE_MESSAGES = ("No space left on device", "Disk quota exceeded", "Read-only file system",
                          "File too large")
