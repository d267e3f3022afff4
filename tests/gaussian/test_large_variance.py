"""The precise and float routes of the smooth activations at large variance and near
|rho| = 1, where their fixed rules under-resolved phi(sqrt(q) x) (features of width 1/sqrt(q))
and returned wrong digits silently. Referees: the certified arb enclosures (a separate route:
acb.integral with rigorous error bounds) and direct mpmath quadrature of the defining integral
with a breakpoint at the kink."""

import mpmath
import pytest

from nstheory.errors import NSTheoryError
from nstheory.gaussian import get_activation


def _second_moment_quad(phi, q, dps=40):
    with mpmath.workdps(dps):
        a = mpmath.sqrt(mpmath.mpf(q))
        s = 1 / a
        pts = [-mpmath.inf, -30 * s, -3 * s, 0, 3 * s, 30 * s, mpmath.inf]
        return mpmath.quad(lambda x: phi(a * x) ** 2 * mpmath.npdf(x), pts)


@pytest.mark.parametrize("dps", [30, 50])
def test_tanh_second_moment_at_large_variance(dps):
    """Was wrong by 1.6e-8 at dps 30 and by 4.2e-4 at dps 50 (more digits asked, worse)."""
    act = get_activation("tanh")
    got = act.second_moment("1e4", dps=dps)
    ref = _second_moment_quad(mpmath.tanh, "1e4")
    assert abs(got - ref) < mpmath.mpf(10) ** (-min(dps, 35))
    ball = act.second_moment_arb("1e4")
    assert abs(float(ball.mid()) - float(got)) <= float(ball.rad()) + 1e-15


def test_rho_one_map_at_large_variance_and_its_correlation():
    """raw(1, 1e4, 1e4) was 0.99608688718 at dps 40 (truth 0.992021482480513); the 'corr'
    view exceeded 1."""
    act = get_activation("tanh")
    ref = _second_moment_quad(mpmath.tanh, "1e4")
    assert abs(act.raw(1, "1e4", "1e4", dps=40) - ref) < mpmath.mpf(10) ** -35
    assert abs(act.value(1, "1e4", "1e4", view="corr", dps=30) - 1) < mpmath.mpf(10) ** -28


def test_gelu_rho_minus_one_is_right_or_refused():
    """gelu raw(-1, 1e6, 1e6) returned -1.111e-4 (truth -1.8757e-4): now it is refused, like
    every rho at that variance, and right at 1e3 (inside the certified ball)."""
    g = get_activation("gelu")
    with pytest.raises(NSTheoryError, match="panels"):
        g.raw(-1, "1e6", "1e6", dps=30)
    val = g.raw(-1, "1e3", "1e3", dps=30)
    ball = g.raw_arb(-1, "1e3", "1e3")
    assert abs(val - mpmath.mpf(ball.mid().str(30, radius=False))) <= 2 * float(ball.rad()) + 1e-25


@pytest.mark.parametrize("rho, q", [(0.99, 400.0), (0.9999, 100.0), (-0.99, 400.0)])
def test_float_route_near_rho_one_matches_the_certified_ball(rho, q):
    """The float series (degree 150 plus a patched remainder) was 1.8e-3 off at rho 0.99,
    q 400 (28 Monte Carlo standard errors); the float propagation inherited it."""
    act = get_activation("tanh")
    got = float(act.raw_float(rho, q, q))
    ball = act.raw_arb(rho, q, q)
    assert abs(got - float(ball.mid())) <= float(ball.rad()) + 1e-9


def test_float_propagation_stays_inside_the_interval():
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import mlp
    from nstheory.propagation.recurrence import point_recurrence

    m = mlp(2, sigma2=400.0, act="tanh")
    point = point_recurrence(m, 0.99, "float")[-1]
    ball = interval_propagation(m, 0.99)[-1]
    for name in ("Q", "C"):
        b = getattr(ball, name)
        assert abs(getattr(point, name) - float(b.mid())) <= float(b.rad()) + 1e-9
    # and at a generic rho the float coefficients resolve q = 1e4 (C was 1.3e-8 off)
    m = mlp(1, sigma2=1e4, act="tanh")
    f = point_recurrence(m, 0.5, "float")[-1]
    p = point_recurrence(m, 0.5, "mpmath", dps=20)[-1]
    assert abs(f.C - float(p.C)) < 1e-12 and abs(f.Q - float(p.Q)) < 1e-12
