"""Shared helpers: write shards in every format, run the CLI in-process, read outputs."""

from __future__ import annotations

import glob
import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_audit.cli import main

# Tests never download models: the default toxicity model must report "not computed" offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CORPUS_AUDIT_SHARED", REPO_ROOT.parent / "shared" / "data"))
SHARED_SHARDS = SHARED_DATA / "corpora" / "shards"
SHARED_TRUTH = SHARED_DATA / "corpora" / "shards-truth.json"

needs_shared_corpora = pytest.mark.skipif(
    not SHARED_SHARDS.is_dir() or not SHARED_TRUTH.is_file(),
    reason=f"shared corpora not found at {SHARED_SHARDS} (../shared/data beside the repo; "
           "set CORPUS_AUDIT_SHARED to point elsewhere)",
)

# Clear, hand-checked sentences: lid.176 labels each with probability >= 0.5.
SENTENCES = {
    "en": "The weather was lovely this morning, so we walked to the market and bought fresh bread.",
    "fr": "Le temps était magnifique ce matin, alors nous sommes allés au marché acheter du pain frais.",
    "de": "Das Wetter war heute Morgen herrlich, also sind wir zum Markt gegangen und haben frisches Brot gekauft.",
    "es": "El tiempo estaba precioso esta mañana, así que fuimos al mercado a comprar pan fresco.",
    "ru": "Сегодня утром была прекрасная погода, поэтому мы пошли на рынок и купили свежий хлеб.",
    "ja": "今朝はとても良い天気だったので、私たちは市場まで歩いて新鮮なパンを買いました。",
    "ar": "كان الطقس جميلا هذا الصباح، لذلك مشينا إلى السوق واشترينا خبزا طازجا.",
}


def write_jsonl(path: Path, records: list, compress: str | None = None) -> Path:
    """Write records (dicts, or raw ``bytes`` lines written as they are) as JSON lines."""
    lines = b"".join(r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() + b"\n"
                     for r in records)
    if compress == "gz":
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(lines)
    elif compress == "zst":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(lines))
    else:
        path.write_bytes(lines)
    return path


def run_audit(*args: str) -> int:
    return main(["run", *map(str, args), "--quiet"])


def read_summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def read_documents(out: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(glob.glob(str(out / "documents" / "*.parquet"))):
        rows.extend(pq.read_table(path).to_pylist())
    return sorted(rows, key=lambda r: (r["shard"], r["position"]))


def read_skipped(out: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(glob.glob(str(out / "skipped" / "*.jsonl"))):
        rows.extend(json.loads(line) for line in Path(path).read_text().splitlines() if line)
    return sorted(rows, key=lambda r: (r["shard"], r["position"]))


def read_csv(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def assert_balanced(summary: dict) -> None:
    assert summary["documents_read"] == (summary["documents_analysed"] + sum(summary["documents_skipped"].values())
                                         + summary.get("documents_not_sampled", 0))
    assert summary["accounting_balanced"] is True


@pytest.fixture
def fasttext_model():
    from corpus_audit.transforms.langid import default_model_path, load_fasttext_model

    return load_fasttext_model(default_model_path())


def bare_language(model, text: str, threshold: float = 0.5) -> tuple[str, float]:
    """Bare fastText through its public Python API (independent of the pipeline's call)."""
    labels, probabilities = model.predict(text.replace("\n", " "), k=1)
    label = labels[0].replace("__label__", "")
    return (label if probabilities[0] >= threshold else "unknown"), float(probabilities[0])


def child_processes(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, from the parent field of /proc/<pid>/stat."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
