"""Fuzzing the readers end to end (issue 14, "Proof"): random, mutated and truncated JSONL / gz /
zst / Parquet bytes never end a run with a traceback; ``summary.json`` is written and
``documents_read == documents_analysed + sum(skipped)``.

Each example is one corpus of several mutated files, audited by the real CLI in-process. The
profile here stays under a minute; ``bench/fuzz.py`` runs a longer one.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SENTENCES, main, read_summary

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet", "txt", "json.gz")
EXAMPLES = int(os.environ.get("CORPUS_AUDIT_FUZZ_EXAMPLES", "8"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8)
records = st.one_of(
    st.builds(lambda text, doc_id: {"id": doc_id, "text": text},
              st.text(max_size=200) | st.sampled_from(list(SENTENCES.values())),
              st.none() | st.text(max_size=8) | st.integers()),
    st.dictionaries(st.sampled_from(["text", "id", "source", "x"]), json_values, max_size=4),
    json_values,
)


def _jsonl(values: list) -> bytes:
    return b"".join(json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass") + b"\n" for v in values)


def _encode(fmt: str, values: list) -> bytes:
    raw = _jsonl(values)
    if fmt in ("jsonl.gz", "json.gz"):
        return gzip.compress(raw, mtime=0)
    if fmt == "jsonl.zst":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    if fmt == "parquet":
        texts = [v.get("text") if isinstance(v, dict) and isinstance(v.get("text"), str) else None for v in values]
        sink = io.BytesIO()
        pq.write_table(pa.table({"text": pa.array(texts, pa.string()), "n": list(range(len(texts)))}), sink)
        return sink.getvalue()
    if fmt == "txt":
        return raw
    return raw


@st.composite
def mutated_files(draw) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(FORMATS))
    data = bytearray(_encode(fmt, draw(st.lists(records, max_size=12))))
    mutation = draw(st.sampled_from(["none", "truncate", "flip", "insert", "random", "deep", "long"]))
    if mutation == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)):]
    elif mutation == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif mutation == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    elif mutation == "random":
        data = bytearray(draw(st.binary(max_size=512)))
    elif mutation == "deep":  # nesting past every JSON parser's recursion limit
        depth = draw(st.integers(900, 20_000))
        data = bytearray(_encode(fmt, [{"text": "a", "deep": 0}]).replace(b"0", b"[" * depth + b"]" * depth, 1)
                         if fmt in ("jsonl", "txt") else data)
    elif mutation == "long":  # a record over --max-document-bytes, with and without its newline
        data += b'{"text": "' + b"x" * draw(st.integers(4000, 9000)) + b'"}' + draw(st.sampled_from([b"", b"\n", b"\r\n"]))
    return fmt, bytes(data)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(mutated_files(), min_size=1, max_size=10))
def test_mutated_shards_never_end_the_run_and_accounting_balances(files: list[tuple[str, bytes]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        corpus = root / "corpus"
        corpus.mkdir()
        for i, (fmt, data) in enumerate(files):
            (corpus / f"f{i}.{fmt}").write_bytes(data)
        out = root / "out"
        code = main(["run", str(corpus), "--output", str(out), "--stages", "langid", "--quiet",
                     "--direct_running_mode", "in_memory", "--max-document-bytes", "4096"])
        assert code in (0, 1)
        summary = read_summary(out)
        assert summary["documents_read"] == summary["documents_analysed"] + sum(summary["documents_skipped"].values())
        assert summary["accounting_balanced"] is True
    finally:
        shutil.rmtree(root, ignore_errors=True)
