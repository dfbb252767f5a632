"""One module per analysis stage, each holding that stage's report: its table names and key
columns, its row selectors, its plot and its datasheet section (a ``SECTION``, see
`corpus_audit.report.registry.ReportSection`).

Registering a new analysis's report is adding its module's name below; the order is the
datasheet's, the plots' and the comparison's.
"""

from __future__ import annotations

__all__ = ["SECTION_MODULES"]

SECTION_MODULES: tuple[str, ...] = (
    "languages",
    "pronouns",
    "descriptors",
    "gender_gap",
    "toxicity",
)
