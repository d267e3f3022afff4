"""``nstheory spectrum --arch mlp|transformer --act A --depth L --n N [--sw2 S --sb2 B] [--dps D]``

Eigenvalues by degree of the NNGP and NTK of an infinitely wide MLP on the uniform Boolean cube
``{-1, 1}^n`` (NTK parametrisation; weights N(0, sw2 / fan-in), biases N(0, sb2); ``depth``
hidden layers; every layer trained for the NTK). The kernels are ``Phi(<x, y>/n)`` and their
eigenfunctions are the monomials ``chi_S``; the eigenvalue of degree ``k = |S|`` has
multiplicity ``C(n, k)``.

Route: certified (python-flint arb). The kernel is enclosed at the ``n + 1`` cube points and
the alternating Krawtchouk sum is done in exact integer arithmetic, with the propagated radius
bounded rigorously; precision is raised until every eigenvalue has ``dps`` correct digits
(an eigenvalue whose enclosure contains 0 is reported as ``"0"`` with ``"resolved": false``
and its enclosure, which bounds it).

Per degree ``k``: ``multiplicity`` (C(n, k), an exact integer), ``nngp`` and ``ntk`` (decimal
strings, midpoints to ``dps`` significant digits) and ``nngp_enclosure``/``ntk_enclosure``
(outward-rounded ``[lo, hi]``). Also printed: ``ga_influence`` = ``sum_k k C(n,k) mu_k /
sum_k C(n,k) mu_k``, the expected total influence over the expected squared norm of a function
drawn from the kernel's Gaussian process (enclosures).
"""

from __future__ import annotations

import argparse
import json

from nstheory.errors import NSTheoryError


