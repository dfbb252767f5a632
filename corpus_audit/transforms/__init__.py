"""One module per analysis; each registers its stage name here.

To add an analysis: write ``transforms/<name>.py`` with an `Analysis` subclass (see
`corpus_audit.transforms.base`: its options, tables with their denominators, report section and
dolma attributes are declared on it) and add it to ``STAGES`` below, after the stages it
``requires``: that one line is its whole registration. ``--stages`` takes these names; the order
here is the order they run in (and the datasheet's).
"""

from __future__ import annotations

from corpus_audit.errors import UsageError
from corpus_audit.transforms.base import Analysis, ReportContext, Table, TableSpec, find_spec
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


def table_spec(table: str) -> tuple[type[Analysis], TableSpec] | None:
    """The registered stage publishing ``table`` and its declaration (a fixed name wins over a
    ``{group}`` pattern: ``pronouns_by_language`` is not a group-by view); None when none does."""
    owners = {id(spec): stage for stage in STAGES.values() for spec in stage.TABLES}
    spec = find_spec((spec for stage in STAGES.values() for spec in stage.TABLES), table)
    return None if spec is None else (owners[id(spec)], spec)


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


__all__ = ["Analysis", "ReportContext", "STAGES", "Table", "TableSpec", "UsageError", "resolve_stages", "table_spec"]
