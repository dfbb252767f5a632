"""English names of language codes, for tables, plots and the datasheet (``nds`` → ``Low German``).

Names come from ``langcodes`` with the offline data of the ``language_data`` package (a
maintained registry, not a hand-written map), so a reader sees ``en — English`` beside the
fastText or ISO 639-3 code. A root module (below every subpackage) so that the transforms and
the report share it without the transforms importing the report.

Codes are looked up as they appear in the tables: fastText labels without their ``__label__``
prefix (``en``, ``nds``, ``zh``), ISO 639-3 lexicon codes (``arb``, ``cmn``), ``unknown`` (no
language above the language-ID threshold) and ``no_lexicon``. An odd code never raises: it gets
no name (``None``) and keeps its code alone in labels.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["UNKNOWN_LANGUAGE", "UNKNOWN_LANGUAGE_NAME", "language_label", "language_name", "language_names",
           "table_language_name"]

#: The language of documents whose best fastText label is under the threshold (stage ``langid``).
UNKNOWN_LANGUAGE = "unknown"
#: What ``unknown`` means, as shown in tables.
UNKNOWN_LANGUAGE_NAME = "unknown (no language above the threshold)"
_LABEL_PREFIX = "__label__"


@lru_cache(maxsize=4096)
def _lookup(code: str) -> str | None:
    try:
        import langcodes

        name = langcodes.Language.get(code).display_name("en")
    except Exception:  # noqa: BLE001 - a label, never an error: an odd code keeps its code only
        return None
    if not name or name.startswith("Unknown language"):
        return None
    return name


def language_name(code: Any) -> str | None:
    """The English name of ``code`` (``nds`` → ``Low German``; ``__label__en`` → ``English``);
    ``None`` for ``unknown`` (not a language), an empty code or one ``langcodes`` does not know
    (``no_lexicon``, ``zz``, ``eml``)."""
    text = str(code if code is not None else "").strip()
    if text.startswith(_LABEL_PREFIX):
        text = text[len(_LABEL_PREFIX):]
    if not text or text == UNKNOWN_LANGUAGE:
        return None
    if not text.replace("-", "").replace("_", "").isalnum() or not text.isascii() or "_" in text:
        return None  # "no_lexicon", "(missing)", text from a corpus: not a language tag
    return _lookup(text)


def table_language_name(code: Any) -> str | None:
    """A table's ``language_name`` cell: `language_name`, and for ``unknown`` what it means
    (`UNKNOWN_LANGUAGE_NAME`)."""
    if str(code if code is not None else "").strip() == UNKNOWN_LANGUAGE:
        return UNKNOWN_LANGUAGE_NAME
    return language_name(code)


def language_names(codes: list[Any]) -> list[str | None]:
    """`table_language_name` of each code, in order (a table's ``language_name`` column)."""
    return [table_language_name(code) for code in codes]


def language_label(code: Any) -> str:
    """``en — English``; the code alone when it has no name; ``unknown`` says what it means."""
    text = str(code if code is not None else "")
    if text.strip() == UNKNOWN_LANGUAGE:
        return UNKNOWN_LANGUAGE_NAME
    name = language_name(text)
    return f"{text} — {name}" if name else text