def register_cli(subparsers) -> None:
    """Add ``nstheory spectrum`` to the subcommand parser ``subparsers``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="nstheory")
    >>> register_cli(parser.add_subparsers())
    >>> args = parser.parse_args(["spectrum", "--n", "5", "--act", "erf"])
    >>> args.func is run, args.n, args.act, args.depth
    (True, '5', 'erf', '1')
    """
    p = subparsers.add_parser(
        "spectrum",
        help="certified NNGP/NTK eigenvalues by degree on the Boolean cube",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--arch", default="mlp",
                   help="mlp (default) or transformer (one-layer linear attention, NTK (1+t)^2, "
                        "NNGP (1+t)^2/4; --depth must be 1, --act/--sw2/--sb2 do not apply)")
    p.add_argument("--act", default="relu",
                   help="activation: relu, leaky_relu (--slope), abs, erf, identity, "
                        "polynomial (--coeffs)")
    p.add_argument("--depth", default="1", help="hidden layers (integer >= 0), default 1")
    p.add_argument("--n", required=True, help="cube dimension (1..10000)")
    p.add_argument("--sw2", default="2", help="weight variance sigma_w^2 (> 0), default 2")
    p.add_argument("--sb2", default="0", help="bias variance sigma_b^2 (>= 0), default 0")
    p.add_argument("--dps", default="15", help="significant decimal digits (1..1000), default 15")
    p.add_argument("--slope", default=None, help="leaky_relu negative slope")
    p.add_argument("--coeffs", default=None, help="polynomial coefficients a0,a1,... (ascending)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _number(text, name: str, positive: bool = False) -> str:
    import math

    try:
        v = float(text)
    except (TypeError, ValueError):
        raise NSTheoryError(f"--{name} must be a number, got {text!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        rng = "(0, inf)" if positive else "[0, inf)"
        raise NSTheoryError(f"--{name} must be a finite number in {rng}, got {text!r}")
    return str(text)


def evaluate(arch: str = "mlp", act: str = "relu", depth=1, n=20, sw2="2", sb2="0", dps=15,
             slope=None, coeffs=None) -> dict:
    """The CLI's computation as a dict (see the module docstring).

    >>> out = evaluate(act="relu", depth=1, n=3, dps=10)
    >>> out["degrees"][1]["multiplicity"], out["degrees"][1]["ntk"]   # odd part of NTK: 2t
    (3, '0.6666666667')
    >>> evaluate(n=0)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --n must be an integer in [1, 10000], got 0
    """
    import time

    from flint import arb

    from nstheory.errors import check_choice, check_int
    from nstheory.numerics import arb_precision, ball_bounds, bits_for_digits, exact_decimal_str
    from nstheory.spectrum.cube import MAX_N, multiplicities, resolved, spectra_arb
    from nstheory.spectrum.kernels import NTK_ACTIVATIONS, MLPKernel

    t0 = time.perf_counter()
    check_choice(arch, ("mlp", "transformer"), "arch")
    check_choice(act, NTK_ACTIVATIONS, "act")
    try:
        n = check_int(n, "n", lo=1, hi=MAX_N)
    except NSTheoryError:
        raise NSTheoryError(f"--n must be an integer in [1, {MAX_N}], got {n!r}") from None
    try:
        depth = check_int(depth, "depth", lo=0, hi=1000)
        dps = check_int(dps, "dps", lo=1, hi=1000)
    except NSTheoryError as exc:
        raise NSTheoryError(f"--{exc} (accepted: depth 0..1000, dps 1..1000)") from None
    sw2 = _number(sw2, "sw2", positive=True)
    sb2 = _number(sb2, "sb2")
    params = {}
    if slope is not None:
        if act != "leaky_relu":
            raise NSTheoryError("--slope applies only to leaky_relu")
        v = _finite(slope)
        if v is None:
            raise NSTheoryError(f"--slope must be a finite number, got {slope!r}")
        params["slope"] = str(slope).strip()  # read exactly (0.1 is 1/10) by the activation
    if (coeffs is not None) != (act == "polynomial"):
        raise NSTheoryError("--coeffs is required for, and applies only to, polynomial")
    if coeffs is not None:
        parts = [c.strip() for c in str(coeffs).split(",")]
        if not parts or any(not c for c in parts):
            raise NSTheoryError(f"--coeffs must be numbers a0,a1,..., got {coeffs!r}")
        for c in parts:
            v = _finite(c)
            if v is None:
                raise NSTheoryError(f"--coeffs entries must be finite numbers, got {c!r}")
        params["coeffs"] = tuple(parts)
    bits = bits_for_digits(dps, guard=4)
    if arch == "transformer":
        if depth != 1:
            raise NSTheoryError(
                f"--depth must be 1 for --arch transformer (one layer), got {depth}")
        sw2 = sb2 = "n/a"
        act_name = "linear attention"
        nngp, ntk = spectra_arb(lambda t: ((1 + t) ** 2 / 4, (1 + t) ** 2), n, bits)
    else:
        kernel = MLPKernel(act, depth, sw2, sb2, **params)
        act_name = kernel.act.name
        try:
            nngp, ntk = spectra_arb(kernel.arb, n, bits)
        except NSTheoryError as exc:
            raise NSTheoryError(
                f"the kernel recursion lost its precision by depth {depth} (sw2 = {sw2}, sb2 = "
                f"{sb2}: the variance shrinks or grows geometrically with depth); raise --dps "
                f"or lower --depth ({exc})") from None
    mult = multiplicities(n)
    rows = []
    for k in range(n + 1):
        row = {"k": k, "multiplicity": mult[k]}
        for name, ball in (("nngp", nngp[k]), ("ntk", ntk[k])):
            # a ball holding 0 has no digits to print: its midpoint is rounding noise (1e-32
            # for an exactly vanishing degree); "0" with the enclosure says what is known
            row[name] = "0" if ball.contains(0) else exact_decimal_str(ball.mid(), dps)
            row[f"{name}_enclosure"] = list(ball_bounds(ball, dps + 2))
            row[f"{name}_resolved"] = resolved(ball, bits - 4)
        rows.append(row)
    influence = {}
    with arb_precision(bits=bits + 20):
        for name, mus in (("nngp", nngp), ("ntk", ntk)):
            num = sum((k * mult[k] * mus[k] for k in range(n + 1)), arb(0))
            den = sum((mult[k] * mus[k] for k in range(n + 1)), arb(0))
            ratio = num / den
            if not ratio.is_finite():
                raise NSTheoryError(
                    f"the {name} kernel vanishes at depth {depth} (sw2 = {sw2}, sb2 = {sb2}): "
                    "its eigenvalues are 0 or lost their precision, so the influence ratio is "
                    "undefined; use a larger sw2, a smaller depth or a higher --dps")
            influence[name] = {"value": exact_decimal_str(ratio.mid(), dps),
                               "enclosure": list(ball_bounds(ratio, dps + 2))}
    return {
        "arch": arch,
        "activation": act_name,
        "depth": depth,
        "n": n,
        "sw2": sw2,
        "sb2": sb2,
        "dps": dps,
        "route": "certified (arb enclosures at the cube points, exact integer Krawtchouk "
                 "transform, rigorous radius)",
        "kernel": "Phi(<x,y>/n); eigenvalue mu_k of every monomial of degree k",
        "degrees": rows,
        "gp_influence_ratio": influence,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _finite(text):
    import math

    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _round_int(m: int) -> str:
    """A big integer to 6 significant digits, keeping its exponent (exact value in --json).

    >>> _round_int(12345678901234)
    '1.23457e13~'
    """
    import decimal

    with decimal.localcontext() as c:
        c.prec = 6
        d = +decimal.Decimal(m)
    return format(d, "e").replace("e+", "e") + "~"


def run(args) -> int:
    """Run ``nstheory spectrum``: print the eigenvalues by degree (text or ``--json``).

    Returns
    -------
    int
        The exit code, 0.

    Examples
    --------
    For the linear-attention transformer on ``{-1, 1}^2`` the NTK is ``(1 + t)^2`` with
    ``t = (x1 y1 + x2 y2) / 2``, that is ``3/2 + (x1 y1 + x2 y2) + x1 x2 y1 y2 / 2``:
    eigenvalues ``3/2, 1, 1/2`` by degree.

    >>> import argparse, contextlib, io, json
    >>> parser = argparse.ArgumentParser(prog="nstheory")
    >>> register_cli(parser.add_subparsers())
    >>> args = parser.parse_args(["spectrum", "--arch", "transformer", "--n", "2", "--json"])
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = run(args)
    >>> code, [d["ntk"] for d in json.loads(buf.getvalue())["degrees"]]
    (0, ['1.5', '1', '0.5'])
    """
    out = evaluate(args.arch, args.act, args.depth, args.n, args.sw2, args.sb2, args.dps,
                   args.slope, args.coeffs)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['arch']} {out['activation']} depth={out['depth']} n={out['n']} "
          f"sw2={out['sw2']} sb2={out['sb2']}: eigenvalues by degree k, {out['dps']} digits")
    print(f"  route: {out['route']}; C(n,k) marked ~ is rounded (exact in --json)")
    print(f"  {'k':>5} {'C(n,k)':>12} {'nngp':>24} {'ntk':>24}  enclosures [lo, hi]")
    for r in out["degrees"]:
        mult = r["multiplicity"]
        ms = str(mult) if mult < 10**11 else _round_int(mult)
        flag = "" if (r["nngp_resolved"] and r["ntk_resolved"]) else "  (contains 0)"
        print(f"  {r['k']:>5} {ms:>12} {r['nngp']:>24} {r['ntk']:>24}  "
              f"nngp [{r['nngp_enclosure'][0]}, {r['nngp_enclosure'][1]}] "
              f"ntk [{r['ntk_enclosure'][0]}, {r['ntk_enclosure'][1]}]{flag}")
    for name, v in out["gp_influence_ratio"].items():
        print(f"  E[I(f)]/E[||f||^2] for the {name} GP: {v['value']} "
              f"[{v['enclosure'][0]}, {v['enclosure'][1]}]")
    print(f"  time: {out['seconds']} s")
    return 0
