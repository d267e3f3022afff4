"""The Monte Carlo intervals of `propagate` are Student-t over the networks whose averages give
the standard error (a normal quantile with 2 networks covered ~70% at "95%" and ~81% at
"99.9%"), and the number of networks is reported."""

from __future__ import annotations

import pytest

from nstheory.propagation.compare import layer_table
from nstheory.propagation.model import mlp
from nstheory.stats import t_quantile


def test_containment_and_tightness_use_student_t_over_the_networks():
    rows = layer_table(mlp(2), 0.5, mc_samples=200, per_net=100, width=64, seed=3)
    for r in rows:
        assert r.mc_networks == 2 and r.mc_n == 200
        crit = t_quantile(0.999, 1)                       # 636.6, not 3.29
        assert r.contained == (abs(r.z) <= crit)
        width = float(r.hi) - float(r.lo)
        assert r.tightness == pytest.approx(width / (2 * crit * r.mc_stderr), rel=1e-12)


def test_two_network_coverage_of_the_student_t_interval():
    # the per-network averages are what the standard error is over: with 2 of them the
    # Student-t 95% interval covers at its level where 1.96 covers ~70% (named alternative,
    # > 20 standard errors of the 1000-run coverage below the band checked)
    import numpy as np

    rng = np.random.default_rng(1)
    cover_t = cover_z = 0
    reps = 1000
    for _ in range(reps):
        nets = rng.standard_normal(2)
        m, se = nets.mean(), nets.std(ddof=1) / np.sqrt(2)
        cover_t += abs(m) <= t_quantile(0.95, 1) * se
        cover_z += abs(m) <= 1.96 * se
    assert 0.93 <= cover_t / reps <= 0.97 and cover_z / reps < 0.75
