"""Claim checks that a mutation audit found unable to fail, each run against a deliberately wrong
library value: the check must stop verifying. (Before the fixes every one of these verified:
the two sides of the comparison shared the mutated code, the expected value was built inside
the code under test, or the comparison truncated the error away.)"""

from __future__ import annotations

from fractions import Fraction

import pytest

from nstheory.claims import run_check


def _check(claim_id: str, name: str):
    from nstheory.verify import load_claims

    c = load_claims().claims[claim_id]
    return next(k for k in c.checks if k.name == name)


def _status(claim_id: str, name: str) -> str:
    return str(run_check(_check(claim_id, name)).status)


def test_paper_recurrence_root_does_not_share_the_iterated_kappa(monkeypatch):
    from nstheory.gaussian import activations

    assert _status("propagation.mlp.paper_recurrence_floor", "iteration_vs_root") == "verified"
    raw = activations.Activation.raw
    monkeypatch.setattr(activations.Activation, "raw",
                        lambda self, *a, **k: raw(self, *a, **k) * 1.05)
    assert _status("propagation.mlp.paper_recurrence_floor", "iteration_vs_root") != "verified"


def test_token_noise_monte_carlo_has_its_own_theory(monkeypatch):
    import nstheory.noise as noise

    resample = noise.resample_tokens
    monkeypatch.setattr(noise, "resample_tokens",
                        lambda x, q, *a, **k: resample(x, q * 1.05, *a, **k))
    assert _status("conventions.token_noise.regularizer_rho_eff",
                   "sampled_correlation") != "verified"


def test_linear_attention_ntk_is_compared_with_a_kernel_built_in_the_check(monkeypatch):
    import nstheory.spectrum.transformer as tr

    derive = tr.derive_ntk

    def wrong(n):
        d = dict(derive(n))
        d["ntk"] = d["ntk"] * Fraction(1001, 1000)
        return d

    monkeypatch.setattr(tr, "derive_ntk", wrong)
    assert _status("spectrum.transformer.linear_attention_ntk", "sympy_derivation_n2") != \
        "verified"


def test_parity_total_influence_is_compared_exactly(monkeypatch):
    import nstheory.boolean.analysis as analysis

    ti = analysis.total_influence
    monkeypatch.setattr(analysis, "total_influence", lambda f: ti(f) + Fraction(1, 2))
    assert _status("boolean.parity.stability", "fwht_polynomial") != "verified"


@pytest.mark.parametrize("factor", [0.90, -1.0])
def test_gap_exponent_needs_a_fitting_shrinking_gap(monkeypatch, factor):
    # a mean field 10% off (a constant offset the power law cannot fit: chi2 20.8 / 7) or a
    # sign-flipped gap (p < 0) verified before
    import dataclasses

    import nstheory.propagation.recurrence as rec

    point = rec.point_recurrence

    def wrong(*a, **k):
        return [dataclasses.replace(s, C=s.C * factor) if i else s
                for i, s in enumerate(point(*a, **k))]

    monkeypatch.setattr(rec, "point_recurrence", wrong)
    assert _status("propagation.finite_width.random_attention_gap_order",
                   "gap_exponent_widths_32_512") != "verified"


@pytest.mark.parametrize(("module", "name", "wrong", "claim_id", "check"), [
    # one-sided inequalities passed an overstated sensitivity or a negated tail: the equality
    # cases (dictator, a parity) now catch them
    ("nstheory.boolean.analysis", "average_sensitivity", lambda v: v * Fraction(1001, 1000),
     "boolean.fourier.ns_influence_bound", "pairs_and_flips"),
    ("nstheory.boolean.analysis", "tail_weight", lambda v: -v,
     "boolean.fourier.markov_tail", "fwht_weights"),
    ("nstheory.boolean.analysis", "max_sensitivity", lambda v: v + 1,
     "boolean.sensitivity.degree_bounds", "zoo_fwht"),
    # the OU ratio is blind to h_5's sign and scale: its value is checked against a typed one
    ("nstheory.gaussian.hermite", "hermite_values", lambda v: [-x for x in v],
     "gaussian.hermite.mehler", "ou_quadrature"),
])
def test_inequality_and_ratio_checks_see_wrong_values(monkeypatch, module, name, wrong,
                                                      claim_id, check):
    import importlib

    mod = importlib.import_module(module)
    assert _status(claim_id, check) == "verified"
    f = getattr(mod, name)
    monkeypatch.setattr(mod, name, lambda *a, **k: wrong(f(*a, **k)))
    assert _status(claim_id, check) != "verified"
