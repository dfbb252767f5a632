"""The output directory of a run: refuse foreign files, clear a previous run's outputs, and
check it is writable — the last step before a run starts (nothing is deleted earlier)."""

from __future__ import annotations

import os
import shutil

from corpus_audit.errors import UsageError
from corpus_audit.storage import is_remote

__all__ = ["RUN_OUTPUTS", "prepare_output_dir"]

#: What a previous run leaves in its output directory (removed before a new run there).
RUN_OUTPUTS = ("summary.json", "tables", "documents", "skipped", "plots", "datasheet.md", "datasheet.html")


def prepare_output_dir(output_dir: str) -> None:
    """Create the output directory, or clear a previous run's outputs in it.

    Refuses a non-empty directory (or ``gs://`` prefix) holding anything else than a
    previous run's outputs, so an audit never deletes or mixes with files it did not write.
    """
    if is_remote(output_dir):
        _prepare_remote(output_dir)
        return
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"output path exists and is not a directory: {output_dir}")
    if os.path.isdir(output_dir):
        _clear_local(output_dir)
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, ".corpus-audit-write-test")
        with open(probe, "w", encoding="utf-8") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise UsageError(f"output directory not writable: {output_dir} ({exc.strerror or exc})") from exc


def _prepare_remote(output_dir: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    prefix = output_dir.rstrip("/") + "/"
    existing = [m.path for m in FileSystems.match([prefix + "**"])[0].metadata_list]
    foreign = [path for path in existing if path[len(prefix):].split("/", 1)[0] not in RUN_OUTPUTS]
    if foreign:
        raise UsageError(f"output location {output_dir} holds files a corpus-audit run did not write "
                         f"(e.g. {foreign[0]}); choose a new or empty location")
    if existing:
        FileSystems.delete(existing)


def _clear_local(output_dir: str) -> None:
    foreign = sorted(set(os.listdir(output_dir)) - set(RUN_OUTPUTS))
    if foreign:
        raise UsageError(f"output directory {output_dir} holds files a corpus-audit run did not write "
                         f"(e.g. {foreign[0]}); choose a new or empty directory")
    for name in RUN_OUTPUTS:
        path = os.path.join(output_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
