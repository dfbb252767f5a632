"""`AuditConfig`: everything a run needs besides the runner, shared by every engine.

Plain Python (no Beam import), so that the in-process engine (`corpus_audit.engine.local`)
and the Beam graph (`corpus_audit.engine.assembly`) take the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corpus_audit.engine.checkpoint import SplitCheckpoints
from corpus_audit.readers import InputFile, ReadConfig
from corpus_audit.rundir.summary import RunInfo
from corpus_audit.transforms.base import Analysis, ReportContext

__all__ = ["AuditConfig"]


@dataclass
class AuditConfig:
    """Everything a run needs besides the Beam options."""

    inputs: list[InputFile]
    output_dir: str
    analyses: list[Analysis]
    read_config: ReadConfig = field(default_factory=ReadConfig)
    limit: int | None = None
    progress: bool = True
    #: The command line's part of summary.json (None: a pipeline built without the CLI).
    run_info: RunInfo | None = None
    #: ``--checkpoint-dir``: finished splits kept and restored (see engine/checkpoint.py).
    checkpoints: SplitCheckpoints | None = None
    #: Each stage's ``Options.as_dict()`` (stage name → options), recorded in ``accumulators.json``
    #: so that ``corpus-audit merge`` can rebuild the stages; None: no accumulators.json is written.
    stage_options: dict[str, dict[str, Any]] | None = None
    #: The inputs' identities (`corpus_audit.accumulators.input_identity`) when already known (a
    #: merge records its runs'); None: computed from ``inputs`` at the end of the run.
    input_identities: list[dict[str, Any]] | None = None

    @property
    def context(self) -> ReportContext:
        return ReportContext(group_by=self.read_config.group_by)
