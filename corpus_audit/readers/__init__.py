"""Shard readers: find input files, split them into units of work, read them as batches.

Formats (SPEC §1): JSON lines (``.jsonl``, ``.ndjson``, ``.json``, optionally ``.gz`` /
``.zst`` / ``.bz2`` / ``.xz``, the compression detected from the file's first bytes),
Parquet, plain text (one document per file) and Hugging Face datasets saved with
``save_to_disk``. Files are opened through Beam's ``FileSystems`` so ``gs://`` paths work
the same as local ones. Only regular files are read; each local file is read once however
many names reach it (`discover_inputs`).

Every record read is either appended to a `DocumentBatch` or turned into a `SkipRecord`,
and counted in a `ReadAccounting`, so ``read == analysed + skipped`` holds by construction.

Layout: `base` (settings, `BatchBuilder`, format registry, `read_split`), `compression`,
`discovery`, `splits`, `arrow` (shared by Parquet and HF datasets) and one module per
format. A new format is a new module that calls `register_format`, imported below.
"""

from __future__ import annotations

# Importing a format module registers it; SUPPORTED_SUFFIXES is read after all of them.
from corpus_audit.readers import hf_dataset, jsonl, parquet, text  # noqa: F401
from corpus_audit.readers.base import (
    BatchBuilder,
    FormatSpec,
    ReadConfig,
    read_split,
    register_format,
    supported_suffixes,
)
from corpus_audit.readers.compression import open_decompressed
from corpus_audit.readers.discovery import (
    DuplicateInput,
    InputDiscovery,
    InputFile,
    SpecialFile,
    check_text_field,
    detect_format,
    discover_inputs,
    expand_inputs,
)
from corpus_audit.readers.hf_dataset import FORMAT_HF
from corpus_audit.readers.jsonl import FORMAT_JSONL
from corpus_audit.readers.parquet import FORMAT_PARQUET
from corpus_audit.readers.splits import plan_splits
from corpus_audit.readers.text import FORMAT_TEXT

__all__ = [
    "FORMAT_HF",
    "FORMAT_JSONL",
    "FORMAT_PARQUET",
    "FORMAT_TEXT",
    "SUPPORTED_SUFFIXES",
    "BatchBuilder",
    "DuplicateInput",
    "FormatSpec",
    "InputDiscovery",
    "InputFile",
    "ReadConfig",
    "SpecialFile",
    "check_text_field",
    "detect_format",
    "discover_inputs",
    "expand_inputs",
    "open_decompressed",
    "plan_splits",
    "read_split",
    "register_format",
]

#: Suffixes of the formats registered on import (``supported_suffixes()`` also sees later ones).
SUPPORTED_SUFFIXES: tuple[str, ...] = supported_suffixes()
