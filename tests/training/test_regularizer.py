"""The regularizer R = (-1)^S sum_i p_i(X) p_i(Y) and the noises it uses."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.errors import NSTheoryError
from nstheory.training.regularizer import (
    describe_noise,
    gaussian_embedding_noise,
    perturb_tokens,
    stability_term,
)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 12))
def test_range_with_s1(seed, C):
    g = torch.Generator().manual_seed(seed)
    px = torch.softmax(3 * torch.randn(16, C, generator=g), -1)
    py = torch.softmax(3 * torch.randn(16, C, generator=g), -1)
    r = float(stability_term(px, py, sign=1))
    assert -1.0 <= r <= 0.0
    assert float(stability_term(px, py, sign=0)) == pytest.approx(-r)


def test_minus_one_iff_same_one_hot():
    e = torch.eye(4)
    assert float(stability_term(e, e)) == -1.0
    assert float(stability_term(e, e.roll(1, 0))) == 0.0
    soft = torch.full((4, 4), 0.25)
    assert float(stability_term(soft, soft)) == pytest.approx(-0.25)


def test_gradients_flow_through_both_branches():
    lx = torch.randn(5, 7, requires_grad=True)
    ly = torch.randn(5, 7, requires_grad=True)
    r = stability_term(torch.softmax(lx, -1), torch.softmax(ly, -1))
    gx, gy = torch.autograd.grad(r, (lx, ly))
    assert torch.isfinite(gx).all() and torch.isfinite(gy).all()
    assert gx.abs().sum() > 0 and gy.abs().sum() > 0


def test_bad_inputs_are_named():
    p = torch.full((2, 3), 1 / 3)
    with pytest.raises(NSTheoryError, match="direction S"):
        stability_term(p, p, sign=2)
    with pytest.raises(NSTheoryError, match="shapes differ"):
        stability_term(p, p[:, :2])
    with pytest.raises(NSTheoryError, match="reg_noise"):
        describe_noise(0.25, "uniform", 113)


def test_token_noise_touches_only_noise_positions_and_keeps_rate():
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 113, (20000, 3), generator=g)
    t[:, 2] = 113
    y = perturb_tokens(t, 0.25, "token-excl", 113, positions=[0, 1], generator=g)
    assert torch.equal(y[:, 2], t[:, 2])
    changed = (y[:, :2] != t[:, :2]).double().mean().item()
    # with exclusion, a token changes with probability 1 - q = 0.375 exactly
    se = math.sqrt(0.375 * 0.625 / 40000)
    assert abs(changed - 0.375) < 5 * se
    assert describe_noise(0.25, "token", 113)["rho_eff"] == 0.625


def test_gaussian_embedding_noise():
    e = torch.randn(3, 4, 5)
    assert torch.equal(gaussian_embedding_noise(e, 1.0, 1.0), e)
    y = gaussian_embedding_noise(e, 0.5, 1.0, mask=[True, False, True, False])
    assert torch.equal(y[:, 1], e[:, 1]) and not torch.equal(y[:, 0], e[:, 0])
