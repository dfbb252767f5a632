"""This corpus beside the figures Llama 2 published for its pretraining corpus (arXiv 2307.09288 §4.1).

The paper's values are data (``report/data/llama2.json``, each figure with its source line),
not code. `llama2_rows` pairs them with the run's tables: one row per figure the run has,
with both values, their difference and where the paper's value comes from. Figures whose
stage was not computed are left out (never compared against nothing).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from corpus_audit.report.run import RunData

__all__ = ["Llama2Row", "llama2_cells", "llama2_figures", "llama2_rows"]

#: One comparison row: metric, key, this corpus' percent, Llama 2's percent, their difference,
#: what the percent is of (``of``), this corpus' denominator (``denominator``, documents), source,
#: and the paper's figure as published (``llama2_text``: ``"28.45"``, with the paper's decimals).
Llama2Row = dict[str, Any]


@functools.lru_cache(maxsize=1)
def llama2_figures() -> dict[str, Any]:
    """The published figures, as shipped in ``report/data/llama2.json``."""
    text = (resources.files("corpus_audit.report") / "data" / "llama2.json").read_text("utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _published() -> dict[str, Any]:
    """``llama2.json`` with its numbers as written (``"61.80"``): the paper's precision."""
    text = (resources.files("corpus_audit.report") / "data" / "llama2.json").read_text("utf-8")
    return json.loads(text, parse_float=str, parse_int=str)


def _published_text(metric: str, key: str) -> str:
    rows = _published()[metric]["rows"]
    if metric == "descriptors":
        axis, term = key.split(" / ", 1)
        return next(value for name, value in rows[axis] if name == term)
    return rows[key]


def llama2_cells(row: Llama2Row) -> tuple[str, str, str]:
    """The row's ``(this corpus, Llama 2, difference)`` cells, which add up as shown.

    Llama 2's figure is shown as published; this corpus' and the difference with as many decimals
    as the finer of the paper's figure and the datasheet's rule (1 decimal, 2 under 1%), the
    difference computed from the two shown values (``42.33 − 28.45 = +13.88``)."""
    from decimal import Decimal

    from corpus_audit.report.formatting import MISSING, SMALL_SAMPLE_MARK, is_small_sample

    if row["llama2"] is None:  # a top language of this corpus Llama 2's table does not list
        ours_value = float(row["this_corpus"])
        return f"{ours_value:.{1 if abs(ours_value) >= 0.995 else 2}f}", NOT_LISTED, MISSING
    theirs_text = str(row.get("llama2_text") or row["llama2"])
    theirs = Decimal(theirs_text)
    if row["this_corpus"] is None:
        return MISSING, theirs_text, MISSING
    ours_value = float(row["this_corpus"])
    published = max(-int(theirs.as_tuple().exponent), 0)
    ours_rule = 1 if abs(ours_value) >= 0.995 else 2
    decimals = max(published, ours_rule)
    ours = Decimal(f"{ours_value:.{decimals}f}")
    mark = SMALL_SAMPLE_MARK if is_small_sample(row.get("denominator")) else ""
    difference = ours - theirs
    return f"{ours:.{decimals}f}{mark}", theirs_text, f"{difference:+.{decimals}f}"


#: The Llama 2 cell of a language its Table 10 does not list (it lists those of at least 0.005%).
NOT_LISTED = "not listed (< 0.005)"
#: How many of this corpus's own most frequent languages are shown beside the paper's.
OWN_TOP_LANGUAGES = 10
#: The "percent of" cell of a published descriptor the run's list does not have.
NOT_IN_LIST = "not in this run's descriptor list: cannot be measured (use the official list)"


