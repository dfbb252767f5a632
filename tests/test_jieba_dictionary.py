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


def _load(path) -> tuple[dict, dict]:
    with open(path, "rb") as handle:
        header, body = handle.read().split(b"\n", 1)
    return json.loads(header), json.loads(body)


def _segment() -> tuple[list[str], jieba.Tokenizer]:
    tokenizer = jieba.Tokenizer()
    jieba_dictionary.initialise(tokenizer)
    return tokenizer.lcut(TEXT), tokenizer


def test_cached_dictionary_segments_as_jieba_does(cache, reference):
    built, first = _segment()  # no cache yet: built by jieba, then written
    path = jieba_dictionary.cache_path(first)
    assert os.path.isfile(path) and path.startswith(str(cache))
    header, data = _load(path)  # plain JSON, nothing executable
    assert data["total"] == first.total and len(data["frequencies"]) > 300_000
    assert header["entries"] == len(data["frequencies"])
    loaded, second = _segment()  # from the cache
    assert built == loaded == reference
    assert second.total == first.total and second.FREQ == first.FREQ


@pytest.fixture(scope="module")
def valid_cache(tmp_path_factory) -> bytes:
    """The bytes of a valid cache file (one jieba build for the module)."""
    root = tmp_path_factory.mktemp("valid-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORPUS_AUDIT_CACHE", str(root))
        tokenizer = jieba.Tokenizer()
        jieba_dictionary.initialise(tokenizer)
        with open(jieba_dictionary.cache_path(tokenizer), "rb") as handle:
            return handle.read()


def _tampered(valid: bytes, kind: str) -> bytes:
    """``valid`` changed in one way; 'reheaded' kinds carry a recomputed, matching digest."""
    header_bytes, body = valid.split(b"\n", 1)
    header, data = json.loads(header_bytes), json.loads(body)
    keys = list(data["frequencies"])
    if kind == "not-json":
        return b"\x00not json"
    if kind == "old-format":  # the format-1 file: the body alone
        return body
    if kind == "truncated":
        return valid[: len(valid) // 2]
    if kind == "edited-body":  # digest left as it was
        return header_bytes + b"\n" + body.replace(b'"total":', b'"total":1', 1)
    if kind == "empty":
        data = {"total": 1, "frequencies": {}}
    elif kind == "scaled-total":
        data["total"] *= 1000  # passes "total >= sum", caught by the digest; reheaded below too
    elif kind == "low-total":
        data["total"] = 1
    elif kind in ("late-str", "late-negative", "late-float", "late-bool", "late-null"):
        value = {"late-str": "x", "late-negative": -5, "late-float": 0.5, "late-bool": True,
                 "late-null": None}[kind]
        data["frequencies"][keys[-1]] = value  # beyond any spot-check
    data_bytes = json.dumps(data, ensure_ascii=False).encode()
    header["payload_sha256"] = __import__("hashlib").sha256(data_bytes).hexdigest()
    if kind == "scaled-total":
        header["payload_sha256"] = "0" * 64
    return json.dumps(header).encode() + b"\n" + data_bytes


def _count_builds(monkeypatch, valid: bytes) -> list[int]:
    """Make jieba's build cheap (the dictionary of ``valid``, as jieba builds it) and count calls."""
    data = json.loads(valid.split(b"\n", 1)[1])
    built: list[int] = []

    def gen_pfdict(self, dictionary_file):
        dictionary_file.close()
        built.append(1)
        return dict(data["frequencies"]), data["total"]

    monkeypatch.setattr(jieba.Tokenizer, "gen_pfdict", gen_pfdict)
    return built


@pytest.mark.parametrize("kind", ["not-json", "old-format", "truncated", "edited-body", "empty",
                                  "scaled-total", "low-total", "late-str", "late-negative",
                                  "late-float", "late-bool", "late-null"])
def test_damaged_cache_is_rebuilt(cache, reference, valid_cache, kind, monkeypatch):
    tokenizer = jieba.Tokenizer()
    path = jieba_dictionary.cache_path(tokenizer)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(_tampered(valid_cache, kind))
    built = _count_builds(monkeypatch, valid_cache)
    segmented, loaded = _segment()
    assert built == [1] and segmented == reference
    with open(path, "rb") as handle:
        assert handle.read() == valid_cache  # repaired: replaced by a valid cache
    assert loaded.total == json.loads(valid_cache.split(b"\n", 1)[1])["total"]


def test_valid_cache_is_not_rebuilt(cache, reference, valid_cache, monkeypatch):
    tokenizer = jieba.Tokenizer()
    path = jieba_dictionary.cache_path(tokenizer)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(valid_cache)
    monkeypatch.setattr(jieba.Tokenizer, "gen_pfdict", lambda self, f: pytest.fail("rebuilt"))
    segmented, _ = _segment()
    assert segmented == reference


@pytest.mark.parametrize("kind", ["fifo", "devzero", "dangling", "directory", "oversized"])
def test_cache_path_that_is_not_a_small_regular_file_is_rebuilt(cache, reference, valid_cache,
                                                                 kind, monkeypatch):
    tokenizer = jieba.Tokenizer()
    path = jieba_dictionary.cache_path(tokenizer)
    os.makedirs(os.path.dirname(path))
    target = cache / "target.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "devzero":
        os.symlink("/dev/zero", path)
    elif kind == "dangling":
        os.symlink(cache / "missing", path)
    elif kind == "directory":
        os.mkdir(path)
    else:
        monkeypatch.setattr(jieba_dictionary, "MAX_CACHE_BYTES", len(valid_cache) - 1)
        with open(path, "wb") as handle:
            handle.write(valid_cache)
    built = _count_builds(monkeypatch, valid_cache)
    segmented, _ = _segment()  # no hang, no endless read
    assert built == [1]
    assert segmented == reference
    if kind == "directory":
        assert os.path.isdir(path)  # cannot be replaced: only costs the rebuild
    else:
        assert os.path.isfile(path) and not os.path.islink(path)
        assert not target.exists()  # never written through a symlink
        with open(path, "rb") as handle:
            assert handle.read() == valid_cache


def test_symlink_to_a_valid_cache_is_replaced_not_followed(cache, valid_cache):
    tokenizer = jieba.Tokenizer()
    path = jieba_dictionary.cache_path(tokenizer)
    os.makedirs(os.path.dirname(path))
    target = cache / "elsewhere.json"
    target.write_bytes(valid_cache)
    os.symlink(target, path)
    _segment()
    assert not os.path.islink(path) and target.read_bytes() == valid_cache


def test_unwritable_cache_still_segments(tmp_path, monkeypatch, reference):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CORPUS_AUDIT_CACHE", str(blocker / "cache"))  # cannot be created
    segmented, tokenizer = _segment()
    assert segmented == reference
    assert not os.path.exists(jieba_dictionary.cache_path(tokenizer))
