"""The copy chain: d -> infinity law of random hard-argmax attention stacks."""

from __future__ import annotations

import math

import pytest

from nstheory.attention.certified import s_n_certified
from nstheory.attention.copy_chain import copy_chain_stability
from nstheory.errors import NSTheoryError


def test_first_layer_is_theorem_5_3():
    # alternative: an error of 0.01 in layer 1; stderr ~1e-3 at 20000 samples -> power ~1
    m = copy_chain_stability(4, 0.9, 1, gamma2=0.9, samples=20000, seed=3)[0]
    exact = 0.9 * 0.9 * float(s_n_certified(4, 0.9 * 0.9, digits=12).mid())
    assert abs(m.mean - exact) <= 4 * m.stderr and m.stderr < 2.5e-3


def test_second_layer_is_not_the_s_n_recurrence():
    # the point recurrence's s_n(r^2), t = 1/n value at layer 2 is 0.2845; the chain is ~0.359
    m = copy_chain_stability(4, 0.9, 2, gamma2=0.9, samples=20000, seed=4)[1]
    assert abs(m.mean - 0.28447) > 10 * m.stderr


def test_input_checks():
    with pytest.raises(NSTheoryError):
        copy_chain_stability(1, 0.5, 2)
    with pytest.raises(NSTheoryError):
        copy_chain_stability(4, 1.5, 2)
    with pytest.raises(NSTheoryError):
        copy_chain_stability(4, 0.5, 0)
    with pytest.raises(NSTheoryError):
        copy_chain_stability(4, 0.5, 2, gamma2=math.nan)


@pytest.mark.slow
def test_matches_torch_monte_carlo_of_random_attention_stacks():
    from nstheory.propagation.model import attention_stack
    from nstheory.propagation.recurrence import point_recurrence
    from nstheory.propagation.torch_model import monte_carlo

    model = attention_stack(3, "random", gamma2=0.9)
    chain = copy_chain_stability(4, 0.9, 3, gamma2=0.9, samples=200_000, seed=0)
    torch_mc = monte_carlo(model, 0.9, width=128, n_nets=24, per_net=50, seed=5)
    point = point_recurrence(model, 0.9)
    for layer, (a, b) in enumerate(zip(chain, torch_mc, strict=True), start=1):
        se = math.hypot(a.stderr, b.stderr)
        assert abs(a.mean - b.mean) <= 4 * se, (layer, a.mean, b.mean, se)
        if layer >= 2:  # the s_n(r^2) recurrence misses by > 0.05 (power ~1 at se ~ 0.007)
            assert abs(point[layer].C - b.mean) > 4 * se
