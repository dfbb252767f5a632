"""Stable sampling by a hash of the document id: the same documents on every run, runner and worker.

One rule for every place corpus-audit samples (``--sample-rate`` when reading, toxicity's
``--toxicity-sample-rate``), so that a document sampled by one is chosen by the other at the
same rate: a document is kept when the 64-bit BLAKE2b hash of its id is below
``rate * 2**64``.
"""

from __future__ import annotations

import hashlib

__all__ = ["SAMPLE_SPACE", "is_sampled", "sample_threshold"]

#: Size of the hash space ids are mapped into.
SAMPLE_SPACE = 1 << 64


def sample_threshold(rate: float) -> int:
    """Documents whose 64-bit id hash is below this are sampled."""
    return min(SAMPLE_SPACE, max(0, int(round(rate * SAMPLE_SPACE))))


def is_sampled(doc_id: str, threshold: int, seed: int | None = None) -> bool:
    """Deterministic choice by a hash of the id: the same on every run, runner and worker.
    ``seed`` (``--sample-seed``) keys the hash: another seed draws another, independent sample;
    None is the unkeyed hash (the one toxicity sampling uses too)."""
    if threshold >= SAMPLE_SPACE:
        return True
    key = b"" if seed is None else str(seed).encode("ascii")
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") < threshold
