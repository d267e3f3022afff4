"""Tests of the torch attention layer and the batched Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch

from nstheory.attention.layer import (
    QueryKey,
    SoftmaxAttention,
    attention_layer,
    attention_row,
    attention_weights,
    logits,
    scale_factor,
)
from nstheory.attention.montecarlo import (
    argmax_agreement_mc,
    attention_stability_mc,
    theory_value,
)
from nstheory.errors import NSTheoryError

torch.set_num_threads(1)


def _naive_layer(X, W, W_V, t, causal):
    """Per-sample reference implementation (explicit loops over samples and tokens)."""
    B, n, _ = X.shape
    out = torch.zeros(B, n, W_V.shape[1], dtype=X.dtype)
    for b in range(B):
        Wb = W[b] if W.dim() == 3 else W
        for i in range(n):
            scores = torch.tensor([float(t * X[b, i] @ Wb @ X[b, l]) for l in range(n)],
                                  dtype=X.dtype)
            if causal:
                scores[i + 1:] = -math.inf
            a = torch.softmax(scores, 0)
            out[b, i] = sum(a[l] * (X[b, l] @ W_V) for l in range(n))
    return out


@pytest.mark.parametrize("kind", ["identity", "lowrank", "random"])
@pytest.mark.parametrize("causal", [False, True])
def test_layer_matches_naive(kind, causal):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(3, 5, 6, generator=g, dtype=torch.float64)
    qk = QueryKey.make(kind, 6, rank=2, batch=3, generator=g)
    W_V = torch.randn(6, 4, generator=g, dtype=torch.float64)
    got = attention_layer(X, qk, W_V, scale="sqrt", causal=causal)
    want = _naive_layer(X, qk.dense(), W_V, 1 / math.sqrt(6), causal)
    assert torch.allclose(got, want, atol=1e-12)
    for i in range(5):
        row = attention_row(X, qk, i, scale="sqrt", causal=causal)
        assert torch.allclose((row.unsqueeze(1) @ (X @ W_V))[:, 0], got[:, i], atol=1e-12)


def test_given_matrix_module_and_hard_limit():
    g = torch.Generator().manual_seed(4)
    X = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    W = torch.randn(3, 3, generator=g, dtype=torch.float64)
    layer = SoftmaxAttention(QueryKey.given(W), torch.eye(3, dtype=torch.float64), scale=1e6)
    hard = SoftmaxAttention(QueryKey.given(W), torch.eye(3, dtype=torch.float64), scale=1e6,
                            hard=True)
    L = logits(X, QueryKey.given(W), 1.0)
    A = attention_weights(L, hard=True)
    assert torch.equal(A.argmax(-1), L.argmax(-1)) and torch.all(A.sum(-1) == 1)
    # a large scale makes softmax approach the hard argmax
    assert torch.allclose(layer(X), hard(X), atol=1e-3)


def test_scale_and_errors():
    assert scale_factor("linear", 8) == 0.125
    with pytest.raises(NSTheoryError, match="scale must be one of"):
        scale_factor("cubic", 8)
    with pytest.raises(NSTheoryError, match="> 0"):
        scale_factor(-1.0, 8)
    with pytest.raises(NSTheoryError, match="needs a rank"):
        attention_stability_mc(4, 8, 0.5, "lowrank", samples=10)
    with pytest.raises(NSTheoryError, match="mode must be one of"):
        attention_stability_mc(4, 8, 0.5, "banana", samples=10)
    with pytest.raises(NSTheoryError, match="rho must lie"):
        attention_stability_mc(4, 8, 1.5, "identity", samples=10)
    with pytest.raises(NSTheoryError, match="has d = 3"):
        logits(torch.zeros(1, 2, 4), QueryKey.given(torch.eye(3)), 1.0)


def test_rho_one_gives_second_moment_and_rho_zero_mean_square():
    est = attention_stability_mc(3, 16, 1.0, "identity", samples=4000, seed=1, device="cpu")
    assert est.agree.mean == 1.0
    est0 = attention_stability_mc(3, 16, 0.0, "identity", samples=20000, seed=2, device="cpu")
    # Stab_0 = (E f)^2 = 0 by symmetry x -> -x
    assert abs(est0.stab.mean) < 5 * est0.stab.stderr


def test_projected_and_dense_random_w_agree():
    a = attention_stability_mc(3, 8, 0.6, "random", samples=30000, seed=5, scale="none",
                               device="cpu")
    b = attention_stability_mc(3, 8, 0.6, "random", samples=30000, seed=6, scale="none",
                               device="cpu", w_sampling="dense")
    z = (a.stab.mean - b.stab.mean) / math.hypot(a.stab.stderr, b.stab.stderr)
    za = (a.agree.mean - b.agree.mean) / math.hypot(a.agree.stderr, b.agree.stderr)
    assert abs(z) < 4 and abs(za) < 4


def test_batch_size_does_not_change_the_estimate():
    # batching changes the random stream, not the estimand: every sample is counted once (a
    # dropped or repeated batch changes n) and the two estimates agree within 4 combined
    # standard errors
    a = attention_stability_mc(4, 16, 0.5, "identity", samples=3000, seed=9, batch=1000,
                               device="cpu")
    b = attention_stability_mc(4, 16, 0.5, "identity", samples=3000, seed=9, batch=3000,
                               device="cpu")
    assert a.stab.n == b.stab.n == 3000
    z = (a.stab.mean - b.stab.mean) / (a.stab.stderr ** 2 + b.stab.stderr ** 2) ** 0.5
    assert abs(z) < 4


def test_mc_ci_coverage_for_s2():
    # 40 independent 95% CIs of the n=2 agreement: expect ~38 to cover the closed form
    from nstheory.attention.consistency import s2_closed_form

    truth = float(s2_closed_form(0.4))
    covered = 0
    for seed in range(40):
        m = argmax_agreement_mc(2, 0.4, samples=2000, seed=seed, device="cpu")
        lo, hi = m.ci()
        covered += lo <= truth <= hi
    assert covered >= 33  # P(Binomial(40, 0.95) < 33) ~ 3e-4


def test_theory_value_modes():
    assert theory_value("identity", 4, 0.5, 2.0) == 1.0
    assert abs(theory_value("random", 4, 0.5) - 0.5 * 0.34540427415117) < 1e-12
    with pytest.raises(NSTheoryError):
        theory_value("x", 4, 0.5)


def test_causal_last_row_sees_everything_first_row_only_itself():
    g = torch.Generator().manual_seed(8)
    X = torch.randn(2, 4, 5, generator=g, dtype=torch.float64)
    row0 = attention_row(X, QueryKey.identity(5), 0, causal=True)
    assert torch.allclose(row0[:, 0], torch.ones(2, dtype=torch.float64))


def test_cuda_path_errors_clearly_without_gpu():
    if torch.cuda.is_available():
        est = attention_stability_mc(4, 16, 0.5, "random", samples=2000, device="cuda")
        assert est.device.startswith("cuda")
    else:
        with pytest.raises(NSTheoryError, match="CUDA is not available"):
            attention_stability_mc(4, 16, 0.5, "identity", samples=10, device="cuda")


def test_d1_quadrature_matches_monte_carlo():
    # two independent routes to the same finite-d stability (n = 2, d = 1, random W, unscaled)
    from nstheory.attention.montecarlo import attention_stability_mc
    from nstheory.attention.quadrature import stab_random_d1_n2

    quad = stab_random_d1_n2(0.5, 24)
    est = attention_stability_mc(2, 1, 0.5, "random", samples=200_000, seed=7, device="cpu",
                                 show_progress=False, scale="none")
    assert abs(est.stab.z(quad)) < 4.5
    assert abs(stab_random_d1_n2(0.5, 32) - quad) < 2e-3  # the rule has converged to ~1e-3


def test_huge_layers_are_chunked_or_refused_not_sent_to_the_allocator():
    from nstheory.attention.montecarlo import MAX_SAMPLE_VALUES, _auto_batch

    # chunk sizes of ordinary layers are unchanged (results depend on them through the seeds)
    assert _auto_batch("random", 4, 64, None, False) == (1 << 23) // (4 * 64 + 64 * 64)
    assert _auto_batch("random", 2, 1024, None, False) == 64
    # a layer of 4 x 10^6 values gets chunks of at most 2^27 values, not 64 samples (2^28)
    assert _auto_batch("identity", 4, 10**6, None) == (1 << 27) // (4 * 10**6)
    # a dense 20000 x 20000 W per sample (3.2 GB) is refused before any allocation
    with pytest.raises(NSTheoryError, match="too large to simulate"):
        attention_stability_mc(4, 20000, 0.5, "random", w_sampling="dense", samples=10,
                               device="cpu")
    assert 4 * 20000 + 20000**2 > MAX_SAMPLE_VALUES


def test_theory_value_refuses_a_negative_or_nan_value_norm():
    from nstheory.attention.montecarlo import theory_value
    from nstheory.errors import NSTheoryError

    assert theory_value("identity", 3, 0.5, v_norm2=2.0) == 1.0
    for bad in (float("nan"), -1.0):  # were -0.5 and nan, returned as theory values
        with pytest.raises(NSTheoryError, match="v_norm2"):
            theory_value("identity", 3, 0.5, v_norm2=bad)


def test_attention_layer_follows_the_input_device():
    """W and W_V are moved to the input's device and dtype (they only changed dtype: a CPU W
    with CUDA inputs raised a device mismatch). The 'meta' device stands in for a GPU."""
    from nstheory.attention.layer import QueryKey, SoftmaxAttention, logits_row

    for kind in ("random", "lowrank"):
        qk = QueryKey.make(kind, 4, rank=2, generator=torch.Generator().manual_seed(0))
        layer = SoftmaxAttention(qk, torch.eye(4, dtype=torch.float64))
        X = torch.empty(2, 3, 4, dtype=torch.float32, device="meta")
        out = layer(X)
        assert out.device.type == "meta" and out.dtype == torch.float32
        assert logits_row(X, qk, 1).device.type == "meta"
