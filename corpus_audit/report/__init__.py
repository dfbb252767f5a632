"""Reports people read, regenerated from a run's saved outputs (never from the corpus):
``plots/*.png|svg``, ``datasheet.md`` and ``datasheet.html``, and run comparisons.

``write_report(run_dir)`` is what ``corpus-audit run`` calls at the end and what
``corpus-audit report RUN_DIR`` runs; ``write_hf_card`` is ``corpus-audit datasheet RUN_DIR --format
hf-card`` (a Hub ``README.md``, never over a file corpus-audit did not write).

Layout: ``run`` loads a run directory; ``sections/<stage>.py`` hold each analysis's report
(tables, row selectors, plot, datasheet section), named by each stage (``Analysis.REPORT_SECTION``) and
served by ``registry``; ``plots`` (matplotlib, imported lazily), ``datasheet`` and ``compare``
iterate the registry; ``datasheet`` builds the one context the Jinja2 templates of ``templates/``
render (the datasheet in Markdown and HTML, and ``hf_card``'s Hub card); ``formatting`` and
``blocks`` are what the sections share.
"""

from __future__ import annotations

import os
from typing import Any

from corpus_audit.errors import ReportError
from corpus_audit.report.metadata import MetadataError, load_metadata
from corpus_audit.report.registry import ReportSection, default_registry
from corpus_audit.report.run import RunData, load_run
from corpus_audit.rundir.run_directory import own_files
from corpus_audit.storage import join, list_files

__all__ = ["MetadataError", "ReportError", "ReportSection", "RunData", "default_registry", "load_metadata", "load_run",
           "write_datasheet", "write_hf_card", "write_plots", "write_report"]


def _write(path: str, data: bytes) -> None:
    from corpus_audit.storage import write_bytes

    write_bytes(path, data)


def write_plots(run: RunData, svg: bool = False) -> list[str]:
    """Draw every plot whose table exists into ``<run>/plots/`` (PNG, and SVG when ``svg``);
    returns the paths written.

    Plot files of a previous report that no longer apply (their table is gone, or an SVG this
    report was not asked for) are removed, so plots/ never mixes two reports.
    """
    from corpus_audit.report.plots import render_plots

    files = render_plots(run, ("png", "svg") if svg else ("png",))
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
    own_files(run.run_dir, {f"plots/{name}": data for name, data in files.items()},
                     removed=[f"plots/{os.path.basename(path)}" for path in stale])
    return written


def _embedded_plots(run_dir: str) -> dict[str, str]:
    """``plots/<name>.png`` → a ``data:`` URI of its bytes: the HTML datasheet needs no other file
    (it can be mailed, uploaded or printed on its own)."""
    import base64

    from corpus_audit.storage import read_bytes

    images = {}
    for path in list_files(join(run_dir, "plots"), "*.png"):
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        images[f"plots/{name}"] = "data:image/png;base64," + base64.b64encode(read_bytes(path)).decode("ascii")
    return images


def write_datasheet(run: RunData, metadata: dict[str, Any] | None = None) -> list[str]:
    """Write ``datasheet.md`` and ``datasheet.html``; ``metadata`` from `load_metadata`."""
    from corpus_audit.report.datasheet import build_context, render

    context = build_context(run, metadata)
    html_context = {**context, "images": _embedded_plots(run.run_dir)}  # one self-contained page
    files = {"datasheet.md": render("datasheet.md.j2", context).encode("utf-8", "replace"),
             "datasheet.html": render("datasheet.html.j2", html_context).encode("utf-8", "replace")}
    paths = []
    for name, data in files.items():
        paths.append(join(run.run_dir, name))
        _write(paths[-1], data)
    own_files(run.run_dir, files)
    return paths


def _check_card_destination(path: str) -> None:
    """Refuse a card destination that is a directory, a link, in a missing folder, or an existing
    file corpus-audit did not write (it lacks `hf_card.CARD_MARKER`): nothing is overwritten."""
    from corpus_audit.report.hf_card import CARD_MARKER
    from corpus_audit.storage import exists, is_remote, read_bytes

    if not is_remote(path):
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            raise ReportError(f"{path} is a directory; give the card's file name (e.g. README.md)")
        if os.path.islink(path):
            raise ReportError(f"{path} is a symbolic link; corpus-audit does not write through links")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ReportError(f"{path}: the folder {folder} does not exist (it is not created)")
    if exists(path) and CARD_MARKER.encode("utf-8") not in read_bytes(path, 16 * 1024 * 1024):
        raise ReportError(f"{path} exists and was not written by corpus-audit; nothing was written: move it or "
                          "give another --output")


