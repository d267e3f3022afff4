"""``nstheory attention``: noise stability of one softmax attention layer.

Sub-commands::

    nstheory attention stab --n N --d D --rho R --mode identity|lowrank|random [--rank K]
        [--scale sqrt|linear|none] [--samples S] [--hard] [--causal] [--device auto|cpu|cuda]
        [--seed S] [--cq-points P] [--cq-replicates R] [--json]
    nstheory attention s --n N --r R [--dps D] [--sigma SIGMA] [--json]

``stab`` prints the reconstructed theory value(s) and the Monte Carlo estimate of the **raw
uncentred** ``Stab_rho(f_ij) = E[f_ij(X) f_ij(Y)]`` of coordinate ``(i, j)`` (query ``i = n``,
the last token; ``||(W_V)_{:,j}|| = 1``) with its standard error and 95% CI, plus the empirical
argmax agreement ``s`` of that query. Beside the Monte Carlo: for identity ``W`` the
deterministic finite-``d`` quadrature (``--json``: ``deterministic``); for random ``W`` (softmax)
the conditional quasi-Monte Carlo route of :mod:`nstheory.attention.random_finite_d`, which
integrates ``W`` and the other tokens exactly and samples only the query pair
(``--json``: ``conditional``, a statistical estimate with its standard error over
``--cq-replicates`` scramblings of ``--cq-points`` Sobol points; ``--cq-points 0`` skips it).
``s`` prints ``s_n(r)``, the probability that the argmax
of ``n`` i.i.d. bivariate-normal pairs with correlation ``r`` coincides (``--json``: keys
``value`` (decimal string), ``n``, ``r``, ``dps``, ``method``), and beside it a *certified*
enclosure (``certified``: ``lo``, ``hi`` outward-rounded decimal strings, ``radius``) from
:func:`nstheory.attention.certified.s_n_certified` (any ``n <= 256``). With ``--sigma`` it
prints the softmax pattern moment ``S_n(sigma, r)`` of random-``W`` attention at finite ``d``
instead (``r = 1``: the self-weight ``w``), the float lattice value beside a certified enclosure
(:mod:`nstheory.attention.certified_softmax`).
"""

from __future__ import annotations

import argparse
import json

from nstheory.errors import NSTheoryError

VIEW = "raw uncentred Stab_rho(f_ij) = E[f_ij(X) f_ij(Y)]"


def _z_pair(mc, conditional) -> float | None:
    """``(MC - conditional) / sqrt(se_MC^2 + se_cond^2)``; None without spread."""
    se = (mc.stderr ** 2 + conditional.stderr ** 2) ** 0.5
    return (mc.mean - conditional.value) / se if se > 0 else None


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise NSTheoryError(f"{what} must be a number, got {text!r}") from None


