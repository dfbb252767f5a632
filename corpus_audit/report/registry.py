"""The registry of report sections: each analysis's tables, plot and datasheet section as one object.

``plots.py``, ``datasheet.py``, ``compare.py`` and ``write_plots`` iterate the registry instead
of naming stages, so an analysis's report is its module under ``report/sections/`` (defining a
``SECTION``), named by the analysis itself (``Analysis.REPORT_SECTION``); a stage without one
gets a section built from its declared tables (`corpus_audit.report.sections.generic`). The section modules are imported on
the first call of `default_registry`, not when this module is imported; they import matplotlib
only inside their plot functions, so a datasheet or a comparison does not load it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder
    from corpus_audit.report.run import RunData

__all__ = ["ReportRegistry", "ReportSection", "STATUS_COMPUTED", "available_plots", "default_registry"]


def _nothing(run: RunData) -> list:
    return []


def _no_reason(run: RunData) -> str | None:
    return None


#: The ``status`` a stage writes when it produced its numbers (any other status: not computed).
STATUS_COMPUTED = "computed"
COMPUTED_STATUSES = frozenset({STATUS_COMPUTED, "ok"})


@dataclass(frozen=True, eq=False)
class ReportSection:
    """What the reports know about one analysis stage."""

    #: Registry key, and the plot's file name (``plots/<name>.png``).
    name: str
    #: The stage's name in ``summary.json`` (``stages``, ``settings.stages``).
    stage: str
    #: The datasheet's heading for the section.
    title: str
    #: What the stage does, for the "Not run: ... was not part of this run" line.
    description: str
    #: The tables the section presents → their key columns (how ``compare`` matches rows).
    #: The datasheet section needs every one of them; without them it says "not run / not computed".
    tables: Mapping[str, tuple[str, ...]]
    #: Adds the section's blocks to the datasheet (after its heading, when its tables exist).
    datasheet: Callable[[DatasheetBuilder], None]
    #: Draws the section's figure (returns ``None`` when the run has nothing to draw); ``None``: no plot.
    plot: Callable[[RunData], Figure | None] | None = None
    #: Whether ``plot`` draws something for this run (cheap: no drawing).
    plottable: Callable[[RunData], bool] | None = None
    #: One-sentence measured facts for the datasheet's "Uses" section.
    facts: Callable[[RunData], list[str]] = _nothing
    #: Rows (``[quantity, value]``) the section adds to the datasheet's "Size" table.
    size_rows: Callable[[RunData], list[list[str]]] = _nothing
    #: Why a stage that ran produced no numbers (e.g. no document scored); None when it has numbers.
    produced_nothing: Callable[[RunData], str | None] = _no_reason
    #: Further tables of the stage → their key columns, which runs of older versions may lack:
    #: ``compare`` matches their rows; the datasheet does not need them.
    optional_tables: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: Columns the reports read from each table (`tables`, `optional_tables`) beyond its key
    #: columns: `corpus_audit.report.run.load_run` refuses a table that lacks one.
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: Whether the stage's figures are estimated on a sample of the documents (the heading then
    #: says "— sampled", but only when the section was computed).
    sampled: bool = False

    def heading(self, run: RunData) -> str:
        """The datasheet's heading for the section: `title`, with "— sampled" when its figures are."""
        return f"{self.title} — sampled" if self.sampled and self.computed(run) else self.title

    def __post_init__(self) -> None:
        if (self.plot is None) != (self.plottable is None):
            raise ValueError(f"report section {self.name!r}: plot and plottable go together")
        if not self.tables:
            raise ValueError(f"report section {self.name!r} presents no table")

    def not_computed(self, run: RunData) -> tuple[str, str] | None:
        """``(status, reason)`` when the stage ran but its numbers are not there (or are empty);
        ``None`` when the section has numbers to show. A stage that was not run is `RunData.stage_ran`."""
        settings = run.stage_settings(self.stage)
        status = settings.get("status")
        reason = settings.get("reason")
        if status is not None and status not in COMPUTED_STATUSES:
            return str(status), str(reason) if reason else "the run recorded no reason"
        unreadable = [table for table in (*self.tables, *self.optional_tables) if table in run.unreadable]
        if unreadable:
            return "unreadable", f"table {unreadable[0]} unreadable ({run.unreadable[unreadable[0]]})"
        if not run.has(*self.tables):
            return str(status or "no_table"), "the run wrote no table for it"
        empty = self.produced_nothing(run)
        if empty:
            return "empty", empty
        return None

    def computed(self, run: RunData) -> bool:
        """Whether the run has this section's numbers (stage ran, computed, tables not empty)."""
        return self.not_computed(run) is None

    def has_plot(self, run: RunData) -> bool:
        """Whether this run gets the section's plot (never for numbers that were not computed)."""
        return self.plottable is not None and self.computed(run) and self.plottable(run)