def _name_in_run(run_dir: str, path: str) -> str | None:
    """``path`` relative to the run directory (``/``-separated) when it lies inside it; else None."""
    if "://" in run_dir or "://" in path:
        prefix = run_dir.rstrip("/") + "/"
        return path[len(prefix):] if path.startswith(prefix) and len(path) > len(prefix) else None
    run_abs, path_abs = os.path.abspath(run_dir), os.path.abspath(path)
    if path_abs == run_abs or os.path.commonpath([run_abs, path_abs]) != run_abs:
        return None
    return os.path.relpath(path_abs, run_abs).replace(os.sep, "/")


def _check_card_unedited(run_dir: str, path: str, name: str) -> None:
    """Refuse to replace the run's card ``path`` when its manifest records a digest for ``name``
    and the file no longer matches it (someone edited the card): nothing is overwritten."""
    from corpus_audit.rundir.run_directory import file_sha256, read_manifest, recorded_digests
    from corpus_audit.storage import exists

    recorded = recorded_digests(read_manifest(run_dir)).get(name)
    if recorded is not None and exists(path) and file_sha256(path) != recorded:
        raise ReportError(f"{path} was edited since corpus-audit wrote it; nothing was written: move it or "
                          "give another --output")


def write_hf_card(run: RunData, metadata: dict[str, Any] | None = None, output: str | None = None,
                  language_threshold: float | None = None) -> str:
    """Write the run's Hub dataset card to ``output`` (default ``<run>/README.md``); returns its path.

    ``language_threshold``: percent of the analysed documents a language needs to be in the
    card's ``language:`` (default `hf_card.DEFAULT_LANGUAGE_THRESHOLD`).
    """
    from corpus_audit.report.hf_card import DEFAULT_LANGUAGE_THRESHOLD, render_card

    from corpus_audit.rundir.run_directory import LOCK_NAME, MANIFEST_NAME

    path = output or join(run.run_dir, "README.md")
    _check_card_destination(path)
    in_run = _name_in_run(run.run_dir, path)  # a card inside the run is the run's file (its manifest lists it)
    if in_run in (MANIFEST_NAME, LOCK_NAME):
        raise ReportError(f"{path} is the run's own {in_run}; nothing was written: give another --output")
    if in_run:
        _check_card_unedited(run.run_dir, path, in_run)
    threshold = DEFAULT_LANGUAGE_THRESHOLD if language_threshold is None else language_threshold
    text = render_card(run, metadata, threshold, _plots_seen_from(run.run_dir, path))
    data = text.encode("utf-8", "replace")  # a lone surrogate from a summary: "?"
    _write(path, data)
    if in_run:
        own_files(run.run_dir, {in_run: data})
    return path


def _plots_seen_from(run_dir: str, card_path: str) -> str:
    """The run's ``plots/`` folder as a link from the card's folder: relative for local paths,
    the run's own URL for a remote run (a card elsewhere then still shows the figures)."""
    if "://" in card_path or "://" in run_dir:
        same_folder = card_path.rsplit("/", 1)[0].rstrip("/") == run_dir.rstrip("/")
        return "plots" if same_folder else join(run_dir, "plots")
    relative = os.path.relpath(os.path.join(os.path.abspath(run_dir), "plots"),
                               os.path.dirname(os.path.abspath(card_path)))
    return relative.replace(os.sep, "/")


#: The authors' answers given with ``--metadata``, kept in the run: later reports reuse them.
METADATA_NAME = "datasheet-metadata.yaml"


def run_metadata(run_dir: str, metadata_path: str | None) -> dict[str, Any] | None:
    """The datasheet answers for the run in ``run_dir``: those of ``metadata_path`` when given
    (validated, then kept in the run as `METADATA_NAME`, replacing earlier ones), else the ones
    kept there by an earlier ``--metadata``, else None."""
    from corpus_audit.rundir.run_directory import record_owned_file
    from corpus_audit.storage import exists, read_bytes

    if metadata_path:
        metadata = load_metadata(metadata_path)
        record_owned_file(run_dir, METADATA_NAME, read_bytes(metadata_path))
        return metadata
    kept = join(run_dir, METADATA_NAME)
    return load_metadata(kept) if exists(kept) else None


def write_report(run_dir: str, metadata_path: str | None = None, plots: bool = True, *,
                 check_complete: bool = True, svg: bool = False) -> list[str]:
    """Plots and datasheet for the run in ``run_dir``, from its ``summary.json`` and tables, with
    the authors' answers (`run_metadata`). ``check_complete=False``: the finishing run's own
    report (its manifest still says running); ``svg``: draw each plot as SVG too."""
    run = load_run(run_dir, check_complete=check_complete)
    metadata = run_metadata(run_dir, metadata_path)
    if metadata and metadata.get("name"):
        run.name = metadata["name"]
    written = write_plots(run, svg=svg) if plots else []
    return written + write_datasheet(run, metadata)
