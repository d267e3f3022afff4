"""MLP NNGP/NTK on the cube: hand-derived closed forms, the three number systems, and the
spectra by the certified route against the direct mpmath Krawtchouk sum."""

import json
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from flint import arb

from nstheory.errors import NSTheoryError
from nstheory.numerics import arb_precision
from nstheory.spectrum.cube import spectrum_mp
from nstheory.spectrum.kernels import MLPKernel, mlp_spectrum


def _kappa(r):
    return (mpmath.sqrt(1 - r * r) + r * (mpmath.pi - mpmath.acos(r))) / (2 * mpmath.pi)


def _kappa1(r):
    return (mpmath.pi - mpmath.acos(r)) / (2 * mpmath.pi)


@pytest.mark.parametrize("t", ["-1", "-0.3", "0", "0.7", "1"])
def test_relu_depth2_by_hand(t):
    # sw2 = 2, sb2 = 0: q stays 2; Sigma^1 = 2t, Sigma^2 = 4 kappa(t), Sigma^3 = 4 kappa(kappa2)
    # with kappa2 = 2 kappa(t); Theta^3 = Sigma^3 + 2 kappa'(rho2) (Sigma^2 + 2 kappa'(t) 2t)
    with mpmath.workdps(40):
        t = mpmath.mpf(t)
        s2 = 4 * _kappa(t)
        th2 = s2 + 2 * _kappa1(t) * 2 * t
        r2 = s2 / 2
        s3 = 4 * _kappa(r2)
        th3 = s3 + 2 * _kappa1(r2) * th2
        nngp, ntk = MLPKernel("relu", depth=2).mp(t, dps=30)
        assert abs(nngp - s3) < mpmath.mpf(10) ** -28
        assert abs(ntk - th3) < mpmath.mpf(10) ** -28


@pytest.mark.parametrize("act,params", [("relu", {}), ("erf", {}), ("abs", {}),
                                        ("leaky_relu", {"slope": 0.2}), ("identity", {}),
                                        ("polynomial", {"coeffs": (0, 1, "0.5")})])
def test_number_systems_agree(act, params):
    k = MLPKernel(act, depth=3, sw2="1.5", sb2="0.1", **params)
    for t in ("-1", "-0.25", "0.5", "1"):
        nngp, ntk = k.mp(t, dps=30)
        with arb_precision(bits=120):
            bn, bt = k.arb(arb(t))
            # the 30-digit mpmath value, widened by its own last-digit uncertainty
            assert bn.overlaps(arb(mpmath.nstr(nngp, 30), 1e-28 * (1 + abs(float(nngp)))))
            assert bt.overlaps(arb(mpmath.nstr(ntk, 30), 1e-28 * (1 + abs(float(ntk)))))
            assert bn.rad() < 1e-25 * max(1, abs(float(bn.mid())))
        fn, ft = k.float(np.array([float(t)]))
        assert abs(fn[0] - float(nngp)) < 1e-12 * max(1, abs(float(nngp)))
        assert abs(ft[0] - float(ntk)) < 1e-12 * max(1, abs(float(ntk)))


def test_erf_derivative_map_by_quadrature():
    # E[phi'(U) phi'(V)] by 2-D Gauss-Hermite quadrature vs the closed form (q = 0.7, rho = 0.4)
    q, rho = 0.7, 0.4
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    U = np.sqrt(q) * x[:, None]
    V = np.sqrt(q) * (rho * x[:, None] + np.sqrt(1 - rho**2) * x[None, :])
    dphi = lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z)  # noqa: E731
    quad = float(np.sum(w[:, None] * w[None, :] * dphi(U) * dphi(V)))
    k = MLPKernel("erf", depth=1, sw2=1, sb2=0)
    assert abs(float(k._dmap_mp(mpmath.mpf(rho), mpmath.mpf(q))) - quad) < 1e-12


