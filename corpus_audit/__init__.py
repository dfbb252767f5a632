"""corpus-audit: audit an LLM pretraining corpus (Llama 2 §4.1 and beyond) on Apache Beam.

``corpus_audit.audit(inputs, output, ...)`` runs an audit and ``corpus_audit.load_run(dir)``
opens a finished one (`corpus_audit.api`). They are imported on first use, so
``import corpus_audit`` (and ``corpus_audit.__version__``) stays cheap: no Beam, no pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AuditResult", "__version__", "audit", "load_run"]

if TYPE_CHECKING:
    from corpus_audit.api import AuditResult, audit, load_run

_API_NAMES = ("AuditResult", "audit", "load_run")


def __getattr__(name: str) -> Any:
    """The API's names, imported from `corpus_audit.api` when first asked for."""
    if name in _API_NAMES:
        from corpus_audit import api

        return getattr(api, name)
    raise AttributeError(f"module 'corpus_audit' has no attribute {name!r}")
