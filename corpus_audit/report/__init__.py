"""Reports people read, regenerated from a run's saved outputs (never from the corpus):
``plots/*.png|svg``, ``datasheet.md`` and ``datasheet.html``, and run comparisons.

``write_report(run_dir)`` is what ``corpus-audit run`` calls at the end and what
``corpus-audit report RUN_DIR`` runs.

Layout: ``run`` loads a run directory; ``sections/<stage>.py`` hold each analysis's report
(tables, row selectors, plot, datasheet section), listed in ``sections.SECTION_MODULES`` and
served by ``registry``; ``plots`` (matplotlib, imported lazily), ``datasheet`` and ``compare``
iterate the registry; ``formatting`` and ``blocks`` are what the sections share.
"""

from __future__ import annotations

import os
from typing import Any

from corpus_audit.errors import ReportError
from corpus_audit.report.metadata import MetadataError, load_metadata
from corpus_audit.report.registry import ReportSection, default_registry
from corpus_audit.report.run import RunData, load_run
from corpus_audit.storage import join, list_files

__all__ = ["MetadataError", "ReportError", "ReportSection", "RunData", "default_registry", "load_run",
           "write_datasheet", "write_plots", "write_report"]


def _write(path: str, data: bytes) -> None:
    from corpus_audit.storage import write_bytes

    write_bytes(path, data)


def write_plots(run: RunData) -> list[str]:
    """Draw every plot whose table exists into ``<run>/plots/``; returns the paths written.

    Plot files of a previous report that no longer apply (their table is gone) are removed.
    """
    from corpus_audit.report.plots import render_plots

    files = render_plots(run)
    plot_names = set(default_registry().plot_names())
    plots_dir = join(run.run_dir, "plots")
    written = []
    for name, data in files.items():
        path = join(plots_dir, name)
        _write(path, data)
        written.append(path)
    stale = [path for path in list_files(plots_dir, "*")
             if os.path.basename(path) not in files
             and os.path.splitext(os.path.basename(path))[0] in plot_names]
    if stale:
        from apache_beam.io.filesystems import FileSystems

        FileSystems.delete(stale)
    return written


def write_datasheet(run: RunData, metadata: dict[str, Any] | None = None) -> list[str]:
    """Write ``datasheet.md`` and ``datasheet.html``; ``metadata`` from `load_metadata`."""
    from corpus_audit.report.datasheet import build_context, render

    context = build_context(run, metadata)
    paths = [join(run.run_dir, "datasheet.md"), join(run.run_dir, "datasheet.html")]
    _write(paths[0], render("datasheet.md.j2", context).encode("utf-8"))
    _write(paths[1], render("datasheet.html.j2", context).encode("utf-8"))
    return paths


def write_report(run_dir: str, metadata_path: str | None = None, plots: bool = True, *,
                 check_complete: bool = True) -> list[str]:
    """Plots and datasheet for the run in ``run_dir``, from its ``summary.json`` and tables.
    ``check_complete=False``: the finishing run's own report (its manifest still says running)."""
    metadata = load_metadata(metadata_path) if metadata_path else None
    run = load_run(run_dir, check_complete=check_complete)
    if metadata and metadata.get("name"):
        run.name = metadata["name"]
    written = write_plots(run) if plots else []
    return written + write_datasheet(run, metadata)