class ReportRegistry:
    """Report sections by name, in registration order (the datasheet's, the plots' and compare's)."""

    def __init__(self, sections: list[ReportSection] | tuple[ReportSection, ...] = ()) -> None:
        self._sections: dict[str, ReportSection] = {}
        self._tables: dict[str, str] = {}
        for section in sections:
            self.add(section)

    def add(self, section: ReportSection) -> ReportSection:
        """Register ``section``; a name or table another section has is an error."""
        if not isinstance(section, ReportSection):
            raise TypeError(f"not a ReportSection: {section!r}")
        if section.name in self._sections:
            raise ValueError(f"report section {section.name!r} is registered twice")
        for table in (*section.tables, *section.optional_tables):
            if table in self._tables:
                raise ValueError(f"table {table!r} of section {section.name!r} is already presented by "
                                 f"section {self._tables[table]!r}")
            self._tables[table] = section.name
        self._sections[section.name] = section
        return section

    def get(self, name: str) -> ReportSection:
        try:
            return self._sections[name]
        except KeyError:
            raise KeyError(f"no report section {name!r}; registered: {', '.join(self._sections)}") from None

    def __iter__(self) -> Iterator[ReportSection]:
        return iter(self._sections.values())

    def __len__(self) -> int:
        return len(self._sections)

    def names(self) -> list[str]:
        return list(self._sections)

    def plot_names(self) -> list[str]:
        """Names of the sections that draw a plot (the files ``plots/`` may hold)."""
        return [section.name for section in self if section.plot is not None]

    def tables(self) -> dict[str, tuple[str, ...]]:
        """Every table a section presents (optional ones included) → its key columns, in section order."""
        return {table: keys for section in self
                for table, keys in (*section.tables.items(), *section.optional_tables.items())}

    def table_columns(self) -> dict[str, tuple[str, ...]]:
        """Every table a section presents → the columns it must have: its keys, then what the reports read."""
        return {table: tuple(dict.fromkeys((*keys, *section.columns.get(table, ()))))
                for section in self for table, keys in (*section.tables.items(), *section.optional_tables.items())}

    def available_plots(self, run: RunData) -> list[str]:
        """Names of the plots this run gets (cheap: no drawing)."""
        return [section.name for section in self if section.has_plot(run)]


def default_registry() -> ReportRegistry:
    """The report sections of the registered stages (`corpus_audit.transforms.STAGES`), in their
    order: each stage names its own (``Analysis.REPORT_SECTION``: a `ReportSection`, or a module
    defining one as ``SECTION``), or gets one built from its declared tables."""
    from corpus_audit.transforms import STAGES

    return _registry(tuple(STAGES.values()))


@functools.lru_cache(maxsize=8)
def _registry(stages: tuple[type, ...]) -> ReportRegistry:
    loaded = []
    for stage in stages:
        section = stage.REPORT_SECTION
        if isinstance(section, str):
            module = importlib.import_module(section)
            section = getattr(module, "SECTION", None)
            if not isinstance(section, ReportSection):
                raise TypeError(f"{module.__name__} defines no SECTION (a ReportSection)")
        elif section is None:
            from corpus_audit.report.sections.generic import generic_section

            section = generic_section(stage)
        if not isinstance(section, ReportSection):
            raise TypeError(f"stage {stage.name!r}: REPORT_SECTION is not a ReportSection or a module name")
        loaded.append(section)
    return ReportRegistry(loaded)


def available_plots(run: RunData) -> list[str]:
    """Names of the plots the registered sections draw for this run (cheap: no drawing)."""
    return default_registry().available_plots(run)
