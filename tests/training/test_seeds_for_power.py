"""The 'seeds that would decide' figure reported beside an underpowered permutation test: the
power of the same normal-approximation test, evaluated at that many seeds per arm, first
reaches 0.9 there."""

import math

import numpy as np
import pytest

from nstheory.claims import one_sided_power
from proofs_check.training_study import EFFECT_RATIO, _seeds_for_power


def _power(s, m):
    b, r = np.array(s["base"], float), np.array(s["reg"], float)
    se = math.sqrt(b.var(ddof=1) / m + r.var(ddof=1) / m)
    return one_sided_power(b.mean() * (1 - 1 / EFFECT_RATIO), se, 1.644854)


@pytest.mark.parametrize("s", [
    {"base": [625, 5550, 325, 10000, 1225], "reg": [850, 1275, 325, 10000, 975]},
    {"base": [4500, 5200, 3900, 4800], "reg": [3300, 3500, 3100, 3600]},
])
def test_power_first_reaches_09_at_the_reported_seeds(s):
    n = _seeds_for_power(s)
    assert _power(s, n) >= 0.9 > _power(s, n - 1)


def test_no_figure_without_spread_or_runs():
    assert _seeds_for_power({"base": [100], "reg": [100, 200]}) is None
    assert _seeds_for_power({"base": [100, 100], "reg": [100, 100]}) is None