def run_s(args) -> int:
    """Run ``nstheory attention s``: print ``s_n(r)`` and its certified enclosure.

    Returns the exit code. Bad ``--n``, ``--r`` or ``--dps`` raise :class:`NSTheoryError`
    (exit code 2 from the command line).

    Examples
    --------
    For ``n = 2`` Sheppard's formula gives ``s_2(r) = 1/2 + arcsin(r)/pi``, so
    ``s_2(1/2) = 2/3``:

    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["attention", "s", "--n", "2", "--r", "0.5", "--dps", "10"])
    >>> code, buf.getvalue().splitlines()[0]
    (0, 's_2(0.5) = 0.6666666667    [closed form (Sheppard)]')
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["attention", "s", "--n", "2", "--r", "1.5"])
    2
    """
    import math
    from fractions import Fraction

    import mpmath

    from nstheory.attention.certified import s_n_certified
    from nstheory.attention.consistency import MAX_SECONDS, s_n
    from nstheory.errors import check_int, check_rho
    from nstheory.numerics import ball_bounds, mp_str
    from nstheory.validate import parse_real

    if getattr(args, "sigma", None) is not None:
        return _run_softmax_s(args)
    n = check_int(args.n, "--n", lo=1, hi=256)
    check_rho(parse_real(args.r, "--r"), "--r")
    dps = check_int(args.dps, "--dps", lo=1, hi=30)
    # the number as given (decimal or p/q), not its float: 0.999999999999999999 is not 1
    r_exact = Fraction(args.r.strip()) if isinstance(args.r, str) else Fraction(float(args.r))
    if abs(r_exact) > 1:
        raise NSTheoryError(f"--r must lie in [-1, 1], got {args.r!r}")
    exact_r = r_exact in (-1, 0, 1)
    certifiable = exact_r or abs(r_exact) <= 1 - Fraction(1, 2**20)
    with mpmath.workdps(dps + 30):
        r = mpmath.mpf(r_exact.numerator) / r_exact.denominator
    max_seconds = MAX_SECONDS if args.max_seconds is None else args.max_seconds
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise NSTheoryError(f"--max-seconds must be a positive number; got {max_seconds!r}")
    try:
        value = s_n(n, r, dps=dps + 2, max_seconds=max_seconds)
        method = ("exact" if n == 1 or exact_r else
                  "closed form (Sheppard)" if n == 2 else
                  "closed form (Plackett reduction)" if n == 3 else
                  "matrix-product trapezoid quadrature (precise, not certified)")
    except NSTheoryError:
        if not certifiable:
            raise
        value = None  # near |r| = 1 the quadrature is refused; the certified rule may run
    cert = None
    if certifiable:
        ball = s_n_certified(n, r_exact, digits=dps, max_seconds=max_seconds)
        if value is None:
            with mpmath.workdps(dps + 10):
                value = mpmath.mpf(ball.mid().str(dps + 8, radius=False))
            method = ("midpoint of the certified enclosure (the matrix-product quadrature "
                      "would exceed the time limit this close to |r| = 1)")
        lo, hi = ball_bounds(ball, dps + 3)
        cert = {"lo": lo, "hi": hi, "radius": f"{float(ball.rad()):.3g}",
                "method": "exact value" if ball.rad() == 0 else
                "trapezoid rule (in u = (a+b)/sqrt2, v = (a-b)/sqrt(2(1-r)) for r >= 0.9) with "
                "rigorous strip-analyticity and truncation error bounds, arb ball arithmetic "
                "(certified)"}
    text = mp_str(value, dps)
    if args.json:
        print(json.dumps({"quantity": "s_n(r) = P(argmax A = argmax B), n iid pairs corr r",
                          "n": n, "r": args.r, "dps": dps, "value": text, "method": method,
                          "certified": cert}))
    else:
        with mpmath.workdps(dps):
            print(f"s_{n}({args.r}) = {text}    [{method}]")
        if cert is None:
            print("  certified enclosure: not available for |r| > 1 - 2^-20 (bounds degenerate)")
        else:
            print(f"  certified enclosure: [{cert['lo']}, {cert['hi']}]  (radius "
                  f"{cert['radius']}; {cert['method']})")
    return 0


def _run_softmax_s(args) -> int:
    """``attention s --sigma``: the softmax pattern moment ``S_n(sigma, r)`` (``r = 1``: the
    self-weight ``w``), float lattice value with its error estimate and certified enclosure.

    Examples
    --------
    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["attention", "s", "--n", "4", "--r", "0.81", "--sigma", "16"])
    >>> code, buf.getvalue().splitlines()[0][:34]
    (0, 'S_4(sigma=16, r=0.81) = 0.65538058')
    """
    from nstheory.attention.certified_softmax import consistency_certified
    from nstheory.attention.pattern_moments import softmax_consistency
    from nstheory.errors import check_int, check_rho
    from nstheory.numerics import ball_bounds
    from nstheory.validate import parse_real

    n = check_int(args.n, "--n", lo=1, hi=256)
    r = float(check_rho(parse_real(args.r, "--r"), "--r"))
    sigma = parse_real(args.sigma, "--sigma")
    if not sigma >= 0 or sigma == float("inf"):
        raise NSTheoryError(f"--sigma must be finite and >= 0, got {args.sigma!r}")
    dps = check_int(args.dps, "--dps", lo=1, hi=15)
    value, err = softmax_consistency(n, sigma, r)
    ball = consistency_certified(n, sigma, r, digits=dps)
    lo, hi = ball_bounds(ball, dps + 3)
    quantity = ("S_n(sigma, r) = E sum_k softmax(sigma G)_k softmax(sigma G')_k, G, G' "
                "standard normal in R^n, coordinate correlation r (r = 1: self-weight w)")
    method = ("trapezoid rules with rigorous strip-analyticity and truncation error bounds "
              "(or the Mehler bracket), arb ball arithmetic (certified)")
    # the float route is the lattice quadrature, or the Mehler bracket's midpoint where the
    # lattice would be too large (its error then far wider); where the certified ball is the
    # narrower, its midpoint is the value printed, and the label says so
    rad = float(ball.rad())
    if rad < err:
        value, err = float(ball.mid()), rad
        route = "certified ball's midpoint (the float64 route is less precise here); radius"
    else:
        route = ("float64 route: Gumbel-max lattice quadrature, or the Mehler bracket where the "
                 "lattice would be too large; step-halving error estimate (not a bound)")
    if args.json:
        print(json.dumps({"quantity": quantity, "n": n, "sigma": sigma, "r": r,
                          "value": value, "error_estimate": err, "method": route,
                          "certified": {"lo": lo, "hi": hi,
                                        "radius": f"{rad:.3g}",
                                        "method": method}}))
    else:
        print(f"S_{n}(sigma={args.sigma}, r={args.r}) = {value:.12g}    [{route} {err:.2g}]")
        print(f"  certified enclosure: [{lo}, {hi}]  (radius {float(ball.rad()):.3g}; {method})")
    return 0


