"""Official lexicons fetched into a user cache: ``corpus-audit lexicons download NAME``.

The project ships its own default word lists (in this package). The official lists
(HolisticBias descriptors, Gender-GAP nouns) are published by their authors; their licences
keep them out of this repository, so the user downloads them once into a cache, and the
analyses use the cache when it is present (``summary.json`` names the list used).

Cache layout: ``<cache>/<name>/<version>/<files>`` plus ``manifest.json`` (source URL,
sha256 and size of each file, download time). The cache root is ``$CORPUS_AUDIT_CACHE``,
else ``$XDG_CACHE_HOME/corpus-audit``, else ``~/.cache/corpus-audit``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import signal
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from corpus_audit.storage import replace_directory, write_bytes

#: A lexicon file larger than this is refused (the official files are a few hundred KB).
MAX_LEXICON_FILE_BYTES = 32 * 1024 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 60
#: A whole ``lexicons download`` ends after this long, however the server drips its bytes
#: (``DOWNLOAD_TIMEOUT_SECONDS`` bounds one read only). ``CORPUS_AUDIT_DOWNLOAD_DEADLINE`` overrides it.
DOWNLOAD_DEADLINE_SECONDS = 600
_STAGING_PREFIX = ".staging-"

_RESPONSIBLE_NLP = "https://raw.githubusercontent.com/facebookresearch/ResponsibleNLP/main"

#: ISO 639-3 codes of the 55 Gender-GAP v1.0 lexicons (``<code>_nouns.json``).
GENDER_GAP_V1_LANGUAGES = (
    "arb asm bel ben bul cat ces ckb cmn cym dan deu ell eng est fin fra gle hin hun ind ita jpn kan "
    "kat khk kir kor lit lug lvs mar mlt nld pan pes pol por ron rus slk slv spa swe swh tam tel tgl "
    "tha tur urd uzn vie yue zul").split()


class LexiconError(ValueError):
    """A lexicon that cannot be used: the message names the file and the problem."""


@dataclass(frozen=True)
class LexiconSource:
    """Where an official lexicon is published: ``base_url`` + each of ``files``."""

    name: str
    version: str
    base_url: str
    files: tuple[str, ...]
    description: str
    licence: str


SOURCES: dict[str, LexiconSource] = {
    "holistic-bias": LexiconSource(
        name="holistic-bias", version="v1.1",
        base_url=f"{_RESPONSIBLE_NLP}/holistic_bias/dataset/v1.1",
        files=("descriptors.json",),
        description="HolisticBias descriptors (Smith et al. 2022), official v1.1 descriptors.json",
        licence="CC BY-SA 4.0 (see facebookresearch/ResponsibleNLP)"),
    "gender-gap": LexiconSource(
        name="gender-gap", version="v1.0",
        base_url=f"{_RESPONSIBLE_NLP}/gender_gap_pipeline/gender_lexicon/v1.0",
        files=tuple(f"{code}_nouns.json" for code in GENDER_GAP_V1_LANGUAGES),
        description="Gender-GAP person-noun lexicons (Muller et al. 2023), official v1.0, 55 languages",
        licence="CC BY-SA 4.0 (see facebookresearch/ResponsibleNLP)"),
}


def cache_root() -> str:
    """The user cache directory for official lexicons (not created here)."""
    explicit = os.environ.get("CORPUS_AUDIT_CACHE")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "corpus-audit")


def cached_lexicon_dir(name: str, root: str | None = None) -> str | None:
    """The cached directory of lexicon ``name`` when a complete download is there, else None."""
    source = SOURCES[name]
    directory = os.path.join(root or cache_root(), source.name, source.version)
    manifest = os.path.join(directory, "manifest.json")
    if not os.path.isfile(manifest):
        return None  # no download, or one that did not finish (the manifest is written last)
    return directory


def download_deadline_seconds() -> float:
    """The overall deadline of one download, from ``CORPUS_AUDIT_DOWNLOAD_DEADLINE`` if set."""
    value = os.environ.get("CORPUS_AUDIT_DOWNLOAD_DEADLINE")
    if not value:
        return DOWNLOAD_DEADLINE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise LexiconError(f"CORPUS_AUDIT_DOWNLOAD_DEADLINE must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise LexiconError(f"CORPUS_AUDIT_DOWNLOAD_DEADLINE must be > 0, got {value!r}")
    return seconds


def _read_until(response, deadline: float, url: str) -> bytes:
    """The response body, bounded in bytes and by the overall ``deadline`` (a monotonic time)."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_LEXICON_FILE_BYTES:
        if time.monotonic() > deadline:
            raise LexiconError(f"{url}: download deadline passed ({size:,} bytes received); "
                               "the server is too slow, try a mirror with --url")
        chunk = response.read1(1 << 16) if hasattr(response, "read1") else response.read(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _fetch(url: str, timeout: float, deadline: float | None = None) -> bytes:
    # Imported here: only a download needs them (every run and command imports this module).
    import http.client
    import urllib.error
    import urllib.request

    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("https", "http", "file"):
        raise LexiconError(f"{url}: only https, http and file URLs are fetched")
    deadline = time.monotonic() + download_deadline_seconds() if deadline is None else deadline
    request = urllib.request.Request(url, headers={"User-Agent": "corpus-audit"})
    try:
        remaining = max(0.1, deadline - time.monotonic())
        with urllib.request.urlopen(request, timeout=min(timeout, remaining)) as response:  # noqa: S310
            expected = response.headers.get("Content-Length")
            data = _read_until(response, deadline, url)
    except urllib.error.HTTPError as exc:
        raise LexiconError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        raise LexiconError(f"{url}: cannot download ({reason})") from exc
    if expected is not None and expected.isdigit() and int(expected) != len(data) \
            and len(data) <= MAX_LEXICON_FILE_BYTES:
        raise LexiconError(f"{url}: incomplete download ({len(data):,} of {int(expected):,} bytes)")
    if len(data) > MAX_LEXICON_FILE_BYTES:
        raise LexiconError(f"{url}: larger than {MAX_LEXICON_FILE_BYTES:,} bytes; refusing it")
    return data


def download_lexicon(name: str, *, base_url: str | None = None, root: str | None = None,
                     validate: Callable[[str, bytes], None] | None = None,
                     timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> str:
    """Fetch every file of lexicon ``name`` into the cache; return the directory.

    Files go to a temporary directory first, are checked (JSON, size, and ``validate`` when
    given), and the directory is moved into place only when every file arrived, so a failed
    or interrupted download never leaves a half lexicon that later runs would use.
    """
    if name not in SOURCES:
        raise LexiconError(f"unknown lexicon {name!r}; available: {', '.join(SOURCES)}")
    source = SOURCES[name]
    base = (base_url or source.base_url).rstrip("/")
    parent = os.path.join(root or cache_root(), source.name)
    deadline = time.monotonic() + download_deadline_seconds()
    try:
        os.makedirs(parent, exist_ok=True)
        _remove_stale_staging(parent)
        staging = tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}-", dir=parent)
    except OSError as exc:
        raise LexiconError(f"{parent}: cannot create the lexicon cache ({exc.strerror or exc})") from exc
    target = os.path.join(parent, source.version)
    os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache is readable like any other
    files = []
    previous_sigterm = _raise_on_sigterm()
    try:
        for filename in source.files:
            url = f"{base}/{filename}"
            data = _fetch(url, timeout, deadline)
            try:
                json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise LexiconError(f"{url}: not a UTF-8 JSON file ({type(exc).__name__}: {exc})"[:300]) from None
            if validate is not None:
                validate(url, data)
            write_bytes(os.path.join(staging, filename), data)
            files.append({"file": filename, "url": url, "bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
        manifest = {"name": source.name, "version": source.version, "description": source.description,
                    "licence": source.licence, "base_url": base, "files": files,
                    "downloaded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        write_bytes(os.path.join(staging, "manifest.json"), json.dumps(manifest, indent=2).encode("utf-8"))
        replace_directory(staging, target)
    except BaseException:
        _remove_tree(staging)
        raise
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return target


def _raise_on_sigterm():
    """While downloading, SIGTERM unwinds like Ctrl-C so the staging directory is removed.
    Returns the previous handler (None when not in the main thread, where no handler can be set)."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _remove_stale_staging(parent: str) -> None:
    """Remove staging directories of downloads whose process is gone (killed with SIGKILL)."""
    for name in os.listdir(parent):
        if not name.startswith(_STAGING_PREFIX):
            continue
        pid = name[len(_STAGING_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            _remove_tree(os.path.join(parent, name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def read_lexicon_file(path: str, max_bytes: int = MAX_LEXICON_FILE_BYTES) -> tuple[Any, str]:
    """Parse a lexicon JSON file with a size limit: ``(data, sha256 of its bytes)``.

    The file is read once; errors name the file and the problem.
    """
    if not os.path.isfile(path):
        raise LexiconError(f"{path}: not a lexicon file (missing, or a directory or device)")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # bounded even where the size on disk is not
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read lexicon file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise LexiconError(f"{path}: lexicon file is over the {max_bytes:,}-byte limit")
    try:
        return json.loads(data.decode("utf-8")), hashlib.sha256(data).hexdigest()
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path}: lexicon file is not UTF-8 ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except RecursionError:
        raise LexiconError(f"{path}: JSON nested too deeply to be a lexicon") from None


def read_lexicon_json(path: str, max_bytes: int = MAX_LEXICON_FILE_BYTES) -> Any:
    """`read_lexicon_file` without the digest."""
    return read_lexicon_file(path, max_bytes)[0]