def test_spectrum_certified_vs_direct_sum():
    n = 30
    k = MLPKernel("relu", depth=4, sw2=2, sb2="0.05")
    s = mlp_spectrum("relu", depth=4, n=n, sw2=2, sb2="0.05")
    direct = spectrum_mp(lambda t: k.mp(t, dps=mpmath.mp.dps)[1], n, dps=30)
    for ball, m in zip(s["ntk"], direct, strict=True):
        with arb_precision(bits=200):
            assert ball.overlaps(arb(mpmath.nstr(m, 30), 1e-27 * abs(float(m))))
        assert ball.rad() <= abs(ball.mid()) * 2.0**-50


def test_trace_identity():
    # sum_k C(n,k) mu_k = Phi(1) (the diagonal of the kernel)
    n = 12
    s = mlp_spectrum("erf", depth=2, n=n, sw2=1, sb2="0.3")
    k = MLPKernel("erf", depth=2, sw2=1, sb2="0.3")
    from math import comb

    with arb_precision(bits=100):
        tot = sum((comb(n, j) * s["ntk"][j] for j in range(n + 1)), arb(0))
        assert tot.overlaps(arb(mpmath.nstr(k.mp(1, dps=30)[1], 30), 1e-27))


def test_validation():
    with pytest.raises(NSTheoryError):
        MLPKernel("sign", depth=1)
    with pytest.raises(NSTheoryError):
        MLPKernel("relu", depth=-1)
    with pytest.raises(NSTheoryError):
        MLPKernel("relu", depth=1, sw2=float("nan"))
    with pytest.raises(NSTheoryError):
        MLPKernel("relu", depth=1, sb2=-1)
    with pytest.raises(NSTheoryError):
        MLPKernel("relu", depth=1, sw2=0)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nstheory", "spectrum", *args],
                          capture_output=True, text=True, timeout=120)


def _main(args, capsys):
    from nstheory.cli import main

    rc = main(["spectrum", *args])
    return rc, capsys.readouterr()


def test_cli_json_and_text_same_numbers(capsys):
    js = _cli("--arch", "mlp", "--act", "relu", "--depth", "3", "--n", "20", "--json")
    assert js.returncode == 0, js.stderr
    out = json.loads(js.stdout)
    assert len(out["degrees"]) == 21
    row = out["degrees"][2]
    assert row["multiplicity"] == 190
    lo, hi = row["ntk_enclosure"]
    # the value is the ball's midpoint rounded to dps = 15 digits
    assert abs(float(row["ntk"]) - (float(lo) + float(hi)) / 2) <= 1e-14 * float(hi)
    assert float(lo) <= float(hi) <= float(lo) * (1 + 1e-15)
    assert all(r["nngp_resolved"] and r["ntk_resolved"] for r in out["degrees"])
    rc, txt = _main(["--act", "relu", "--depth", "3", "--n", "20"], capsys)
    assert rc == 0
    assert row["ntk"] in txt.out and lo in txt.out


@pytest.mark.parametrize("bad", [["--n", "nan"], ["--n", "-3"], ["--n", "10001"],
                                 ["--n", "5", "--sw2", "inf"], ["--n", "5", "--sb2", "-1"],
                                 ["--n", "5", "--depth", "x"], ["--n", "5", "--act", "sign"],
                                 ["--n", "5", "--dps", "0"], ["--n", "5", "--arch", "cnn"],
                                 ["--n", "5", "--act", "polynomial"],
                                 ["--n", "5", "--act", "polynomial", "--coeffs", "1,,2"]])
def test_cli_bad_arguments_exit_2(bad, capsys):
    rc, out = _main(bad, capsys)
    assert rc == 2
    assert "error" in out.err and "Traceback" not in out.err


def test_cli_transformer_spectrum(capsys):
    rc, out = _main(["--arch", "transformer", "--n", "6", "--json"], capsys)
    assert rc == 0
    d = json.loads(out.out)
    # mu = (1 + 1/n, 2/n, 2/n^2, 0, ...) for Phi = (1 + t)^2, typed
    assert [float(r["ntk"]) for r in d["degrees"][:3]] == pytest.approx([7 / 6, 1 / 3, 1 / 18])
    assert not d["degrees"][3]["ntk_resolved"]
    rc, out = _main(["--arch", "transformer", "--n", "6", "--depth", "2"], capsys)
    assert rc == 2
