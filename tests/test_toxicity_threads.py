"""CPU threads of the toxicity stage: each of ``--workers N`` local worker processes gives torch
usable cores // N intra-op threads (in the handler's ``load_model``), as ``summary.json`` says."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from corpus_audit.transforms.base import RunResources
from corpus_audit.transforms.toxicity import Toxicity, cpu_threads_per_worker

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def _args(**overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    Toxicity.add_arguments(parser)
    args = parser.parse_args([])
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def test_cores_are_divided_among_local_workers(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert [cpu_threads_per_worker("DirectRunner", n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    assert cpu_threads_per_worker("DataflowRunner", 4) is None  # each worker machine decides
    analysis = Toxicity.from_args(_args())
    # The engine hands each stage its share of the cores (an analysis never reads the runner).
    analysis.use_resources(RunResources(workers=2, cpu_threads_per_worker=cpu_threads_per_worker("DirectRunner", 2)))
    assert analysis.model_settings.threads == 4
    settings = analysis.settings()
    assert settings["workers"] == 2 and settings["cpu_threads_per_worker"] == 4


def test_load_model_sets_the_worker_threads(tmp_path: Path) -> None:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from corpus_audit.transforms.toxicity_inference import ToxicityModelHandler
    from corpus_audit.transforms.toxicity_model import ModelSettings

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(str(tmp_path / "vocab.txt"), model_max_length=8).save_pretrained(tmp_path)
    BertForSequenceClassification(BertConfig(vocab_size=6, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                                             intermediate_size=8, max_position_embeddings=8)).save_pretrained(tmp_path)
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            handler = ToxicityModelHandler(ModelSettings(model=str(tmp_path), device="cpu", threads=threads))
            model = handler.load_model()
            assert torch.get_num_threads() == threads
            assert len(model.score_lines(["hi", "hi hi"])[0]) == 2
    finally:
        torch.set_num_threads(before)
