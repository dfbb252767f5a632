"""bench/ is put first on sys.path by its scripts: no file there may shadow a library they import
(a bench/tokenizers.py once hid Hugging Face's ``tokenizers`` from transformers in bench/toxicity.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_no_bench_module_shadows_an_installed_or_standard_module() -> None:
    shadowing = []
    for path in sorted(BENCH.glob("*.py")):
        name = path.stem
        if name in sys.stdlib_module_names:
            shadowing.append(f"{path.name} (standard library)")
            continue
        saved = sys.path[:]
        try:
            sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
            spec = importlib.util.find_spec(name)
        finally:
            sys.path[:] = saved
        if spec is not None:
            shadowing.append(f"{path.name} ({spec.origin})")
    assert not shadowing, f"bench modules shadowing importable modules: {shadowing}"
