"""``nstheory activation`` at the edges of its input range: refused or printed, never a hang or a
traceback."""

import json
from decimal import Decimal

from nstheory.cli import main


def test_smooth_activation_at_a_huge_variance_is_refused_not_a_hang(capsys):
    # q1 = 1e300: the certified trapezoid's step shrinks like 1/sqrt(q) (was: an endless run)
    assert main(["activation", "gelu", "--rho", "0.5", "--q1", "1e300", "--q2", "1"]) == 2
    assert "trapezoid nodes" in capsys.readouterr().err


def test_huge_variance_refusal_states_the_limit_at_its_precision(capsys):
    """The refusal's 'supports q up to about Q' is the limit at the precision asked (at 200
    digits ~4e5, not the ~1e8 of the default precision): asking for 1.2 Q is refused again."""
    import re

    pattern = r"at (\d+) bits it supports q up to about ([0-9.e+]+)"
    for dps, q, lo, hi in (("200", "1e6", 1e5, 1e6), ("20", "1e9", 3e7, 3e8)):
        assert main(["activation", "softplus", "--rho", "0.5", "--q1", q, "--dps", dps]) == 2
        q_max = float(re.search(pattern, capsys.readouterr().err).group(2))
        assert lo < q_max < hi
        assert main(["activation", "softplus", "--rho", "0.5", "--q1", f"{1.2 * q_max:.6g}",
                     "--dps", dps]) == 2
        assert "trapezoid nodes" in capsys.readouterr().err


def test_thousands_of_digits_print(capsys):
    # 5000 digits of a closed form (was: Python's 4300-digit int-to-str limit, a traceback)
    assert main(["activation", "polynomial", "--coeffs", "1,2,3", "--rho", "0.5", "--dps",
                 "5000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = out["enclosure"]
    # by hand: E[(1 + 2U + 3U^2)(1 + 2V + 3V^2)] = 1 + 3 + 3 + 4 rho + 9 (1 + 2 rho^2) = 22.5
    assert Decimal(lo) <= Decimal("22.5") <= Decimal(hi)
    assert len(lo) > 4000 and Decimal(hi) - Decimal(lo) < Decimal("1e-4990")
