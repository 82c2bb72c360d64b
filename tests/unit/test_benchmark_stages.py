"""The stage profile (``benchmarks/run.py --profile``) wraps functions by name: each must still exist, and be of
the kind it is timed as, or its stage would silently read zero (as it did once when validation began handing
over shares instead of one list)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import Any

import pytest

from tests.support import ROOT


def _stages() -> Any:
    spec = importlib.util.spec_from_file_location("benchmark_stages", ROOT / "benchmarks" / "stages.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STAGES


KINDS = {"generator": inspect.isgeneratorfunction, "coroutine": inspect.iscoroutinefunction}


@pytest.mark.parametrize(("stage", "module", "name", "kind"), _stages())
def test_each_stage_names_a_function_of_its_kind(stage: str, module: str, name: str, kind: str) -> None:
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    assert callable(target), stage
    for other, check in KINDS.items():
        assert check(target) is (kind == other), f"{stage}: {module}.{name} is not timed as what it is"
