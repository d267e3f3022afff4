"""Exercise checkers: right answers pass, classic mistakes are recognised, others are refused."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from nstheory import teach
from nstheory.errors import NSTheoryError

# Published values (O'Donnell, Analysis of Boolean Functions, ch. 1-2; Sheppard's formula;
# Cho & Saul's arc-cosine kernel), typed here as the independent reference.
PUBLISHED = {
    "fourier.top_coefficient_maj3": "-1/2",
    "fourier.influence_maj3": "1/2",
    "noise.stab_maj3": "13/32",
    "noise.sheppard_limit": "0.3333333333333333",
    "juntas.tail_maj5": "19/64",
    "gaussian.kappa0": str(mpmath.mpf(1) / (2 * mpmath.pi)),
    "gaussian.relu_h1": "1/2",
    "gaussian.sheppard": "0.3333333333333333",
    "attention.s2_half": "0.6666666666666667",
    "attention.s_limit": "1",
    "sensitivity.as_maj5": "15/8",
    "sensitivity.effective_correlation": str((Fraction(21, 40) * 113 - 1) / 112),
}


@pytest.mark.parametrize("eid", sorted(PUBLISHED))
def test_published_answers_are_right(eid):
    fb = teach.check(eid, PUBLISHED[eid])
    assert fb.correct, fb.message


@pytest.mark.parametrize("eid", sorted(teach.EXERCISES))
def test_mistakes_are_explained_and_nonsense_refused(eid):
    ex = teach.EXERCISES[eid]
    ref, _ = ex.solve()
    for mistake in ex.mistakes:
        wrong, why = mistake(ref)
        fb = teach.check(eid, wrong if isinstance(wrong, Fraction) else mpmath.nstr(wrong, 30))
        assert not fb.correct and why in fb.message
    fb = teach.check(eid, "12345/7")
    assert not fb.correct and "toolkit's answer" in fb.message


def test_fixed_point_refuses_the_linearisation():
    fb = teach.check("depth.fixed_point", mpmath.nstr(2 / (3 * mpmath.pi), 20))
    assert not fb.correct and "linearised" in fb.message
    assert teach.check("depth.fixed_point", "0.21723363").correct


def test_unknown_lesson():
    with pytest.raises(NSTheoryError):
        teach.exercises("nope")
