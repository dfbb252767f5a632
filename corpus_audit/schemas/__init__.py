"""JSON Schemas shipped with the package: ``summary.schema.json`` describes ``summary.json``.

Users' scripts can validate a run's summary against it (``jsonschema.validate(summary,
summary_schema())``); fields are only ever added, so a script written against it keeps working.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["SUMMARY_SCHEMA_FILE", "summary_schema"]

SUMMARY_SCHEMA_FILE = "summary.schema.json"


def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``summary.json``, read from the installed package."""
    return json.loads(resources.files(__name__).joinpath(SUMMARY_SCHEMA_FILE).read_text(encoding="utf-8"))
