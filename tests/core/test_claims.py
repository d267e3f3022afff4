"""The claim registry: statuses, expectations, result constructors and the verify runner."""

from __future__ import annotations

from fractions import Fraction

import pytest
from flint import arb

from nstheory.claims import (
    Registry,
    Status,
    compare_digits,
    compare_enclosure,
    compare_exact,
    compare_holds,
    compare_z,
    run_claim,
)
from nstheory.errors import NSTheoryError


def _claim(reg, expect="holds", results=()):
    kind = "our-reading" if expect == "refuted" else None
    c = reg.claim(f"t.c{len(reg.claims)}", "s", latex="x", provenance="new", expect=expect,
                  refutation_kind=kind)
    for i, r in enumerate(results):
        c.check("precise", name=f"k{i}")(lambda r=r: r)
    return c


def test_expected_holds_verdicts():
    reg = Registry()
    ok = compare_exact("a", 1, "b", 1)
    bad = compare_exact("a", 1, "b", 2)
    assert run_claim(_claim(reg, results=[ok, ok])).verdict == "verified"
    o = run_claim(_claim(reg, results=[ok, bad]))
    assert o.status == Status.REFUTED and o.as_expected is False


def test_expected_refuted_claim_passes_only_when_refuted():
    reg = Registry()
    bad = compare_exact("printed", 1, "truth", 2)
    ok = compare_exact("a", 1, "b", 1)
    o = run_claim(_claim(reg, expect="refuted", results=[bad]))
    assert o.as_expected is True and o.verdict == "refuted (as expected)"
    o = run_claim(_claim(reg, expect="refuted", results=[ok]))
    assert o.as_expected is False


def test_exceptions_become_errors_and_fail():
    reg = Registry()
    c = reg.claim("t.err", "s", latex="x", provenance="new")

    @c.check("symbolic")
    def _():
        raise RuntimeError("boom")

    o = run_claim(c)
    # an error is no evidence either way: not a contradiction (verify counts and fails it
    # separately)
    assert o.status == Status.ERROR and o.as_expected is None and o.verdict == "ERROR"
    assert "boom" in o.results[0].note and o.results[0].seconds >= 0


def test_inconclusive_is_neither():
    reg = Registry()
    o = run_claim(_claim(reg, results=[compare_holds(True, [], inconclusive=True)]))
    assert o.as_expected is None


def test_registry_rejects_bad_ids_and_provenance():
    reg = Registry()
    reg.claim("a.b", "s", latex="x", provenance="new")
    with pytest.raises(NSTheoryError, match="twice"):
        reg.claim("a.b", "s", latex="x", provenance="new")
    with pytest.raises(NSTheoryError, match="dotted"):
        reg.claim("nodot", "s", latex="x", provenance="new")
    with pytest.raises(NSTheoryError, match="provenance"):
        reg.claim("a.c", "s", latex="x", provenance="blog")
    with pytest.raises(NSTheoryError, match="reference"):
        reg.claim("a.d", "s", latex="x", provenance="paper")


def test_select_globs_and_fast():
    reg = Registry()
    reg.claim("x.one", "s", latex="x", provenance="new")
    reg.claim("x.two", "s", latex="x", provenance="new", fast=False)
    reg.claim("y.one", "s", latex="x", provenance="new")
    assert [c.id for c in reg.select(["x.*"])] == ["x.one", "x.two"]
    assert [c.id for c in reg.select(["x.*"], fast=True)] == ["x.one"]


def test_compare_digits_counts_agreement():
    r = compare_digits("a", "1.000000000001", "b", "1", min_digits=11)
    assert r.status == Status.VERIFIED and 11.9 < r.digits < 12.1
    assert compare_digits("a", "1.001", "b", "1", min_digits=5).status == Status.REFUTED


def test_compare_enclosure_contains_and_excludes():
    third = arb(1) / 3
    assert compare_enclosure("b", third, "v", Fraction(1, 3)).status == Status.VERIFIED
    assert compare_enclosure("b", third, "v", "0.3333333").status == Status.REFUTED


def test_compare_z():
    assert compare_z("mc", 1.0, 0.1, 100, "t", 1.35).status == Status.VERIFIED
    r = compare_z("mc", 1.0, 0.1, 100, "t", 1.5)
    assert r.status == Status.REFUTED and r.z == pytest.approx(-5.0)
    assert compare_z("mc", 1.0, 0.0, 100, "t", 1.0).status == Status.ERROR


def test_compare_exact_sympy():
    import sympy as sp

    x = sp.Symbol("x")
    assert compare_exact("a", sp.sin(x) ** 2 + sp.cos(x) ** 2, "b", 1).status == Status.VERIFIED
