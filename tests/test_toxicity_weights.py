"""Pickle (.bin) toxicity weights: loaded only through torch's restricted unpickler
(``weights_only=True``); a crafted file whose pickle would run code is refused and nothing in it
runs, whichever pickle format (zip or legacy) and whichever entry (file or shard index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_audit, write_jsonl
from corpus_audit.transforms.toxicity_model import (
    ModelSettings,
    ModelUnavailable,
    check_pickle_weights,
    load_classifier,
)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


class _Payload:
    """Unpickling this writes ``marker``: what an attacker's ``__reduce__`` would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def _model_dir(directory: Path) -> Path:
    """A tiny BERT's config and tokenizer, without weights (the tests add their own .bin)."""
    from transformers import BertConfig, BertTokenizerFast

    directory.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "kind"]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(str(directory / "vocab.txt"), model_max_length=16).save_pretrained(directory)
    BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8, max_position_embeddings=16, num_labels=2).save_pretrained(directory)
    return directory


def _real_state_dict(directory: Path) -> dict:
    from transformers import AutoConfig, BertForSequenceClassification

    return BertForSequenceClassification(AutoConfig.from_pretrained(directory)).state_dict()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_crafted_bin_is_refused_and_nothing_runs(tmp_path: Path, legacy: bool) -> None:
    model_dir = _model_dir(tmp_path / "evil")
    marker = tmp_path / "pwned"
    weights = {**_real_state_dict(model_dir), "extra": _Payload(marker)}
    # legacy: torch's pre-1.6 format (a plain pickle stream, no zip), which weights_only also reads.
    torch.save(weights, model_dir / "pytorch_model.bin", _use_new_zipfile_serialization=not legacy)

    with pytest.raises(ModelUnavailable, match="restricted unpickler"):
        load_classifier(ModelSettings(model=str(model_dir)))
    assert not marker.exists()
    # Through the CLI: refused before anything is written, still nothing executed.
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "you are kind"}])
    assert run_audit(shard, "--output", tmp_path / "out", "--toxicity-model", model_dir, "--require-toxicity") == 2
    assert not marker.exists() and not (tmp_path / "out" / "summary.json").exists()
    # The payload is live: the unrestricted unpickler would have run it.
    torch.load(model_dir / "pytorch_model.bin", weights_only=False)
    assert marker.read_text() == "code ran"


def test_shard_index_is_checked_shard_by_shard(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path / "sharded")
    marker = tmp_path / "pwned"
    state = _real_state_dict(model_dir)
    names = sorted(state)
    torch.save({name: state[name] for name in names[:3]}, model_dir / "pytorch_model-00001-of-00002.bin")
    torch.save({**{name: state[name] for name in names[3:]}, "x": _Payload(marker)},
               model_dir / "pytorch_model-00002-of-00002.bin")
    weight_map = {name: f"pytorch_model-0000{1 if i < 3 else 2}-of-00002.bin" for i, name in enumerate(names)}
    index = model_dir / "pytorch_model.bin.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    with pytest.raises(ModelUnavailable, match="00002-of-00002"):
        check_pickle_weights(str(index))
    assert not marker.exists()
    # An index may not point outside its directory.
    index.write_text(json.dumps({"weight_map": {"w": "../elsewhere.bin"}}))
    with pytest.raises(ModelUnavailable, match="unexpected weights file"):
        check_pickle_weights(str(index))


def test_plain_tensors_pass_the_check(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path / "plain")
    torch.save(_real_state_dict(model_dir), model_dir / "pytorch_model.bin")
    check_pickle_weights(str(model_dir / "pytorch_model.bin"))
    loaded = load_classifier(ModelSettings(model=str(model_dir)))
    assert loaded.info["weights_format"] == "pickle (weights_only)"
