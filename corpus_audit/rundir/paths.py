"""Output paths built from input names: confined to their root, whatever the name.

Every file a run names after one of its inputs (``attributes/corpus-audit/<input's relative
path>``) goes through here, so one rule decides what may be a path component:

* not empty, ``.`` or ``..``; no ``/``, ``\\`` or NUL; at most `MAX_COMPONENT_BYTES` bytes;
* the same after percent-decoding (``%2e%2e``, ``%2F``, twice-encoded ``%252e``) and after
  NFKC normalisation (``\\uff0e\\uff0e`` is ``..``, ``\\uff0f`` is ``/``), since a URL's path
  or a later tool may decode what is written here.

A relative path whose components all pass is used as given (normal inputs keep their names).
One that does not — or that another input also maps to — gets `stable_name`: a sanitised stem,
a digest of the whole input name and the input's suffixes. `output_path` also refuses to write
through a symbolic link below the root.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import urllib.parse
from collections import Counter
from typing import Iterable, Mapping, Sequence

from corpus_audit.errors import UsageError
from corpus_audit.storage import is_remote, join

__all__ = ["MAX_COMPONENT_BYTES", "MAX_RELATIVE_BYTES", "UnsafePathError", "distinct_relative_paths", "output_path",
           "refuse_unownable_output", "safe_relative", "stable_name", "unsafe_reason"]

#: The longest file name most filesystems accept (ext4, XFS, APFS: 255 bytes), less the suffix
#: of the temporary name a file is written under first (`corpus_audit.storage.AtomicFile`).
MAX_COMPONENT_BYTES = 255 - len(".0123456789ab.tmp")
#: The longest relative path kept as it is (well under PATH_MAX, 4096, with the root in front).
MAX_RELATIVE_BYTES = 1024
# Hex digits of sha256 in a `stable_name`: 64 bits, so distinct inputs never meet in practice
# (and `distinct_relative_paths` never lets two share a file anyway).
_DIGEST_HEX = 16
_STEM_CHARS = 60
_SUFFIXES = re.compile(r"(\.[A-Za-z0-9]{1,10}){1,2}$")


class UnsafePathError(UsageError):
    """A path that would leave its root (or pass through a symbolic link): one line, exit code 2."""


def _variants(part: str) -> set[str]:
    """``part`` and what a reader may take it for: percent-decoded and NFKC-normalised, again and
    again until nothing changes (``%252e``, ``\uff05\uff12\uff45`` = ``%2e``: each round only
    shortens its escapes, so it ends; the bound is a second guard)."""
    seen = {part, unicodedata.normalize("NFKC", part)}
    current = part
    for _ in range(len(part) + 2):
        decoded = urllib.parse.unquote(current, errors="surrogateescape")
        normal = unicodedata.normalize("NFKC", decoded)
        seen.update((decoded, normal))
        if normal == current:
            break
        current = normal
    return seen


def unsafe_reason(part: object) -> str | None:
    """Why ``part`` cannot be one path component (None when it can)."""
    if not isinstance(part, str):
        return "not a string"
    if len(part.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
        return f"longer than {MAX_COMPONENT_BYTES} bytes"
    for variant in _variants(part):
        if variant in ("", ".", ".."):
            return f"{variant!r} is not a name" if variant else "empty"
        for bad, what in (("/", "a slash"), ("\\", "a backslash"), ("\0", "a NUL character")):
            if bad in variant:
                return f"holds {what}" + ("" if variant == part else " once decoded")
    return None


def safe_relative(parts: Iterable[str]) -> str:
    """``parts`` joined with ``/``; `UnsafePathError` when there are none or one is unsafe."""
    parts = list(parts)
    if not parts:
        raise UnsafePathError("an output path needs at least one component")
    for part in parts:
        reason = unsafe_reason(part)
        if reason is not None:
            raise UnsafePathError(f"unsafe output path component {part!r}: {reason}")
    return "/".join(parts)


def stable_name(original: str, last: str = "") -> str:
    """A safe, stable file name for ``original`` (an input's name): a sanitised stem of ``last``
    (its last component; default: of ``original``), 16 hex digits of its sha256, and its suffixes
    (``.jsonl.gz``: the output is compressed and read like its input)."""
    last = last or original.rstrip("/").rsplit("/", 1)[-1]
    plain = unicodedata.normalize("NFKC", last)
    match = _SUFFIXES.search(plain)
    suffix = match.group(0) if match else ""
    stem = plain[: len(plain) - len(suffix)]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[-_STEM_CHARS:].lstrip(".") or "input"
    digest = hashlib.sha256(original.encode("utf-8", "surrogateescape")).hexdigest()[:_DIGEST_HEX]
    return f"{stem}-{digest}{suffix}"


def distinct_relative_paths(candidates: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each input name's relative output path: its ``candidates`` parts when they are all safe,
    at most `MAX_RELATIVE_BYTES` long and no other input claims that file (or a folder of it),
    else `stable_name` (a single component).

    Claims are compared as a case-insensitive, normalising filesystem would (NFC, casefolded):
    ``A.jsonl`` and ``a.jsonl`` would be one file on macOS. Deterministic for a given set of
    inputs; distinct inputs always get distinct paths, none of them a folder of another."""
    plain = {name: tuple(parts) for name, parts in candidates.items()
             if parts and all(unsafe_reason(part) is None for part in parts)
             and len("/".join(parts).encode("utf-8", "surrogateescape")) <= MAX_RELATIVE_BYTES}
    hashed = {name: (stable_name(name, _last(parts)),) for name, parts in candidates.items() if name not in plain}
    while True:
        assigned = [_fold(path) for path in [*plain.values(), *hashed.values()]]
        claims = Counter(assigned)
        folders = {path[:depth] for path in assigned for depth in range(1, len(path))}
        clashes = [name for name, path in plain.items() if claims[_fold(path)] > 1 or _fold(path) in folders]
        if not clashes:
            break
        for name in clashes:  # each round moves at least one name to its digest: it ends
            hashed[name] = (stable_name(name, _last(plain.pop(name))),)
    return {name: "/".join(path) for name, path in {**plain, **hashed}.items()}


def _fold(path: tuple[str, ...]) -> tuple[str, ...]:
    """``path`` as a case-insensitive, normalising filesystem compares names."""
    return tuple(unicodedata.normalize("NFC", part).casefold() for part in path)


def _last(parts: Sequence[str]) -> str:
    return str(parts[-1]) if parts else ""


def output_path(root: str, *parts: str) -> str:
    """``root`` joined with validated ``parts`` (`safe_relative`). Locally, `UnsafePathError`
    when an existing component below ``root`` is a symbolic link or the resolved folder is not
    inside ``root``: nothing is ever written through a link."""
    relative = safe_relative(parts)
    path = join(root, *relative.split("/"))
    if is_remote(root):
        return path
    current = root
    for part in relative.split("/"):
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise UnsafePathError(f"{current} is a symbolic link: corpus-audit never writes through one")
    real_root = os.path.realpath(root)
    parent = os.path.realpath(os.path.dirname(path))
    if os.path.commonpath([real_root, parent]) != real_root:
        raise UnsafePathError(f"{path} resolves outside {root}")
    return path


def refuse_unownable_output(raw: str, option: str = "--output") -> None:
    """Refuse (`UsageError`, one line) an output directory corpus-audit can never own: empty, a
    filesystem (or bucket-less URL) root, the current or home directory, or a folder holding
    either. Checked before anything is written, so a refusal creates nothing."""
    if not raw.strip():
        raise UsageError(f"{option} is empty: name the directory the run may write")
    head = raw.split("/", 1)[0]
    if head.startswith("~") and (head == "~" or os.path.expanduser(head) != head):
        # No shell expanded it: "./~" would be made in the current directory.
        raise UsageError(f"{option} {raw}: '~' is not expanded here; give the directory's full path")
    if is_remote(raw):
        if not raw.split("://", 1)[1].strip("/"):
            raise UsageError(f"{option} {raw} is the root of a filesystem: name a directory inside it")
        return
    real = os.path.realpath(raw)
    if os.path.dirname(real) == real:
        raise UsageError(f"{option} {raw} is the filesystem root: name a directory corpus-audit may own")
    for what, place in (("the current directory", "."), ("the home directory", os.path.expanduser("~"))):
        place = os.path.realpath(place)
        if real == place:
            raise UsageError(f"{option} {raw} is {what}: name a new directory for the run (e.g. {option} audit)")
        if os.path.commonpath([real, place]) == real:
            raise UsageError(f"{option} {raw} holds {what} ({place}): name a new directory for the run")
