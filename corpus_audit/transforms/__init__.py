"""One module per analysis; each registers its stage name here.

To add an analysis: write ``transforms/<name>.py`` with an `Analysis` subclass (see
`corpus_audit.transforms.base`) and add it to ``STAGES`` below, after the stages it
``requires``. ``--stages`` takes these names; the order here is the order they run in.
"""

from __future__ import annotations

from corpus_audit.errors import UsageError
from corpus_audit.transforms.base import Analysis, ReportContext, Table
from corpus_audit.transforms.descriptors import Descriptors
from corpus_audit.transforms.gender_gap import GenderGap
from corpus_audit.transforms.langid import LanguageIdentification
from corpus_audit.transforms.pronouns import Pronouns
from corpus_audit.transforms.toxicity import Toxicity

STAGES: dict[str, type[Analysis]] = {
    LanguageIdentification.name: LanguageIdentification,
    Pronouns.name: Pronouns,
    Descriptors.name: Descriptors,
    GenderGap.name: GenderGap,
    Toxicity.name: Toxicity,
}


def resolve_stages(names: list[str]) -> list[type[Analysis]]:
    """Stage classes for ``names`` in run order, with the stages they require added."""
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        raise UsageError(f"unknown stage(s) {', '.join(unknown)}; available: {', '.join(STAGES)}")
    wanted = set(names)
    changed = True
    while changed:
        changed = False
        for name in list(wanted):
            for required in STAGES[name].requires:
                if required not in wanted:
                    wanted.add(required)
                    changed = True
    return [cls for name, cls in STAGES.items() if name in wanted]


__all__ = ["Analysis", "ReportContext", "STAGES", "Table", "UsageError", "resolve_stages"]