def run_stab(args) -> int:
    """Run ``nstheory attention stab``: Monte Carlo Stab of one attention coordinate vs theory.

    Returns the exit code; an invalid ``--rho``, ``--n``, ``--d`` or ``--mode`` raises
    :class:`NSTheoryError` (exit code 2 from the command line).

    Examples
    --------
    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> argv = ["attention", "stab", "--n", "2", "--d", "4", "--rho", "0.5",
    ...         "--samples", "200", "--device", "cpu"]
    >>> with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
    ...     code = main(argv)
    >>> code, "route monte-carlo, 200 samples, seed 0" in buf.getvalue()
    (0, True)
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["attention", "stab", "--n", "2", "--d", "4", "--rho", "0.5", "--mode", "x"])
    2
    """
    from nstheory.attention.montecarlo import MODES, attention_stability_mc, theory_value
    from nstheory.device import resolve_device
    from nstheory.errors import check_int, check_rho
    from nstheory.stats import mean_ci

    rho = check_rho(_float(args.rho, "--rho"), "--rho")
    n = check_int(args.n, "--n", lo=1)
    d = check_int(args.d, "--d", lo=1)
    if args.mode not in MODES:
        raise NSTheoryError(f"--mode must be one of {', '.join(MODES)}")
    # the sampler's own checks, before any work (10^9 samples: hours even for tiny layers)
    check_int(args.samples, "--samples", lo=2, hi=10**9)
    resolve_device(args.device)
    deterministic = None
    why_not = ("a deterministic finite-d route exists for identity W with softmax and for random "
               "W with n = 2 tokens only (random W also: the n = 2, d >= 4 hard-argmax "
               "Bartlett quadrature, and the statistical conditional quasi-Monte Carlo route); "
               "this value is Monte Carlo only")
    conditional = None
    self_weight = None
    # before the sampling, so that its input checks come first; the query is the last token,
    # so a causal mask hides nothing from it
    if args.mode == "identity" and not args.hard:
        from nstheory.attention.identity_finite_d import (
            self_weight_identity_finite_d,
            stab_identity_finite_d,
        )

        deterministic = stab_identity_finite_d(n, d, rho, args.scale)
        self_weight = self_weight_identity_finite_d(n, d, args.scale)
    elif args.mode == "random" and not args.hard and n == 2:
        from nstheory.attention.quadrature import stab_random_n2_finite_d

        deterministic = stab_random_n2_finite_d(rho, d, args.scale)
    cq_points = check_int(args.cq_points, "--cq-points", lo=0, hi=1 << 20)
    if cq_points and (cq_points < 16 or cq_points & (cq_points - 1)):
        raise NSTheoryError(f"--cq-points must be 0 or a power of two in [16, 2^20]; got "
                            f"{cq_points}")
    conditional_route = args.mode in ("random", "lowrank") and not args.hard and cq_points
    if conditional_route:
        from nstheory.attention.pattern_moments import logit_scale
        from nstheory.attention.random_finite_d import (
            MAX_LOGIT_SPREAD,
            MAX_RANK,
            logit_spread,
            lowrank_logit_spread,
            stab_lowrank_finite_d,
            stab_random_finite_d,
        )
        from nstheory.progress import progress

        reps = check_int(args.cq_replicates, "--cq-replicates", lo=2, hi=1024)
        t = logit_scale(args.scale, d)
        if args.mode == "lowrank":
            if args.rank is None:
                raise NSTheoryError("mode 'lowrank' needs a rank (--rank K)")
            rank = check_int(args.rank, "--rank", lo=1, hi=d)
            spread = lowrank_logit_spread(d, rank, t)
        else:
            rank, spread = None, logit_spread(d, t)
        if spread > MAX_LOGIT_SPREAD or (rank or 0) > MAX_RANK:
            conditional_route = False
            why_not = (f"no deterministic finite-d route for {args.mode} W with softmax; the "
                       "conditional quasi-Monte Carlo route needs a typical logit spread <= "
                       f"{MAX_LOGIT_SPREAD:g} (here {spread:.3g}: near-hard softmax)"
                       + (f" and a rank <= {MAX_RANK}" if rank else "")
                       + "; this value is Monte Carlo only")
    if conditional_route:
        try:
            with progress(total=reps, desc="conditional QMC") as bar:
                if args.mode == "lowrank":
                    conditional = stab_lowrank_finite_d(
                        n, d, rho, rank, args.scale, points=cq_points, replicates=reps,
                        seed=args.seed, progress=lambda k: bar.update(1))
                else:
                    conditional = stab_random_finite_d(
                        n, d, rho, args.scale, points=cq_points, replicates=reps,
                        seed=args.seed, progress=lambda k: bar.update(1))
        except NSTheoryError as exc:  # a refusal of the route, not of the command
            why_not = (f"no deterministic finite-d route for {args.mode} W with softmax; the "
                       f"conditional quasi-Monte Carlo route refused: {exc}; this value is "
                       "Monte Carlo only")
    if conditional is not None:
        why_not = (f"no deterministic finite-d route for {args.mode} W with softmax; the "
                   "conditional quasi-Monte Carlo value is statistical (standard error over "
                   "scramblings)")
    est = attention_stability_mc(
        n, d, rho, args.mode, rank=args.rank, scale=args.scale, samples=args.samples,
        hard=args.hard, causal=args.causal, device=args.device, seed=args.seed,
    )
    theory = {}
    # 1/d logits stay O(1): the pattern does not harden, so the theorems' hard limits do not
    # apply there (argmax, --hard, is scale-free)
    soft = args.scale == "linear" and not args.hard
    if args.mode == "identity" and soft:
        import sympy

        from nstheory.attention.theory import thm52_limit_linear_scale

        theory["d->inf limit at 1/d logits: rho (e^2+n-1)/(e+n-1)^2 ||v||^2 (the attention "
               "row -> (e, 1, ..., 1)/(e+n-1); not Theorem 5.2's hard self-pattern)"] = float(
            thm52_limit_linear_scale(n).subs(sympy.Symbol("rho"), rho))
    elif args.mode == "identity":
        theory["thm5.2_limit rho*||v||^2 (d->inf)"] = theory_value("identity", n, rho)
    elif args.mode == "lowrank" and soft:
        theory["d->inf limit at 1/d logits"] = ("not computed: the 1/d scale's limit for "
                                                "low-rank W is not implemented (Theorem 5.2's "
                                                "rho is the hard self-pattern limit)")
    elif args.mode == "lowrank":  # the d -> infinity limit at fixed rank is lower
        theory["thm5.2_limit rho*||v||^2 (rank and d -> inf; not the fixed-rank limit)"] = \
            theory_value("identity", n, rho)
    elif soft:
        from nstheory.attention.pattern_moments import softmax_consistency

        s1, s1_err = softmax_consistency(n, 1.0, rho * rho)
        theory["d->inf limit at 1/d logits: rho*S_n(sigma=1, rho^2)*||v||^2 (logits of unit "
               "spread, correlation rho^2; not Theorem 5.3's hard s_n)"] = rho * s1
        theory["S_n(sigma=1, rho^2) (float route; error estimate)"] = [s1, s1_err]
    else:
        from nstheory.attention.consistency import s_n

        try:
            s = float(s_n(n, rho * rho))
        except NSTheoryError as exc:  # |rho| so close to 1 that the quadrature would take long
            theory["thm5.3 rho*s_n(rho^2)*||v||^2 (reconstructed)"] = f"not computed: {exc}"
        else:
            theory["thm5.3 rho*s_n(rho^2)*||v||^2 (reconstructed)"] = rho * s
            theory["s_n(rho^2)"] = s
        if n == 2 and d >= 4 and args.hard and not args.causal:
            from nstheory.attention.quadrature import stab_random_hard_n2

            theory["finite-d exact, hard argmax (Bartlett quadrature, 4^10 nodes)"] = \
                stab_random_hard_n2(rho, d)
    if deterministic is not None or any(k.startswith("finite-d exact") for k in theory):
        why_not = None
    lo, hi = mean_ci(est.stab.mean, est.stab.stderr)
    alo, ahi = mean_ci(est.agree.mean, est.agree.stderr)
    label = (f"{VIEW} of coordinate (i={est.params['i'] + 1}, j), ||v||=1, route monte-carlo, "
             f"{est.stab.n} samples, seed {args.seed}")
    if args.json:
        print(json.dumps({
            "view": VIEW, "route": "monte-carlo", "params": est.params, "device": est.device,
            "theory": theory,
            "deterministic_unavailable": why_not,
            "deterministic": None if deterministic is None else {
                "route": deterministic.quantity,
                "value": deterministic.value, "error_estimate": deterministic.error,
                "error_estimate_kind": "|fine - coarse| quadrature (an estimate, not a bound)",
                "resolution": deterministic.params["resolution"],
                "coarse_resolution": deterministic.params["coarse_resolution"],
                "mc_z": (est.stab.mean - deterministic.value) / est.stab.stderr
                if est.stab.stderr > 0 else None,
                "self_weight": None if self_weight is None else self_weight.value,
                "self_weight_error_estimate": None if self_weight is None else self_weight.error},
            "conditional": None if conditional is None else {
                "route": conditional.quantity,
                "value": conditional.value, "stderr": conditional.stderr,
                "ci95": list(conditional.ci95),
                "points": conditional.params["points"],
                "replicates": conditional.params["replicates"],
                "sampled_points": conditional.params.get("sampled_points", 0),
                "z_mc": _z_pair(est.stab, conditional)},
            "self_weight": {"what": "mean attention weight of the query on itself, E[a_ii]",
                            "mean": 1 - est.offdiag.mean, "stderr": est.offdiag.stderr},
            "stab": {"mean": est.stab.mean, "stderr": est.stab.stderr, "n": est.stab.n,
                     "ci95": [lo, hi]},
            "argmax_agreement": {"mean": est.agree.mean, "stderr": est.agree.stderr,
                                 "ci95": [alo, ahi]},
            "seconds": est.seconds, "samples_per_s": est.throughput,
        }))
        return 0
    print(f"attention layer: n={n} d={d} rho={rho} mode={args.mode}"
          + (f" rank={args.rank}" if args.rank else "")
          + f" scale={args.scale} hard={args.hard} causal={args.causal} device={est.device}")
    for k, v in theory.items():
        print(f"  theory  {k}: {v!r}")
    if why_not:
        print(f"  exact   none: {why_not}")
    if deterministic is not None:
        z = ((est.stab.mean - deterministic.value) / est.stab.stderr
             if est.stab.stderr > 0 else float("nan"))
        what = ("identity W" if args.mode == "identity" else
                "random W, n = 2: W integrated exactly, Bartlett and logistic-mixture rules")
        print(f"  exact   finite-d {VIEW} ({what}, deterministic quadrature): "
              f"{deterministic.value:.10g} ± {deterministic.error:.2g} (error estimate: |fine - "
              f"coarse|, not a bound); Monte Carlo is z = {z:+.2f} from it")
        if self_weight is not None:
            print(f"  exact   mean self-weight E[a_ii] (deterministic quadrature): "
                  f"{self_weight.value:.10g} ± {self_weight.error:.2g} (error estimate)")
    if conditional is not None:
        clo, chi = conditional.ci95
        zc = _z_pair(est.stab, conditional)
        what = ("random W; W and the other tokens integrated exactly, query pair by scrambled "
                "Sobol points" if args.mode == "random" else
                f"low-rank W of rank {rank}; the other tokens integrated exactly, U^T U and the "
                "query pair by scrambled Sobol points")
        print(f"  cond.   finite-d {VIEW} ({what}, {conditional.params['replicates']} x "
              f"{conditional.params['points']} points): {conditional.value:.6g} ± "
              f"{conditional.stderr:.2g} (standard error over scramblings; 95% CI "
              f"[{clo:.6g}, {chi:.6g}]); Monte Carlo is z = "
              + ("n/a" if zc is None else f"{zc:+.2f}") + " from it (both errors)")
    print(f"  {label}")
    print(f"  MC      Stab = {est.stab.mean:.6g} ± {est.stab.stderr:.3g} (± one standard error; "
          f"95% CI [{lo:.6g}, {hi:.6g}], n = {est.stab.n})")
    print(f"  MC      argmax agreement s = {est.agree.mean:.6g} ± {est.agree.stderr:.3g} "
          "(standard error)")
    print(f"  MC      mean self-weight E[a_ii] = {1 - est.offdiag.mean:.6g} ± "
          f"{est.offdiag.stderr:.3g} (standard error)")
    print(f"  {est.throughput:,.0f} samples/s")
    return 0


