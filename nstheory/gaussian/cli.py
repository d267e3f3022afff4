"""``nstheory activation NAME --rho R [--q1 Q1 --q2 Q2] [--view raw|cov|corr] [--dps D] [--json]``

Prints the Gaussian map of an activation (U ~ N(0, q1), V ~ N(0, q2), corr(U, V) = rho) in the
chosen view (raw = E[phi(U) phi(V)], the paper's Stab; cov = centred covariance; corr = raw /
sqrt(E phi(U)^2 E phi(V)^2), the C-map), from three routes:

* ``enclosure``: the certified route (python-flint arb), outward-rounded ``[lo, hi]``; for
  tanh/gelu/silu/softplus the Hermite series with all coefficients from one rigorous trapezoidal
  rule, or near rho = +-1 the Taylor expansion at the end point;
* ``value``: the closed form (mpmath) at ``dps`` digits, or for tanh/gelu/silu/softplus the
  certified ball's midpoint (``value_route`` says which), printed to ``value_digits``: ``dps``,
  or fewer where the ball's radius fixes fewer (e.g. tanh near rho = 1 at 200 digits);
* ``routes.precise_reduction``: the 1-D reduction, an independent way (it uses neither the closed
  form nor Hermite coefficients). For activations without closed form it runs (nested
  trapezoidal sums) at the full ``dps`` unless that needs more than 60000 activation evaluations
  (small |rho| or rho near +-1 at high precision: then at the highest precision within that
  cost); for closed forms at ``min(dps, 60)`` digits. ``--reduction`` lifts both caps; the
  ``reduction`` key says the precision actually used;
* ``agreement_digits``: digits on which value and reduction agree, capped by the reduction's
  precision and, without closed form, by the ball's own certified digits.

``--dps`` accepts 1..5000 for closed forms and 1..200 for the series activations.

NAME: relu, leaky_relu (``--slope``, default 0.01), abs, sign, erf, gelu, tanh, silu, softplus,
identity, polynomial (``--coeffs a0,a1,...``, ascending powers). With ``--json`` one object with
keys ``activation``, ``view``, ``rho``, ``q1``, ``q2``, ``dps``, ``value``, ``value_digits``,
``enclosure``, ``agreement_digits``, ``agreement_between``, ``value_route``, ``reduction``,
``routes``, ``seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys

from nstheory.errors import NSTheoryError
from nstheory.progress import progress_enabled
from nstheory.validate import arg_exact_real

#: largest --dps accepted for closed-form activations and for those without a closed form
DPS_MAX = 5000
DPS_MAX_SMOOTH = 200
#: the closed forms' 1-D reduction cross-check runs at most at this many digits unless
#: --reduction is given (mp.quad's cost grows quickly with the precision)
REDUCTION_DPS_CAP = 60
#: without --reduction, the series activations' reduction runs at the highest precision <= dps
#: whose nested trapezoidal sums need at most this many activation evaluations
REDUCTION_COST_MAX = 60_000


def register_cli(subparsers) -> None:
    """Add the ``activation`` sub-command to ``subparsers``.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["activation"].parse_args(["relu", "--rho", "0.3", "--view", "corr"])
    >>> args.name, args.rho, args.view, args.q1, args.dps, args.func is run
    ('relu', '0.3', 'corr', '1', 20, True)
    """
    p = subparsers.add_parser(
        "activation",
        help="Gaussian noise-stability map of an activation (value, certified enclosure)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--rho", required=True, help="correlation in [-1, 1] (decimal string)")
    p.add_argument("--q1", default="1", help="variance of U (> 0), default 1")
    p.add_argument("--q2", default="1", help="variance of V (> 0), default 1")
    p.add_argument("--view", default="raw", choices=("raw", "cov", "corr"))
    p.add_argument("--dps", type=int, default=20, help="decimal digits (default 20)")
    p.add_argument("--slope", type=arg_exact_real(), default=None,
                   help="leaky_relu negative slope (a finite real number, taken exactly: 0.1 is "
                   "1/10, not the binary double nearest it)")
    p.add_argument("--coeffs", default=None,
                   help="polynomial coefficients a0,a1,... (ascending powers)")
    p.add_argument("--reduction", action="store_true",
                   help="run the closed forms' 1-D reduction cross-check at the full --dps "
                   f"(default: at most {REDUCTION_DPS_CAP} digits)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--derive", action="store_true",
                   help="also print the SymPy derivation steps in LaTeX (relu, abs, leaky_relu, "
                   "sign, erf); JSON key 'derivation'")
    p.set_defaults(func=run)


def evaluate(name: str, rho: str, q1: str = "1", q2: str = "1", view: str = "raw",
             dps: int = 20, slope: float | None = None, reduction: bool = False,
             coeffs: str | None = None) -> dict:
    """The CLI's computation as a dict (see the module docstring).

    >>> out = evaluate("relu", "0.5", dps=25)
    >>> out["value"]
    '0.3044988905221146790444983'
    >>> out["enclosure"]
    ['0.304498890522114679044498291', '0.304498890522114679044498292']
    """
    import time

    import mpmath

    from nstheory.errors import check_positive, check_rho
    from nstheory.gaussian._backend import to_arb
    from nstheory.gaussian.activations import check_dps, check_view, get_activation
    from nstheory.gaussian.precise import reduction_cost, reduction_mp, reduction_trapezoid
    from nstheory.numerics import (
        agreement_digits,
        arb_precision,
        ball_bounds,
        exact_decimal_str,
        mp_str,
    )

    t0 = time.perf_counter()
    dps = check_dps(dps)
    check_view(view)
    params = {"slope": slope} if (slope is not None and name == "leaky_relu") else {}
    if slope is not None and name != "leaky_relu":
        raise NSTheoryError("--slope applies only to leaky_relu")
    if (coeffs is not None) != (name == "polynomial"):
        raise NSTheoryError("--coeffs is required for, and applies only to, polynomial")
    if coeffs is not None:
        params = {"coeffs": tuple(c.strip() for c in coeffs.split(","))}
    act = get_activation(name, **params)
    limit = DPS_MAX if act.closed_form else DPS_MAX_SMOOTH
    if dps > limit:
        kind = "closed-form" if act.closed_form else "series (no closed form)"
        raise NSTheoryError(f"--dps {dps} is out of range for {name} ({kind}): accepted "
                            f"1..{limit}")
    check_rho(rho)
    check_positive(q1, "q1")
    check_positive(q2, "q2")
    with mpmath.workdps(dps + 10):
        r, a, b = mpmath.mpf(rho), mpmath.mpf(q1), mpmath.mpf(q2)
    with arb_precision(dps=dps + 2):
        ball = act.value_arb(to_arb(str(rho)), to_arb(str(q1)), to_arb(str(q2)), view=view)
        lo, hi = ball_bounds(ball, dps + 2)
        mid = exact_decimal_str(ball.mid(), dps + 5)
    if act.closed_form:
        value = act.value(r, a, b, view=view, dps=dps)
        value_route = "closed form (mpmath)"
    else:
        with mpmath.workdps(dps + 10):
            value = mpmath.mpf(mid)
        value_route = "midpoint of the certified ball (Hermite series or end-point expansion)"
    # digits the certified ball fixes: without a closed form its midpoint is the value, good to
    # the radius only (it caps the printed digits and the agreement below)
    certified = None
    if not act.closed_form and ball.rad() > 0:
        rad = float(ball.rad())
        certified = float(-mpmath.log10(rad / max(abs(float(ball.mid())), 1e-300)))
    value_digits = dps if certified is None else max(1, min(dps, int(certified)))
    routes = {"precise": mp_str(value, dps), "certified_mid": mid}
    if reduction and dps > REDUCTION_DPS_CAP and progress_enabled():
        # the uncapped cross-check is one long mpmath call: say so rather than sit silent
        print(f"activation: the 1-D reduction cross-check at {dps} digits runs uncapped "
              "(--reduction); at thousands of digits it takes minutes", file=sys.stderr,
              flush=True)
    if act.closed_form:
        red_dps = dps if reduction else min(dps, REDUCTION_DPS_CAP)
        with mpmath.workdps(red_dps + 10):
            red = reduction_mp(act, r, a, b, red_dps)
            if view != "raw":
                if view == "cov":
                    red = red - act.mean(a, red_dps + 5) * act.mean(b, red_dps + 5)
                else:
                    red = red / mpmath.sqrt(act.second_moment(a, red_dps + 5)
                                            * act.second_moment(b, red_dps + 5))
        red_route = "1-D reduction (closed-form inner expectation, mp.quad outer)"
        agree_between = "precise closed form vs 1-D reduction"
    else:
        red_dps = dps
        while (not reduction and red_dps > 8
               and reduction_cost(act, r, a, b, red_dps) > REDUCTION_COST_MAX):
            red_dps = int(red_dps * 0.8)
        with mpmath.workdps(red_dps + 10):
            red = reduction_trapezoid(act, r, a, b, red_dps)
            if view == "cov":
                red = red - reduction_trapezoid(act, 0, a, b, red_dps)
            elif view == "corr":
                red = red / mpmath.sqrt(reduction_trapezoid(act, 1, a, a, red_dps)
                                        * reduction_trapezoid(act, 1, b, b, red_dps))
        red_route = "1-D reduction (nested trapezoidal sums on aligned grids)"
        agree_between = ("certified ball midpoint (Hermite series or end-point expansion) vs "
                         "1-D reduction, capped by the ball's certified digits")
    routes["precise_reduction"] = mp_str(red, red_dps)
    agree = agreement_digits(mp_str(value, dps + 5), mp_str(red, red_dps + 5))
    agree = min(agree, red_dps)  # the reduction is accurate to red_dps digits, no more
    cap_rule = (f"mp.quad at most {REDUCTION_DPS_CAP} digits" if act.closed_form else
                f"at most {REDUCTION_COST_MAX} activation evaluations")
    if certified is not None:
        agree = min(agree, certified)
    reduction_info = {"route": red_route, "dps": red_dps,
                      "capped": red_dps < dps,
                      "note": (f"cross-check run at {red_dps} digits (capped for cost: "
                               f"{cap_rule}; --reduction runs it at {dps})"
                               if red_dps < dps else f"cross-check run at {red_dps} digits")}
    return {
        "activation": act.name,
        "view": view,
        "rho": str(rho),
        "q1": str(q1),
        "q2": str(q2),
        "dps": dps,
        "value": mp_str(value, value_digits),
        "value_digits": value_digits,
        "enclosure": [lo, hi],
        "agreement_digits": round(float(min(agree, dps)), 2),
        "agreement_between": agree_between,
        "value_route": value_route,
        "reduction": reduction_info,
        "routes": routes,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def derivation_latex(name: str) -> str:
    """LaTeX derivation steps of the closed form behind ``name`` (SymPy).

    >>> "asin" in derivation_latex("sign")
    True
    """
    from nstheory.gaussian import symbolic

    table = {"relu": symbolic.derive_relu, "abs": lambda: symbolic.derive_ab_relu(-1, 1),
             "leaky_relu": symbolic.derive_ab_relu, "sign": symbolic.derive_sign,
             "erf": symbolic.derive_erf}
    if name not in table:
        raise NSTheoryError(f"no symbolic derivation for {name!r} (closed forms: "
                            f"{', '.join(sorted(table))})")
    return table[name]().latex()


def run(args) -> int:
    """Run ``nstheory activation``: print the Gaussian map of an activation with its routes.

    Returns the exit code; bad input raises :class:`NSTheoryError` (exit code 2 from the
    command line).

    Examples
    --------
    For independent inputs (rho = 0) the raw ReLU map is E[ReLU(U)]^2 = (1/sqrt(2 pi))^2 =
    1/(2 pi) = 0.15915494309...:

    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["activation", "relu", "--rho", "0", "--dps", "10"])
    >>> code, buf.getvalue().splitlines()[1]
    (0, '  value (precise, 10 digits): 0.1591549431')
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["activation", "relu", "--rho", "nan"])
    2
    """
    out = evaluate(args.name, args.rho, args.q1, args.q2, args.view, args.dps, args.slope,
                   args.reduction, args.coeffs)
    if args.derive:
        out["derivation"] = derivation_latex(args.name)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['activation']}  view={out['view']}  rho={out['rho']}  q1={out['q1']}  "
          f"q2={out['q2']}")
    short = (f"; the certified ball fixes only these of the {out['dps']} asked"
             if out["value_digits"] < out["dps"] else "")
    print(f"  value (precise, {out['value_digits']} digits{short}): {out['value']}")
    print(f"  certified enclosure: [{out['enclosure'][0]}, {out['enclosure'][1]}]")
    print(f"  value route: {out['value_route']}")
    print(f"  1-D reduction ({out['reduction']['note']}): {out['routes']['precise_reduction']}")
    print(f"  agreement: {out['agreement_digits']} digits ({out['agreement_between']})")
    print(f"  time: {out['seconds']} s")
    if "derivation" in out:
        print("  derivation (SymPy; LaTeX align* block, needs amsmath and amssymb):")
        print(out["derivation"])
    return 0
