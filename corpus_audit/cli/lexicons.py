"""``corpus-audit lexicons list|download``: the official word lists and the user cache.

The project ships default word lists; the official HolisticBias and Gender-GAP lists are
downloaded once into a user cache and used when present.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Callable

from corpus_audit.lexicons.cache import SOURCES, LexiconError, cache_root, cached_lexicon_dir, download_lexicon

__all__ = ["ERRORS", "add_parser", "command"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (LexiconError,)


def add_parser(commands: Any) -> None:
    """Add ``lexicons`` (with ``list`` and ``download``) to the subcommands."""
    lexicons = commands.add_parser(
        "lexicons", help="list or download the official lexicons", allow_abbrev=False,
        description="The project ships default word lists; the official HolisticBias and Gender-GAP "
                    "lists are downloaded once into a user cache and used when present.")
    lexicon_commands = lexicons.add_subparsers(dest="lexicon_command", required=True)
    lexicon_commands.add_parser("list", help="the official lexicons and whether they are cached")
    download = lexicon_commands.add_parser("download", help="fetch an official lexicon into the cache")
    download.add_argument("name", choices=sorted(SOURCES), help="which lexicon")
    download.add_argument("--url", metavar="BASE_URL",
                          help="fetch the files from this base URL (a mirror, or file:///dir) instead")
    download.add_argument("--cache-dir", metavar="DIR",
                          help="cache root (default: $CORPUS_AUDIT_CACHE, $XDG_CACHE_HOME/corpus-audit "
                               "or ~/.cache/corpus-audit)")


def command(args: argparse.Namespace) -> int:
    """Run ``lexicons list`` or ``lexicons download NAME``."""
    root = os.path.abspath(args.cache_dir) if getattr(args, "cache_dir", None) else cache_root()
    if args.lexicon_command == "list":
        for name, source in SOURCES.items():
            cached = cached_lexicon_dir(name, root)
            state = f"cached in {cached}" if cached else "not downloaded (the shipped default list is used)"
            print(f"{name} {source.version}: {source.description}; {state}")
        return 0
    source = SOURCES[args.name]
    print(f"corpus-audit: downloading {args.name} {source.version} ({len(source.files)} file(s)) "
          f"from {args.url or source.base_url}", file=sys.stderr)
    directory = download_lexicon(args.name, base_url=args.url, root=root,
                                 validate=_download_validator(args.name))
    print(f"corpus-audit: {args.name} {source.version} saved in {directory}", file=sys.stderr)
    return 0


def _download_validator(name: str) -> Callable[..., Any] | None:
    """``validate(url, data)`` of the lexicon's loader module (``lexicons/<name>.py``), if any."""
    try:
        module = importlib.import_module(f"corpus_audit.lexicons.{name.replace('-', '_')}")
    except ModuleNotFoundError:
        return None
    return getattr(module, "validate_download", None)
