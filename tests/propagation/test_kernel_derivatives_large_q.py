"""The Price route of the kernel-map derivatives at large variance, held against the
certified enclosure (acb integrals with rigorous bounds: a separate route). The fixed 160-node
Gauss-Hermite rule gave wrong 1/width coefficients there, with no warning: -41.97 for +0.2011
(tanh, sigma_w^2 = 16), a sign flip for GELU at sigma_w^2 = 8, -0.128 for -0.195 for a residual
GELU MLP of depth 4 (its variance doubles per block)."""

import pytest

from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks
from nstheory.propagation.model import mlp


@pytest.mark.parametrize("model, per_net, rel", [
    (mlp(2, sigma2=16.0, act="tanh"), 1, 1e-3),
    (mlp(2, sigma2=8.0, act="gelu"), 1, 1e-4),
    (mlp(4, sigma2=2.0, act="gelu", residual=True), 3, 1e-4),
])
def test_large_variance_coefficient_matches_the_enclosure(model, per_net, rel):
    got = finite_width_recursion(model, 0.9, per_net=per_net)[-1]
    ball = finite_width_enclosure_blocks(model, 0.9, per_net=per_net)[-1]
    ref = float(ball.coef_normalised.mid())
    assert abs(got.coef_normalised - ref) <= rel * abs(ref) + float(ball.coef_normalised.rad())
    assert abs(got.mean_field_normalised - float(ball.mean_field_normalised.mid())) < 1e-9
