"""Attention interval rules: certified s_n for every n, free constraints, reported semantics."""

from __future__ import annotations

import json
import math

import pytest
from flint import arb

from nstheory.attention.certified import s_n_certified
from nstheory.cli import main
from nstheory.numerics import arb_precision
from nstheory.propagation.intervals import bounds, interval_propagation
from nstheory.propagation.model import attention_stack, transformer


@pytest.mark.parametrize("n", [4, 8])
def test_first_random_layer_is_the_certified_s_n_limit(n):
    # layer 1: C' = gamma2 * s_n(rho^2) * rho exactly (D = 0), now certified for n >= 4 too
    st = interval_propagation(attention_stack(1, "random", gamma2=0.9, n_tokens=n), 0.9)
    s = s_n_certified(n, 0.9 * 0.9, digits=15)  # the float 0.81 = (float 0.9)^2 up to 1 ulp
    with arb_precision(bits=120):
        expected = arb(0.9) * arb(0.9) * s
        assert st[1].C.overlaps(expected)
    lo, hi = bounds(st[1].C, 17)
    assert float(hi) - float(lo) < 1e-12  # before: [0, 0.81] for n >= 4


def test_intervals_respect_cauchy_schwarz_and_signs():
    for model in (attention_stack(6, "random", gamma2=0.9),
                  transformer(4, "random", gamma2=0.9),
                  transformer(4, "random", gamma2=0.9, post_ln=True),
                  transformer(3, "random", gamma2=0.9, residual=False, layernorm=False)):
        for st in interval_propagation(model, 0.9)[1:]:
            # arb stores a radius with a 30-bit mantissa: wide balls round out by ~2^-30 x width
            q_hi = float(st.Q.upper()) * (1 + 1e-8)
            assert float(st.Q.lower()) >= 0
            for x in (st.C, st.D, st.P):
                assert -q_hi <= float(x.lower()) and float(x.upper()) <= q_hi
            assert float(st.M.upper()) ** 2 <= q_hi * (1 + 1e-12)


def test_any_pattern_lower_bound_is_not_below_zero_by_more_than_rounding():
    st = interval_propagation(attention_stack(3, "random", gamma2=0.9), 0.9)
    # without the free constraints the any-pattern hull reached -2e-9; C >= 0 is not claimed,
    # but |C| <= Q is: the lower end may not pass -Q
    assert float(st[3].C.lower()) >= -float(st[3].Q.upper())


def test_cli_reports_slack_and_semantics(capsys):
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "2",
                 "--rho", "0.9", "--gamma2", "0.9", "--pattern-samples", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pattern_slack"] == 0.0
    assert "head dimension d = 256" in out["semantics"] and "moment closure" in out["semantics"]
    assert out["pattern_moments"][0]["d"] == 256 and out["pattern_moments"][0]["w"] < 1
    assert main(["propagate", "--arch", "attention", "--mode", "random", "--depth", "2",
                 "--rho", "0.9", "--gamma2", "0.9", "--pattern-samples", "0"]) == 0
    text = capsys.readouterr().out
    # full outward-rounded decimal strings, exponent kept
    row2 = next(line for line in text.splitlines() if line.strip().startswith("2 "))
    lo = row2.split("[")[1].split(",")[0].strip()
    assert float(lo) == float(out["layers"][1]["lo"])


@pytest.mark.parametrize("bad", ["nan", "-0.1", "1.5", "inf"])
def test_cli_rejects_bad_slack(bad, capsys):
    assert main(["propagate", "--arch", "attention", "--depth", "1", "--pattern-slack",
                 bad]) == 2
    assert "--pattern-slack" in capsys.readouterr().err


def test_slack_widens_but_still_contains_the_limit():
    a = interval_propagation(attention_stack(2, "random", gamma2=0.9), 0.7)[1].C
    b = interval_propagation(attention_stack(2, "random", gamma2=0.9, pattern_slack=0.05),
                             0.7)[1].C
    assert b.contains(a) and float(b.rad()) > float(a.rad())
    assert not math.isnan(float(b.mid()))


def test_hard_argmax_limit_is_the_large_d_limit_of_the_finite_d_rule():
    # After the first random-W layer the tokens' cross moments D, P are nonzero and the logit
    # correlations are r_s = C (C - D) / (Q (Q - P)), r_t = D (C - D) / (...), r_t2 = P / Q.
    # The d = None rule must be the d -> infinity limit of the finite-d softmax route (a
    # different computation: quadrature of the softmax pattern at the layer's d); it used
    # s_n(((C - D) / (Q - P))^2) and t = t2 = 1/n (0.3512 instead of 0.3590 at layer 2).
    from nstheory.propagation.model import Attention, Model
    from nstheory.propagation.recurrence import point_recurrence

    limit = point_recurrence(attention_stack(3, "random", 1.0, 4), 0.9)
    large = Model(tuple((Attention("random", 1.0, d=10**6, scale="none"),) for _ in range(3)),
                  n_tokens=4)
    finite = point_recurrence(large, 0.9)
    for a, b in zip(limit[1:], finite[1:], strict=True):
        assert abs(a.C - b.C) < 1e-5 and abs(a.D - b.D) < 1e-5, (a, b)
    mp = point_recurrence(attention_stack(3, "random", 1.0, 4), 0.9, backend="mpmath")
    assert abs(float(mp[3].C) - limit[3].C) < 1e-13


@pytest.mark.parametrize("kw", [{"arch": "transformer"}, {"arch": "attention",
                                                          "layernorm": True}])
def test_full_pattern_slack_keeps_the_self_weight_at_least_one_over_n(kw):
    # slack 1 ("any pattern") let w reach 0, Q reach 0 and the activation / LayerNorm divide
    # by it (NaN balls, an error); every softmax row has w >= 1/n
    from nstheory.propagation.model import transformer as tf

    if kw["arch"] == "transformer":
        model = tf(2, residual=False, layernorm=False, pattern_slack=1.0)
    else:
        model = attention_stack(2, layernorm=True, pattern_slack=1.0)
    states = interval_propagation(model, 0.9)
    for st in states[1:]:
        lo, hi = bounds(st.C, 17)
        assert math.isfinite(float(lo)) and math.isfinite(float(hi)) and float(lo) < float(hi)