def _row(metric: str, key: str, ours: Any, theirs: float | None, of: str, source: str, denominator: Any) -> Llama2Row:
    value = float(ours) if ours is not None else None
    figure = {"pronouns": "pronouns", "descriptor axis": "descriptor_axes", "descriptor": "descriptors",
              "language": "languages"}.get(metric)
    if theirs is None:
        return {"metric": metric, "key": key, "this_corpus": value, "llama2": None, "llama2_text": NOT_LISTED,
                "difference": None, "of": of, "denominator": int(denominator) if denominator is not None else None,
                "source": source}
    published = _published_text(figure, key) if figure else str(theirs)
    return {"metric": metric, "key": key, "this_corpus": value, "llama2": float(theirs), "llama2_text": published,
            "difference": None if value is None else round(value - float(theirs), 4), "of": of,
            "denominator": int(denominator) if denominator is not None else None, "source": source}


def llama2_rows(run: RunData, computed: set[str] | None = None) -> list[Llama2Row]:
    """Rows for every published figure the run measured; ``computed``: tables whose stage was computed."""
    figures = llama2_figures()
    rows: list[Llama2Row] = []

    def usable(table: str) -> bool:
        return run.table(table) is not None and (computed is None or table in computed)

    if usable("pronouns"):
        ours = {str(r["group"]): r for r in run.table("pronouns") or []}
        spec = figures["pronouns"]
        for group, theirs in spec["rows"].items():
            if group in ours:
                gendered = group in ("she", "he", "unspecified")
                rows.append(_row("pronouns", group, ours[group].get("percent"), theirs,
                                 "gendered documents" if gendered else "documents in scope", spec["source"],
                                 ours[group].get("denominator")))
    if usable("descriptor_axes"):
        ours = {str(r["axis"]): r for r in run.table("descriptor_axes") or []}
        spec = figures["descriptor_axes"]
        for axis, theirs in spec["rows"].items():
            if axis in ours:
                rows.append(_row("descriptor axis", axis, ours[axis].get("percent"), theirs, "documents in scope",
                                 spec["source"], ours[axis].get("denominator")))
    if usable("descriptors"):
        axis_documents = {str(r["axis"]): r.get("documents") for r in run.table("descriptor_axes") or []}
        ours_terms = {(str(r["axis"]), str(r["descriptor"])): r for r in run.table("descriptors") or []}
        spec = figures["descriptors"]
        for axis, terms in spec["rows"].items():
            for term, theirs in terms:
                row = ours_terms.get((axis, term))
                if row is None:  # marked, never dropped: the reader sees what this run cannot compare
                    rows.append(_row("descriptor", f"{axis} / {term}", None, theirs, NOT_IN_LIST, spec["source"],
                                     None))
                else:
                    rows.append(_row("descriptor", f"{axis} / {term}", row.get("percent"), theirs,
                                     "the axis' documents", spec["source"], axis_documents.get(axis)))
    if usable("languages"):
        ours = {str(r["language"]): r for r in run.table("languages") or []}
        spec = figures["languages"]
        # The paper's languages this corpus has, then its own most frequent ones the paper does not list.
        for language, theirs in spec["rows"].items():
            if int((ours.get(language) or {}).get("documents") or 0) > 0:
                rows.append(_row("language", language, ours[language].get("percent", 0.0), theirs,
                                 "all documents", spec["source"], run.documents_analysed))
        top = sorted((r for r in ours.values() if int(r.get("documents") or 0) > 0 and str(r["language"]) != "unknown"),
                     key=lambda r: (-int(r["documents"]), str(r["language"])))[:OWN_TOP_LANGUAGES]
        for r in top:
            if str(r["language"]) not in spec["rows"]:
                rows.append(_row("language", str(r["language"]), r.get("percent"), None, "all documents",
                                 spec["source"], run.documents_analysed))
    if usable("toxicity_summary"):
        overall = next((r for r in run.table("toxicity_summary") or [] if str(r.get("scope")) == "all"), None)
        spec = figures["toxicity"]
        if overall is not None and int(overall.get("documents") or 0) > 0:
            rows.append(_row("toxicity", "score >= 0.5", overall.get("percent"), spec["rows"]["share_at_least_0_5"],
                             "scored documents (a sample)", spec["source"], overall.get("documents")))
    return rows
