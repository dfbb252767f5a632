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


def _row(metric: str, key: str, ours: Any, theirs: float, of: str, source: str, denominator: Any) -> Llama2Row:
    value = float(ours) if ours is not None else None
    figure = {"pronouns": "pronouns", "descriptor axis": "descriptor_axes", "descriptor": "descriptors",
              "language": "languages"}.get(metric)
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
                if row is not None:
                    rows.append(_row("descriptor", f"{axis} / {term}", row.get("percent"), theirs,
                                     "the axis' documents", spec["source"], axis_documents.get(axis)))
    if usable("languages"):
        ours = {str(r["language"]): r for r in run.table("languages") or []}
        spec = figures["languages"]
        for language, theirs in spec["rows"].items():
            rows.append(_row("language", language, (ours.get(language) or {}).get("percent", 0.0), theirs,
                             "all documents", spec["source"], run.documents_analysed))
    if usable("toxicity_summary"):
        overall = next((r for r in run.table("toxicity_summary") or [] if str(r.get("scope")) == "all"), None)
        spec = figures["toxicity"]
        if overall is not None and int(overall.get("documents") or 0) > 0:
            rows.append(_row("toxicity", "score >= 0.5", overall.get("percent"), spec["rows"]["share_at_least_0_5"],
                             "scored documents (a sample)", spec["source"], overall.get("documents")))
    return rows
