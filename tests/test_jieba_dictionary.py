"""jieba's prefix dictionary from corpus-audit's JSON cache: the same segmentation as jieba's own
initialisation, a damaged cache rebuilt, an unwritable cache only costing the rebuild."""

from __future__ import annotations

import json
import os

import pytest

jieba = pytest.importorskip("jieba")

from corpus_audit.lexicons import jieba_dictionary  # noqa: E402

TEXT = ("我的妈妈是一名女演员，她和爸爸住在北京。小明硕士毕业于中国科学院计算所，后在日本京都大学深造。"
        "他的姐姐是护士，哥哥是警察叔叔。")


@pytest.fixture(scope="module")
def reference() -> list[str]:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()  # jieba's own way (its marshal cache or dict.txt)
    return tokenizer.lcut(TEXT)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_AUDIT_CACHE", str(tmp_path))
    return tmp_path


def _segment() -> tuple[list[str], jieba.Tokenizer]:
    tokenizer = jieba.Tokenizer()
    jieba_dictionary.initialise(tokenizer)
    return tokenizer.lcut(TEXT), tokenizer


def test_cached_dictionary_segments_as_jieba_does(cache, reference):
    built, first = _segment()  # no cache yet: built by jieba, then written
    path = jieba_dictionary.cache_path(first)
    assert os.path.isfile(path) and path.startswith(str(cache))
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)  # plain JSON, nothing executable
    assert data["total"] == first.total and len(data["frequencies"]) > 300_000
    loaded, second = _segment()  # from the cache
    assert built == loaded == reference
    assert second.total == first.total and second.FREQ == first.FREQ


@pytest.mark.parametrize("content", [b"\x00not json", b'{"total": 5, "frequencies": {"a": "x"}}'])
def test_damaged_cache_is_rebuilt(cache, reference, content):
    tokenizer = jieba.Tokenizer()
    path = jieba_dictionary.cache_path(tokenizer)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(content)
    segmented, _ = _segment()
    assert segmented == reference
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle)["total"] > 0  # replaced by a valid cache


def test_unwritable_cache_still_segments(tmp_path, monkeypatch, reference):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CORPUS_AUDIT_CACHE", str(blocker / "cache"))  # cannot be created
    segmented, tokenizer = _segment()
    assert segmented == reference
    assert not os.path.exists(jieba_dictionary.cache_path(tokenizer))
