"""``nstheory boolean FUNC ARGS [--rho R] [--json]``: exact analysis of a zoo function.

FUNC and ARGS::

    dictator N[,I]        x_I on N bits (I = 1 by default)
    parity N[:S]          chi_S, S a comma list of 1-based coordinates (all N by default)
    majority N            Maj_N, N odd
    tribes W,S            Tribes_{W,S} on N = W*S bits
    and N | or N          AND_N / OR_N (-1 = True)
    threshold W1,W2,...   sgn(w.x - theta), with --theta
    noisy-parity N:S      E[label] = (1 - 2 eta) chi_S, with --eta
    random N              a uniformly random +-1 function, with --seed

``--rho`` is parsed exactly (``0.5`` and ``1/2`` are the same rational), so Stab_rho is an exact
rational. With ``--json`` one JSON object is printed; every exact quantity is an object
``{"exact": "p/q", "float": x}``; the keys include ``stab``, ``total_influence``, ``weights``
(list by degree 0..n), ``influences`` (list by coordinate 1..n). Beyond n = 24, ``--sampling``
prints Monte Carlo estimates (mean, standard error, 95% CI) instead.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

from nstheory.errors import NSTheoryError, check_rho
from nstheory.validate import arg_exact_real, arg_int, arg_seed, exact_real, parse_int_list


def view(boolean: bool) -> str:
    """What ``Stab_rho`` is for this function: a correlation for a ±1-valued one, an
    uncentred second moment otherwise.

    >>> view(False)
    'raw Stab_rho[f] = E[f(x) f(y)] (an uncentred second moment of a real-valued f)'
    """
    return ("raw Stab_rho[f] = E[f(x) f(y)] " +
            ("(+-1-valued f: the correlation 2 Pr[f(x) = f(y)] - 1, not an agreement probability)"
             if boolean else "(an uncentred second moment of a real-valued f)"))


#: Largest number of bits of a zoo function (exact analysis stops at 24; sampling goes on).
MAX_BITS = 10_000


def _ints(text: str, what: str, count: int | None = None) -> list[int]:
    return parse_int_list(text, what, lo=1, hi=MAX_BITS, min_len=count or 1, max_len=count)


#: Most Monte Carlo samples of ``--sampling`` (about a minute on one core at n = 100).
MAX_SAMPLES = 10_000_000


def build_function(func: str, args: str, eta: str = "1/10", theta=0, seed: int = 0,
                   sampling: bool = False):
    """The zoo function named by the CLI arguments.

    >>> build_function("tribes", "2,3").n
    6
    >>> build_function("parity", "5:1,3").name
    'chi_{1,3}'
    """
    from nstheory.boolean import zoo

    func = func.lower()
    if func == "dictator":
        v = parse_int_list(args, "dictator N[,I]", lo=1, hi=MAX_BITS, max_len=2)
        return zoo.dictator(v[0], v[1] if len(v) > 1 else 1, sampling=sampling)
    if func == "parity":
        head, _, tail = args.partition(":")
        n = _ints(head, "parity N", 1)[0]
        return zoo.parity(n, _ints(tail, "parity S") if tail else None, sampling=sampling)
    if func == "majority":
        return zoo.majority(_ints(args, "majority N", 1)[0], sampling=sampling)
    if func == "tribes":
        v = _ints(args, "tribes W,S", 2)
        return zoo.tribes(v[0], v[1], sampling=sampling)
    if func in ("and", "or"):
        n = _ints(args, f"{func} N", 1)[0]
        return (zoo.and_ if func == "and" else zoo.or_)(n, sampling=sampling)
    if func in ("threshold", "ltf"):
        # taken exactly (0.1 is 1/10, as for --rho): the signs of w.x - theta are exact
        ws = [exact_real(t, "threshold W1,W2,...") for t in args.split(",")]
        if not 1 <= len(ws) <= MAX_BITS:
            raise NSTheoryError(f"threshold needs 1 to {MAX_BITS} weights, got {args!r}")
        return zoo.threshold(ws, exact_real(theta, "--theta"), sampling=sampling)
    if func == "noisy-parity":
        head, _, tail = args.partition(":")
        return zoo.noisy_sparse_parity(_ints(head, "noisy-parity N", 1)[0],
                                       _ints(tail, "noisy-parity S") if tail else [1],
                                       exact_real(eta, "--eta"))
    if func == "random":
        from nstheory.boolean.function import EXACT_LIMIT

        n = parse_int_list(args, "random N", lo=1, hi=EXACT_LIMIT, max_len=1)[0]
        return zoo.random_function(n, seed=seed)
    raise NSTheoryError(f"unknown function {func!r}; choose from dictator, parity, majority, "
                        "tribes, and, or, threshold, noisy-parity, random")


def _q(x: Fraction) -> dict:
    from nstheory.numerics import rational_json

    return rational_json(x)


def _exact(q: dict) -> str:
    return q["exact"] if q["exact"] is not None else f"({q['exact_omitted']})"


def report(f, rho: Fraction) -> dict:
    """The JSON-ready exact report of ``f`` at ``rho``.

    Every exact quantity is a dict ``{"exact": "p/q", "float": x}``.

    Examples
    --------
    Maj_3 = (x1 + x2 + x3)/2 - x1 x2 x3/2, so Stab_rho = 3/4 rho + 1/4 rho^3 = 13/32 at
    rho = 1/2, and each influence is 1/2:

    >>> r = report(build_function("majority", "3"), Fraction(1, 2))
    >>> r["stab"]["exact"], r["total_influence"]["exact"], r["influences"][0]["exact"]
    ('13/32', '3/2', '1/2')
    """
    from nstheory.boolean.analysis import summary

    s = summary(f, rho)
    out = {
        "function": f.name,
        "n": s["n"],
        "boolean": s["boolean"],
        "rho": _q(s["rho"]),
        "view": view(s["boolean"]),
        "stab": _q(s["stab"]),
        "total_influence": _q(s["total_influence"]),
        "weights": [_q(w) for w in s["weights"]],
        "influences": [_q(v) for v in s["influences"]],
        "degree": s["degree"],
        "mean": _q(s["mean"]),
        "squared_norm": _q(s["squared_norm"]),
        "average_sensitivity": _q(s["average_sensitivity"]),
        "max_sensitivity": s["max_sensitivity"],
    }
    if s["n"]:
        out["normalised_average_sensitivity"] = _q(s["average_sensitivity"] / s["n"])
    return out


def _print_text(r: dict) -> None:
    print(f"{r['function']}  (n = {r['n']}, {'+-1-valued' if r['boolean'] else 'real-valued'})")
    print(f"Stab_rho[f] at rho = {_exact(r['rho'])}  [{r['view']}]")
    print(f"  = {_exact(r['stab'])} = {r['stab']['float']:.12g}")
    ti = r["total_influence"]
    print(f"total influence I[f] = {_exact(ti)} = {ti['float']:.12g}")
    a = r["average_sensitivity"]
    note = " (= I[f], +-1-valued)" if r["boolean"] else " (counts value changes)"
    line = f"average sensitivity as(f) = {_exact(a)} = {a['float']:.12g}{note}"
    if "normalised_average_sensitivity" in r:
        line += f"; as(f)/n = {r['normalised_average_sensitivity']['float']:.12g}"
    print(line)
    print(f"max sensitivity s(f) = {r['max_sensitivity']}; degree = {r['degree']}")
    print("Fourier weight by degree W^k:")
    for k, w in enumerate(r["weights"]):
        if w["exact"] != "0":
            print(f"  k = {k:2d}: {_exact(w)} = {w['float']:.12g}")
    print("influences Inf_i:")
    for i, v in enumerate(r["influences"], 1):
        print(f"  i = {i:2d}: {_exact(v)} = {v['float']:.12g}")


def theory(func: str, fargs: str, rho: Fraction) -> list:
    """Closed-form reference values for the CLI's function (see
    :mod:`nstheory.boolean.reference`), parsed from the same arguments.

    >>> [r.label for r in theory("tribes", "3,3", Fraction(1, 2))][0]
    'Inf_i = 2^(1-w) (1-2^-w)^(s-1)'
    """
    from nstheory.boolean.reference import references

    func = func.lower()
    if func == "parity":
        head, _, tail = fargs.partition(":")
        return references(func, (_ints(head, "parity N")[0],
                                 _ints(tail, "parity S") if tail else None), rho)
    if func in ("dictator", "majority", "and", "or"):
        return references(func, (_ints(fargs, f"{func} N")[0],), rho)
    if func == "tribes":
        return references(func, tuple(_ints(fargs, "tribes W,S")), rho)
    return []


def _print_theory(refs) -> None:
    if refs:
        print("theory (closed forms, computed without the truth table):")
        for ref in refs:
            print(f"  {ref}")


def run(args: argparse.Namespace) -> int:
    """Run ``nstheory boolean``: print the exact (or sampled) analysis of a zoo function.

    Returns the exit code; bad input raises :class:`NSTheoryError` (exit code 2 from the
    command line).

    Examples
    --------
    The dictator x_1 has Stab_rho = rho:

    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["boolean", "dictator", "3", "--rho", "1/3", "--json"])
    >>> code, json.loads(buf.getvalue())["stab"]
    (0, {'exact': '1/3', 'float': 0.3333333333333333})
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["boolean", "majority", "3", "--rho", "2"])
    2
    """
    rho = exact_real(args.rho, "--rho")
    check_rho(rho)
    f = build_function(args.function, args.fargs, args.eta, args.theta, args.seed, args.sampling)
    refs = theory(args.function, args.fargs, rho)
    from nstheory.boolean.sampling import SampledFunction

    if isinstance(f, SampledFunction):
        ests = {
            "stab": f.stability(float(rho), args.samples, args.seed),
            "total_influence": f.total_influence(args.samples, args.seed + 1),
        }
        if args.json:
            print(json.dumps({"function": f.name, "n": f.n, "rho": _q(rho),
                              "view": view(f.boolean), "sampling": True,
                              **{k: {"mean": e.mean, "stderr": e.stderr, "ci95": list(e.ci95),
                                     "n": e.n, "seed": e.seed,
                                     **({"note": e.note} if e.note else {})}
                                 for k, e in ests.items()},
                              "theory": [ref.to_dict() for ref in refs]}, indent=1))
        else:
            from nstheory.boolean.function import EXACT_LIMIT

            why = ("exact enumeration limit exceeded" if f.n > EXACT_LIMIT else
                   "--sampling; exact analysis is available at this n")
            print(f"{f.name} (n = {f.n}, Monte Carlo: {why})  "
                  f"[{view(f.boolean)}; ± is one standard error]")
            for e in ests.values():
                print(f"  {e}")
            _print_theory(refs)
        return 0
    r = report(f, rho)
    r["theory"] = [ref.to_dict() for ref in refs]
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        _print_text(r)
        _print_theory(refs)
    return 0


def register_cli(subparsers) -> None:
    """Add the ``boolean`` sub-command to ``subparsers``.

    Examples
    --------
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["boolean"].parse_args(["tribes", "2,3", "--rho", "1/4"])
    >>> args.function, args.fargs, args.rho, args.samples, args.func is run
    ('tribes', '2,3', '1/4', 200000, True)
    """
    p = subparsers.add_parser(
        "boolean",
        help="exact Boolean Fourier analysis of a named function",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("function", metavar="FUNC",
                   help="dictator, parity, majority, tribes, and, or, threshold, noisy-parity, "
                        "random")
    p.add_argument("fargs", metavar="ARGS",
                   help="function arguments, e.g. 11 (majority) or 3,3 (tribes)")
    p.add_argument("--rho", default="1/2", help="noise correlation (exact rational; default 1/2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--eta", default="1/10", help="label-noise rate for noisy-parity")
    p.add_argument("--theta", type=arg_exact_real(), default=Fraction(0),
                   help="threshold for threshold/ltf (a finite real number, taken exactly like "
                   "the weights: 0.1 is 1/10)")
    p.add_argument("--seed", type=arg_seed(), default=0,
                   help="seed for random / sampling (0 to 2^32-1)")
    p.add_argument("--sampling", action="store_true",
                   help="Monte Carlo estimates (required for n > 24)")
    p.add_argument("--samples", type=arg_int(2, MAX_SAMPLES), default=200_000,
                   help=f"samples for --sampling (2 to {MAX_SAMPLES:.0e})")
    p.set_defaults(func=run)
