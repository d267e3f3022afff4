"""Control variates, antithetic pairs, interval coverage, and worker-independent merging."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import eval_hermitenorm

from nstheory.executor import get_executor
from nstheory.montecarlo.chunks import _demo_task, chunk_seeds, run_chunked
from nstheory.montecarlo.estimators import flip_rate
from nstheory.montecarlo.variance import (
    mlp_parts,
    relu_hermite_coefficients,
    relu_map_mc,
    relu_mlp_cv_mean,
    relu_mlp_stability,
    truncation_stability,
)
from nstheory.stats import Moments

torch.set_num_threads(1)


def kappa_relu(r):
    r = np.clip(r, -1, 1)
    return (np.sqrt(1 - r * r) + r * (np.pi - np.arccos(r))) / (2 * np.pi)


def test_hermite_coefficients_by_quadrature():
    c = relu_hermite_coefficients(8)
    for k in range(9):
        val = integrate.quad(lambda x, k=k: x * eval_hermitenorm(k, x) * math.exp(-x * x / 2),
                             0, 40)[0] / math.sqrt(2 * math.pi * math.factorial(k))
        assert c[k] == pytest.approx(val, abs=1e-12)
    # Mehler: sum of all c_k^2 r^k converges to the ReLU map
    assert truncation_stability(60, 0.5) == pytest.approx(float(kappa_relu(0.5)), abs=1e-6)


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.5, 0.95])
@pytest.mark.parametrize("anti,deg", [(False, None), (True, None), (False, 1), (True, 4)])
def test_relu_map_unbiased(rho, anti, deg):
    r = relu_map_mc(rho, 300_000, generator=torch.Generator().manual_seed(11), antithetic=anti,
                    cv_degree=deg, dtype=torch.float64)
    assert abs(r.reduced.z(float(kappa_relu(rho)))) < 4.5
    if anti or (deg and rho >= 0):
        assert r.vrf > 1.5
    if deg:  # the pilot coefficient never makes it much worse than plain
        assert r.vrf > 0.9


def test_unit_coefficient_cv_can_hurt_at_negative_rho():
    # the finding documented in variance.py: beta = 1 inflates the variance at rho = -0.9
    g = torch.Generator().manual_seed(4)
    naive = relu_map_mc(-0.9, 200_000, generator=g, cv_degree=1, cv_beta=1.0)
    pilot = relu_map_mc(-0.9, 200_000, generator=g, cv_degree=1)
    assert naive.vrf < 0.1 < 0.9 < pilot.vrf
    assert abs(naive.reduced.z(float(kappa_relu(-0.9)))) < 4.5  # still unbiased


def test_relu_mlp_control_variate_exact_and_vrf():
    g = torch.Generator().manual_seed(0)
    d, m, rho = 10, 32, 0.5
    net = torch.nn.Sequential(torch.nn.Linear(d, m, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(m, 1, bias=False)).double()
    W, v = mlp_parts(net)
    # independent reference: arc-cosine kernel for every pair of units
    Wn = W.numpy()
    nr = np.linalg.norm(Wn, axis=1)
    cos = (Wn @ Wn.T) / np.outer(nr, nr)
    a = v.numpy() * nr
    exact = float(a @ kappa_relu(rho * cos) @ a)
    r = relu_mlp_stability(W, v, rho, 40_000, generator=g, cv_degree=4)
    assert abs(r.reduced.z(exact)) < 4
    assert abs(r.plain.z(exact)) < 4
    assert r.vrf >= 10
    # the CV's closed form against a direct sample mean of the CV itself
    assert relu_mlp_cv_mean(W, v, rho, 60) == pytest.approx(exact, rel=1e-5)


def test_clt_interval_coverage_95_pm_2():
    """2000 replicates of a 400-draw estimate: the 95% CLT interval covers the truth 93-97%."""
    rho, truth, reps = 0.5, float(kappa_relu(0.5)), 2000
    g = torch.Generator().manual_seed(20260)
    hits = 0
    for _ in range(reps):
        r = relu_map_mc(rho, 400, generator=g, dtype=torch.float64)
        lo, hi = r.plain.ci()
        hits += lo <= truth <= hi
    cover = hits / reps
    assert 0.93 <= cover <= 0.97, cover


def test_clopper_pearson_coverage_at_least_nominal():
    g = torch.Generator().manual_seed(5)
    p = 0.1  # flip probability of a perturbation that flips with probability p
    x = torch.zeros(60, 1)

    def pert(b, gen):
        return (torch.rand(b.shape, generator=gen) < p).float()

    hits = 0
    for _ in range(600):
        fr = flip_rate(lambda b: b[:, 0].long(), x, pert, generator=g)
        lo, hi = fr.ci
        hits += lo <= p <= hi
    assert hits / 600 >= 0.93  # Clopper-Pearson is conservative


def test_chunk_seeds_are_stable():
    assert chunk_seeds(1, 2) == chunk_seeds(1, 2)
    assert chunk_seeds(1, 2) != chunk_seeds(2, 2)


def _relu_chunk(index: int, seed: int):
    from nstheory.montecarlo.chunks import chunk_generator

    return relu_map_mc(0.3, 5000, generator=chunk_generator(seed), antithetic=True, cv_degree=2)


def test_serial_and_process_merge_bit_identically():
    serial = run_chunked(_relu_chunk, 99, 6, get_executor("serial"))
    proc = run_chunked(_relu_chunk, 99, 6, get_executor("process", workers=2))
    assert serial.reduced == proc.reduced and serial.plain == proc.plain
    demo = run_chunked(functools.partial(_demo_task), 1, 3)
    assert isinstance(demo, Moments) and demo.n == 300
