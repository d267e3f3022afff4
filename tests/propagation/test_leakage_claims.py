"""The claim checks on the held-out finite-width studies of the identity pattern's leakage
correction and the pattern-resolved mean field (proofs_check.propagation_finite_width_blocks)."""

from __future__ import annotations

import pytest

import proofs_check.propagation_finite_width_blocks as B


@pytest.mark.parametrize("pairs,status", [
    # four misses: power 1 - 2^-4 = 0.94; the |z| <= 4 layer does not count
    ([(24.0, -3.0), (5.0, 1.0), (-9.0, 2.0), (6.0, 5.9), (1.0, 3.0)], "verified"),
    ([(24.0, -3.0), (5.0, -6.0), (-9.0, 2.0), (6.0, 5.9)], "refuted"),  # one overshoots
    ([(24.0, -3.0), (5.0, 1.0)], "inconclusive"),   # two misses: power 0.75 < 0.9
    ([(1.0, 0.5), (-2.0, 3.9)], "inconclusive"),    # nothing to shrink
])
def test_misses_shrink_decides(pairs, status):
    res = B.misses_shrink(pairs, "layers", "the rule", "after it", [])
    assert str(res.status) == status
    missed = sum(abs(a) > B.ZMAX for a, _ in pairs)
    assert res.power == (1 - 0.5 ** missed if missed else 0.0)


def _check(claim_id):
    from nstheory.claims import REGISTRY, run_check

    (chk,) = REGISTRY.claims[claim_id].checks
    return run_check(chk)


@pytest.mark.parametrize("claim_id", [
    "propagation.finite_width.transformer_identity_leakage",
    "propagation.finite_width.transformer_identity_leakage_reduces_miss",
    "propagation.finite_width.transformer_identity_leakage_gaussian_tokens",
    "propagation.finite_width.random_attention_pattern_resolved",
    "propagation.finite_width.random_attention_pattern_resolved_reduces_miss",
])
def test_checks_without_their_stored_study(tmp_path, monkeypatch, claim_id):
    monkeypatch.setitem(B.LEAK_DATA, "A", tmp_path / "a.json")
    monkeypatch.setitem(B.LEAK_DATA, "B", tmp_path / "b.json")
    monkeypatch.setattr(B, "RANDOM_B_DATA", tmp_path / "r.json")
    B._leak_tables.cache_clear()
    B._pattern_resolved_table.cache_clear()
    try:
        res = _check(claim_id)
    finally:
        B._leak_tables.cache_clear()
        B._pattern_resolved_table.cache_clear()
    assert str(res.status) == "inconclusive" and "absent" in str(res.quantities)