def register_cli(subparsers) -> None:
    """Add the ``attention`` sub-command (with ``stab`` and ``s``) to ``subparsers``.

    Examples
    --------
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["attention"].parse_args(["s", "--n", "3", "--r", "0.25"])
    >>> args.n, args.r, args.dps, args.json, args.func is run_s
    (3, '0.25', 15, False, True)
    >>> args = sub.choices["attention"].parse_args(
    ...     ["stab", "--n", "2", "--d", "8", "--rho", "0.9", "--hard"])
    >>> args.mode, args.samples, args.hard, args.func is run_stab
    ('identity', 20000, True, True)
    """
    p = subparsers.add_parser("attention", help="noise stability of one softmax attention layer",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="attention_command", metavar="SUBCOMMAND")
    ps = sub.add_parser("stab", help="Monte Carlo Stab of one attention coordinate vs theory")
    ps.add_argument("--n", type=int, required=True, help="tokens")
    ps.add_argument("--d", type=int, required=True, help="channels")
    ps.add_argument("--rho", required=True, help="Gaussian noise correlation in [-1, 1]")
    ps.add_argument("--mode", default="identity", help="identity | lowrank | random")
    ps.add_argument("--rank", type=int, default=None, help="rank k of W = U U^T (lowrank)")
    ps.add_argument("--scale", default="sqrt", choices=["sqrt", "linear", "none"])
    ps.add_argument("--samples", type=int, default=20000)
    ps.add_argument("--hard", action="store_true", help="hard-argmax attention")
    ps.add_argument("--causal", action="store_true", help="causal mask")
    ps.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    ps.add_argument("--seed", type=int, default=0)
    ps.add_argument("--cq-points", type=int, default=512,
                    help="random W: Sobol points per scrambling of the conditional route "
                    "(power of two; 0 skips it)")
    ps.add_argument("--cq-replicates", type=int, default=8,
                    help="random W: independent scramblings of the conditional route")
    ps.add_argument("--json", action="store_true")
    ps.set_defaults(func=run_stab)
    pr = sub.add_parser("s", help="permutation-consistency factor s_n(r)")
    pr.add_argument("--n", type=int, required=True, help="pairs (tokens), 1..256")
    pr.add_argument("--r", required=True, help="pair correlation r in [-1, 1] (r = rho^2)")
    pr.add_argument("--dps", type=int, default=15, help="digits printed and certified (1..30; "
                    "1..15 with --sigma)")
    pr.add_argument("--sigma", default=None,
                    help="finite logit scale: print the softmax pattern moment S_n(sigma, r) "
                    "(random-W attention at finite d, sigma^2 = c^2 d^2 Q (Q - P); r = 1: the "
                    "self-weight w) with its certified enclosure, instead of s_n(r)")
    pr.add_argument("--max-seconds", type=float, default=None,
                    help="refuse a quadrature predicted to take longer (default: "
                    "nstheory.attention.consistency.MAX_SECONDS, 2 minutes; the grids grow "
                    "like (1 - |r|)^(-3/2) as |r| -> 1)")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=run_s)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
