"""A Hugging Face Hub dataset card (``README.md``) of a run: ``corpus-audit datasheet RUN --format hf-card``.

The card is the datasheet's context (`corpus_audit.report.datasheet.build_context`) rendered by
``templates/hf_card.md.j2``, plus YAML front matter the Hub reads:

* ``language``: the run's languages holding at least ``language_threshold`` percent of the
  analysed documents (``unknown`` never), as ISO 639-1 codes where one exists, else ISO 639-3
  (``langcodes``);
* ``size_categories``: the Hub's bucket of ``documents_read`` (the corpus, even when only a
  ``--sample-rate`` sample was analysed: ``n<1K``, ``1K<n<10K``, ...); left out when ``--limit``
  stopped the run early (the corpus' size is then unknown);
* ``pretty_name`` (metadata ``hub.pretty_name``, else its ``name``, else the corpus name),
  ``license``, ``tags``, ``task_categories`` and the other Hub keys only from the metadata's
  ``hub`` section: the audit never guesses a licence or a task.

`CARD_MARKER`, a comment after the front matter, tells a card corpus-audit wrote from any other
``README.md``: the command never overwrites a file without it.
"""

from __future__ import annotations

from typing import Any

from corpus_audit.escape import yaml_front_matter
from corpus_audit.report.blocks import Image
from corpus_audit.report.datasheet import build_context, partial_limit, render
from corpus_audit.report.formatting import fmt_percent, language_label, language_name
from corpus_audit.report.metadata import HUB_LIST_KEYS
from corpus_audit.report.run import RunData

__all__ = ["CARD_MARKER", "DEFAULT_LANGUAGE_THRESHOLD", "SIZE_CATEGORIES", "card_context", "card_languages",
           "front_matter", "hub_language_code", "render_card", "size_category"]

#: Languages under this percent of the analysed documents stay out of the card's ``language:``.
DEFAULT_LANGUAGE_THRESHOLD = 1.0
#: The Hub's size buckets: (exclusive upper bound, label); the last has no bound.
SIZE_CATEGORIES: tuple[tuple[float, str], ...] = (
    (1e3, "n<1K"), (1e4, "1K<n<10K"), (1e5, "10K<n<100K"), (1e6, "100K<n<1M"), (1e7, "1M<n<10M"),
    (1e8, "10M<n<100M"), (1e9, "100M<n<1B"), (1e10, "1B<n<10B"), (1e11, "10B<n<100B"), (1e12, "100B<n<1T"),
    (float("inf"), "n>1T"))
CARD_MARKER = ("<!-- Dataset card written by corpus-audit (corpus-audit datasheet RUN_DIR --format hf-card); "
               "corpus-audit overwrites only a README.md carrying this line. -->")
#: Front matter keys in the order the Hub's template lists them.
_KEY_ORDER = ("pretty_name", "language", "license", "size_categories", "task_categories", "task_ids", "tags",
              "annotations_creators", "language_creators", "multilinguality", "source_datasets")


def size_category(documents: int) -> str:
    """The Hub's ``size_categories`` bucket of a number of documents (``1500`` → ``1K<n<10K``)."""
    return next(label for bound, label in SIZE_CATEGORIES if documents < bound)


def hub_language_code(code: Any) -> str | None:
    """A language label of the run as the Hub's ``language:`` code: ISO 639-1 where it exists
    (``eng`` → ``en``), else ISO 639-3 (``nds``); ``None`` for ``unknown`` or an unknown code."""
    if language_name(code) is None:
        return None
    import langcodes

    try:
        language = langcodes.Language.get(str(code)).language
    except (LookupError, ValueError):
        return None
    return language or None


def card_languages(run: RunData, threshold: float = DEFAULT_LANGUAGE_THRESHOLD) -> list[dict[str, Any]]:
    """The run's languages at or above ``threshold`` percent of the analysed documents, most
    documents first: ``{"code", "label", "documents", "percent"}`` (``code``: the Hub's code)."""
    total = run.documents_analysed
    chosen: dict[str, dict[str, Any]] = {}
    rows = sorted(run.table("languages") or [], key=lambda r: (-int(r["documents"]), str(r["language"])))
    for row in rows:
        share = 100.0 * int(row["documents"]) / total if total else 0.0
        code = hub_language_code(row["language"])
        if code is None or share < threshold:
            continue
        entry = chosen.setdefault(code, {"code": code, "label": language_label(row["language"]), "documents": 0})
        entry["documents"] += int(row["documents"])
    for entry in chosen.values():
        entry["percent"] = fmt_percent(100.0 * entry["documents"] / total if total else 0.0, "short", total)
    return list(chosen.values())


def front_matter(run: RunData, metadata: dict[str, Any] | None = None,
                 threshold: float = DEFAULT_LANGUAGE_THRESHOLD) -> dict[str, Any]:
    """The card's YAML front matter as a mapping (keys the run cannot fill are left out)."""
    metadata = metadata or {}
    hub = metadata.get("hub") or {}
    data: dict[str, Any] = {"pretty_name": hub.get("pretty_name") or metadata.get("name") or run.corpus_name}
    languages = [entry["code"] for entry in card_languages(run, threshold)]
    if languages:
        data["language"] = languages
    if partial_limit(run) is None:  # --limit stopped the run early: the corpus' size is unknown
        data["size_categories"] = [size_category(int(run.summary.get("documents_read") or 0))]
    for key in HUB_LIST_KEYS:
        if key in hub:
            data[key] = hub[key][0] if key == "license" and len(hub[key]) == 1 else list(hub[key])
    return {key: data[key] for key in _KEY_ORDER if key in data}


def card_context(run: RunData, metadata: dict[str, Any] | None = None,
                 threshold: float = DEFAULT_LANGUAGE_THRESHOLD, plots_at: str = "plots") -> dict[str, Any]:
    """The datasheet's context with what the card adds: front matter, its languages, the marker.
    ``plots_at``: the run's ``plots/`` folder as seen from where the card is written."""
    context = build_context(run, metadata)
    if plots_at != "plots":
        for block in context["blocks"]:
            if isinstance(block, Image) and block.path.startswith("plots/"):
                block.path = f"{plots_at.rstrip('/')}/{block.path[len('plots/'):]}"
    data = front_matter(run, metadata, threshold)
    context.update(
        front_matter=yaml_front_matter(data),  # yaml.safe_dump between --- lines, never string-formatted
        pretty_name=data["pretty_name"],
        card_languages=card_languages(run, threshold),
        language_threshold=fmt_percent(threshold, "short"),
        marker=CARD_MARKER,
        citation=(context["hub"] or {}).get("citation"),
    )
    return context


def render_card(run: RunData, metadata: dict[str, Any] | None = None,
                threshold: float = DEFAULT_LANGUAGE_THRESHOLD, plots_at: str = "plots") -> str:
    """The card's text (``README.md``); its figures link to ``plots_at``/<name>.png."""
    return render("hf_card.md.j2", card_context(run, metadata, threshold, plots_at))
