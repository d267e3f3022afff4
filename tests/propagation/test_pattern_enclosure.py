"""The pattern-resolved enclosure: almost-sure ranges, coverage, and the CLI columns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.gaussian.activations import NAMES, get_activation
from nstheory.propagation import pattern_resolved as pr
from nstheory.propagation.model import attention_stack, mlp, transformer
from nstheory.propagation.recurrence import point_recurrence
from nstheory.stats import normal_quantile


@pytest.mark.parametrize("name", NAMES)
def test_second_moment_bound_bounds_the_mpmath_second_moment(name):
    # reference: the activation's own mpmath quadrature / closed form of E phi(U)^2; the bound
    # must hold at every q' <= q, so it is checked on a grid below each q
    act = get_activation(name, **({"coeffs": (1, -0.5, 0, 0.25)} if name == "polynomial"
                                  else {}))
    for q in (0.05, 1.0, 7.0):
        bound = act.second_moment_bound(q)
        for qq in (q / 20, q / 2, q):
            assert float(act.second_moment(qq, 15)) <= bound * (1 + 1e-12)


def test_relu_bound_is_exact():
    assert get_activation("relu").second_moment_bound(3.0) == 1.5
    assert float(get_activation("relu").second_moment(3.0, 20)) == pytest.approx(1.5, abs=1e-15)


@pytest.mark.parametrize("model", [
    attention_stack(3, "random", n_tokens=4, d=8),
    transformer(3, "random", n_tokens=3, d=16),
    transformer(2, "random", n_tokens=4, d=16, post_ln=True),
    transformer(2, "random", n_tokens=4, d=16, residual=False, layernorm=False, act="erf"),
])
def test_sampled_second_moments_never_exceed_the_bounds(model):
    # steep patterns (d = 8, 16 with sqrt(d) logit growth) push tokens together; the bounds
    # must hold for every sample, not on average
    bounds = pr.second_moment_bounds(model)
    seen = [0.0] * len(bounds)
    for bi, k in pr._block_states(model, 0.9, 4000, 1, 256, 4000):
        seen[bi] = max(seen[bi], float(np.diagonal(k, axis1=1, axis2=2).max()))
    assert all(s <= b for s, b in zip(seen, bounds, strict=True))


def test_bounds_without_attention_are_the_recurrence_values():
    # He ReLU MLP: every second moment is exactly 1, so the bound is attained
    bounds = pr.second_moment_bounds(mlp(3))
    pts = point_recurrence(mlp(3), 0.5)
    assert bounds == pytest.approx([p.Q for p in pts[1:]], rel=1e-11)


def test_coverage_at_a_known_value():
    # truth: layer 1 of a random-W attention stack is exact in the scalar rules with the
    # finite-d pattern moments (an independent quadrature route); delta = 0.2 promises
    # coverage >= 0.8 over seeds. The same seeds' naive +-1 SE intervals (coverage ~0.68) must
    # fail the same test -- the alternative this test has the power to reject (100 seeds:
    # P(naive coverage >= 0.8) ~ 0.005)
    model = attention_stack(1, "random", n_tokens=4, d=16)
    truth = point_recurrence(model, 0.9)[1].C
    hit = naive = 0
    for seed in range(100):
        (e,) = pr.pattern_resolved_enclosure(model, 0.9, samples=200, seed=seed, delta=0.2)
        hit += e.lo <= truth <= e.hi
        naive += abs(e.mean - truth) <= e.stderr
    assert hit >= 80 and naive < 80


def test_enclosure_is_wider_than_the_normal_interval_at_its_level():
    # sqrt(2 log(4 B / delta)) exceeds the normal quantile at level 1 - delta / B: the bound
    # never claims more than the normal approximation would
    model = attention_stack(2, "random", n_tokens=4, d=64)
    delta = 1e-3
    for e in pr.pattern_resolved_enclosure(model, 0.9, samples=5000, seed=2, delta=delta):
        z = normal_quantile(1 - delta / 2)
        assert e.hi - e.mean >= z * e.stderr and e.mean - e.lo >= z * e.stderr
        assert -e.bound <= e.lo < e.hi <= e.bound


def test_a_wrong_range_is_caught(monkeypatch):
    monkeypatch.setattr(pr, "second_moment_bounds", lambda model: [0.1] * len(model.blocks))
    with pytest.raises(NSTheoryError, match="almost-sure bound"):
        pr.pattern_resolved_enclosure(attention_stack(1, "random", n_tokens=4, d=16), 0.9,
                                      samples=100)


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, float("nan"), "x"])
def test_bad_delta_is_refused(delta):
    with pytest.raises(NSTheoryError, match="delta"):
        pr.pattern_resolved_enclosure(attention_stack(1, "random", n_tokens=4, d=16), 0.9,
                                      samples=10, delta=delta)


def test_activation_without_a_bound_raises():
    from nstheory.gaussian.activations import Activation

    with pytest.raises(NSTheoryError, match="second-moment bound"):
        Activation().second_moment_bound(1.0)


def test_cli_enclosure_columns_with_monte_carlo(capsys):
    assert main(["propagate", "--arch", "transformer", "--residual", "--layernorm", "--post-ln",
                 "--mode", "random", "--depth", "2", "--width", "32", "--rho", "0.9",
                 "--pattern-samples", "4000", "--pattern-delta", "1e-3", "--mc-samples", "400",
                 "--per-net", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"].startswith("transformer (post-LN, residual)")
    for x in out["layers"]:
        assert x["enclosure_lo"] < x["pattern_resolved_mean"] < x["enclosure_hi"]
        assert x["enclosure_delta"] == 1e-3 and x["tightness_enclosure"] > 0
        assert isinstance(x["enclosure_contains_mc"], bool)
    assert out["enclosure_all_contained"] == all(x["enclosure_contains_mc"]
                                                 for x in out["layers"])
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "1",
                 "--pattern-samples", "1000", "--mc-samples", "400", "--per-net", "20",
                 "--width", "32"]) == 0
    text = capsys.readouterr().out
    assert "enclosure [lo, hi] (p >= 1 - delta)" in text and "tight_e" in text


@pytest.mark.parametrize("bad", ["0", "1", "nan", "-1e-3"])
def test_cli_rejects_bad_pattern_delta(bad, capsys):
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "1",
                 "--pattern-delta", bad]) == 2
    assert "pattern-delta" in capsys.readouterr().err


def test_cli_post_ln_needs_a_residual_layernorm_transformer(capsys):
    assert main(["propagate", "--arch", "mlp", "--post-ln", "--depth", "1"]) == 2
    assert "post-LN" in capsys.readouterr().err


def test_many_tokens_are_refused_or_skipped_not_a_memory_error(capsys):
    # 4096 tokens: an 8192 x 8192 state per sample (was: a 5 GiB allocation, traceback)
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "1",
                 "--tokens", "4096"]) == 0
    assert "pattern-resolved route skipped" in capsys.readouterr().err
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "1",
                 "--tokens", "4096", "--pattern-samples", "10"]) == 2
    assert "at most 2000 tokens" in capsys.readouterr().err
    with pytest.raises(NSTheoryError, match="units of work"):
        pr.pattern_resolved_mc(attention_stack(2, "random", n_tokens=4, d=16), 0.9,
                               samples=10_000_000)


def test_chunks_shrink_with_the_state_and_keep_the_pooling(monkeypatch):
    # a tiny memory cap forces chunks of 12 (a multiple of the 4 pairs pooled per group)
    monkeypatch.setattr(pr, "CHUNK_ENTRIES", 1000)
    sizes = [k.shape[0] for bi, k in pr._block_states(
        attention_stack(1, "random", n_tokens=4, d=16), 0.9, 40, 0, 256, 20, 4)]
    assert sizes == [12, 12, 12, 4]
    (m,) = pr.pattern_resolved_mc(attention_stack(1, "random", n_tokens=4, d=16), 0.9,
                                  samples=40, chunk=20, normalised_per=4)
    assert m.n == 10
