"""The identity attention pattern's leakage correction (nstheory.propagation.identity_leakage),
its table columns and its command-line output."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json

import numpy as np
import pytest

from nstheory.errors import NSTheoryError
from nstheory.propagation.identity_leakage import (
    has_identity_attention,
    identity_leakage,
    wishart_gram,
)
from nstheory.propagation.model import attention_stack, build, mlp


def _one_layer(n: int, scale: str):
    m = attention_stack(1, "identity", n_tokens=n)
    return dataclasses.replace(m, blocks=(tuple(dataclasses.replace(x, scale=scale)
                                                for x in m.blocks[0]),))


@pytest.mark.parametrize("n,d,rho,scale", [(2, 1, 0.5, "sqrt"), (3, 2, 0.9, "none"),
                                           (4, 16, 0.5, "sqrt")])
def test_first_layer_leakage_matches_the_exact_finite_d_stability(n, d, rho, scale):
    # One identity-pattern layer on i.i.d. Gaussian tokens: with mixing, C is the raw Stab of
    # softmax attention at head dimension d; without, C = rho. The deterministic quadrature of
    # nstheory.attention.identity_finite_d (rotation average + Bartlett query pair + Laplace
    # factorisation; no sampling) gives the first, so the sampled leakage must be Stab_d - rho.
    # d = 1, 2 exercise the direct-draw path (d < 2n), d = 16 the Bartlett factor.
    from nstheory.attention.identity_finite_d import stab_identity_finite_d

    (row,) = identity_leakage(_one_layer(n, scale), rho, d, samples=200_000, seed=2)
    exact = stab_identity_finite_d(n, d, rho, scale).value - rho
    # measured standard errors at 200 000 samples: 8.7e-4, 5.5e-4, 5.6e-5; the tolerance is
    # fixed at about five of the largest per path, and the alternative (no leakage: 0) lies
    # more than twice the tolerance away in every case
    tol = 4.5e-3 if d < 2 * n else 3e-4
    assert abs(row.raw.mean - exact) < tol, (row.raw.mean, exact)
    assert abs(exact) > 2 * tol


def test_leakage_vanishes_with_width_and_grows_with_depth():
    model = build("transformer", 6, residual=False, layernorm=True, mode="identity",
                  n_tokens=4)
    wide = identity_leakage(model, 0.9, 4096, samples=500)
    assert max(abs(r.normalised.mean) for r in wide) < 1e-4  # e^{-sqrt(N)(1 - K_ij)}, N = 4096
    narrow = identity_leakage(model, 0.9, 64, samples=2000)
    off = [r.offdiag_weight for r in narrow]
    assert off == sorted(off) and off[-1] > 0.3  # the tokens' correlation grows with depth
    assert narrow[-1].normalised.mean > 0.01      # mixed tokens are more alike: more stable


def test_paired_draws_make_the_standard_error_small():
    model = build("transformer", 3, residual=False, layernorm=True, mode="identity",
                  n_tokens=4)
    rows = identity_leakage(model, 0.9, 32, samples=4000, seed=5)
    again = identity_leakage(model, 0.9, 32, samples=4000, seed=5)
    assert [r.normalised.mean for r in rows] == [r.normalised.mean for r in again]
    # the difference of the two states is far less noisy than either state alone would be
    assert all(r.normalised.stderr < 0.05 * abs(r.normalised.mean) for r in rows[1:])


def test_wishart_direct_path_moments():
    w = wishart_gram(np.random.default_rng(1), 100_000, 4, 2)  # d < p: drawn directly
    assert np.allclose(w.mean(0), 2 * np.eye(4), atol=0.05)
    assert np.linalg.matrix_rank(w[0]) == 2


def test_input_checks_and_modes():
    assert not has_identity_attention(mlp(3))
    assert has_identity_attention(build("transformer", 2, residual=True, layernorm=True,
                                        mode="identity", n_tokens=4))
    with pytest.raises(NSTheoryError, match="identity pattern"):
        identity_leakage(attention_stack(1, "lowrank", n_tokens=3), 0.5, 8, samples=10)
    with pytest.raises(NSTheoryError, match="samples"):
        identity_leakage(mlp(1), 0.5, 8, samples=1)
    with pytest.raises(NSTheoryError, match="rho"):
        identity_leakage(mlp(1), 1.5, 8)


def _propagate(*extra):
    from nstheory.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["propagate", "--arch", "transformer", "--layernorm", "--depth", "3",
                     "--rho", "0.9", "--width", "32", "--finite-width", *extra])
    return code, buf.getvalue()


def test_cli_reports_the_leakage_beside_the_monte_carlo():
    code, out = _propagate("--json", "--leak-samples", "2000", "--mc-samples", "2000",
                           "--per-net", "20", "--seed", "4")
    data = json.loads(out)
    assert code == 0 and data["leak_samples"] == 2000
    last = data["layers"][-1]
    assert last["corrected_leak_normalised"] == pytest.approx(
        last["corrected_normalised"] + last["leakage_normalised"], abs=1e-15)
    assert last["z_corrected_leak"] == pytest.approx(
        (last["mc_normalised_mean"] - last["corrected_leak_normalised"])
        / last["mc_normalised_stderr"])
    assert "corrected_leak_in_ci95_all_layers" in data["summary"]
    assert "leakage" in data["routes"]
    code, text = _propagate("--leak-samples", "2000")
    assert "leak (norm)" in text and "norm 1/N+leak" in text
    code, out = _propagate("--json", "--leak-samples", "0")
    assert json.loads(out)["layers"][0]["leakage_normalised"] is None


def test_layernorm_outputs_keep_their_norms_and_the_walk_finds_them():
    import importlib

    # the module itself (the package's attribute of that name is the function it exports)
    IL = importlib.import_module("nstheory.propagation.identity_leakage")
    from nstheory.propagation.finite_width_study import run_model
    from nstheory.propagation.model import LayerNorm

    k = np.broadcast_to(np.array([[1.0, 0.3], [0.3, 1.0]]), (50, 2, 2)).copy()
    layer = attention_stack(1, "identity", n_tokens=2).blocks[0][0]
    for unit, spread in ((True, 1e-12), (False, 0.05)):
        g, _ = IL._SharedDraws(np.random.default_rng(0), unit)._gram(layer, k, 64, None)
        diag = np.diagonal(g, axis1=1, axis2=2)
        assert (np.abs(diag - 1).max() > spread) == (not unit)
    # which attention layers read a LayerNorm output, block by block
    base = {"arch": "transformer", "mode": "identity", "n_tokens": 4, "layernorm": True,
            "act": "relu", "sigma2": 2.0, "depth": 3}
    for residual, post, expected in ((True, False, [True] * 3),      # pre-LN: LN in the branch
                                     (True, True, [False, True, True]),   # post-LN
                                     (False, False, [False, True, True])):  # no residual
        model = run_model({**base, "residual": residual, "post_ln": post})
        found, prev = [], False
        for block in model.blocks:
            for layer in block:
                if IL._has_attention(layer):
                    found.append(IL._attention_after_layernorm(layer, prev))
                prev = isinstance(layer, LayerNorm)
        assert found == expected, (residual, post, found)


def test_exact_norms_change_the_correction_only_after_layernorm():
    model = build("transformer", 3, residual=False, layernorm=True, mode="identity",
                  n_tokens=4)
    a = identity_leakage(model, 0.9, 64, samples=3000, seed=1)
    b = identity_leakage(model, 0.9, 64, samples=3000, seed=1, exact_ln_norms=False)
    assert a[0].normalised.mean == b[0].normalised.mean  # block 1 reads the raw inputs
    assert abs(a[2].normalised.mean - b[2].normalised.mean) > 5 * a[2].normalised.stderr
