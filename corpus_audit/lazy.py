"""Modules imported on first use, so that importing corpus-audit stays cheap (issue 17).

``pa = lazy_module("pyarrow")`` at the top of a module costs nothing; the first ``pa.table``
(or any attribute) imports pyarrow through the normal import system, so ``sys.modules``, the
import lock and every other ``import pyarrow`` behave as usual. `LazyMapping` does the same
for a module-level table whose values need such a module. ``run --help`` and the stage
modules thereby load without Apache Beam, pyarrow or torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Callable, Iterator, TypeVar

__all__ = ["LazyMapping", "LazyModule", "lazy_module"]

K = TypeVar("K")
V = TypeVar("V")


class LazyModule:
    """Stands for the module ``name`` and imports it on the first attribute access."""

    __slots__ = ("_lazy_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_lazy_name", name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._lazy_name), attribute)

    def __reduce__(self) -> tuple:
        return (LazyModule, (self._lazy_name,))

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name!r}>"


def lazy_module(name: str) -> "ModuleType | LazyModule":
    """The module ``name`` when it is imported already, else a `LazyModule` for it."""
    import sys

    module = sys.modules.get(name)
    return module if module is not None else LazyModule(name)


class LazyMapping(Mapping[K, V]):
    """A read-only mapping built by ``factory()`` on first use (e.g. column → Arrow type,
    whose values need pyarrow)."""

    def __init__(self, factory: Callable[[], Mapping[K, V]]) -> None:
        self._factory = factory
        self._mapping: Mapping[K, V] | None = None

    def _built(self) -> Mapping[K, V]:
        if self._mapping is None:
            self._mapping = dict(self._factory())
        return self._mapping

    def __getitem__(self, key: K) -> V:
        return self._built()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())
