"""The analysis block stored in each training study is what the current analysis code gives
for its runs (the claims re-analyse the runs; the stored block is what a reader of the file
sees, and it kept the percentile-bootstrap intervals and normal-quantile means' intervals for
months after both were replaced)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nstheory.store import load_json
from nstheory.training.study import analyze_study

DATA = Path(__file__).resolve().parents[2] / "proofs_check" / "data"
STUDIES = sorted(DATA.glob("training_*.json"))


def _same(a, b, where="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=0), (where, a, b)
    else:
        assert a == b, (where, a, b)


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_stored_analysis_is_current(path):
    st = load_json(path)
    metrics = tuple(k for k in st["analysis"]["speedup"] if k.startswith("steps_to"))
    _same(analyze_study(st["runs"], metrics=metrics), st["analysis"])
