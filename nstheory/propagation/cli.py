"""``nstheory propagate``: stability through depth by certified intervals, point recurrence and
Monte Carlo of random-weight torch models.

Cheap to import: torch and flint load only when the command runs.
"""

from __future__ import annotations

from nstheory.validate import arg_input_file, arg_int, arg_real, arg_rho, arg_seed

#: Limits of the arguments (see ``--help``): arb precision, depth, width, Monte Carlo work.
MAX_BITS = 4096
MAX_DEPTH = 100_000
MAX_WIDTH = 16_384
MAX_MC_SAMPLES = 100_000_000
#: Pattern-resolved mean field: default samples with random-W attention, and the limit.
AUTO_PATTERN_SAMPLES = 200_000
#: default failure probability of the pattern-resolved enclosure, simultaneous over blocks
AUTO_PATTERN_DELTA = 1e-6
MAX_PATTERN_SAMPLES = 10_000_000
AUTO_LEAK_SAMPLES = 20_000
MIN_AUTO_LEAK_SAMPLES = 500


def auto_leak_samples(depth: int) -> int:
    """Default leakage samples at ``depth``: the work of 20 000 samples through 10 blocks.

    >>> auto_leak_samples(6), auto_leak_samples(100), auto_leak_samples(10_000)
    (20000, 2000, 500)
    """
    return max(MIN_AUTO_LEAK_SAMPLES, min(AUTO_LEAK_SAMPLES, 10 * AUTO_LEAK_SAMPLES // depth))
#: Refuse Monte Carlo runs of more than this many multiply-adds (depth x samples x width^2):
#: about an hour of CPU time; the run shows a progress bar with a time estimate below it.
MAX_MC_WORK = 1e14

LEGEND = ("columns: interval = certified mean-field enclosure [lo, hi] (arb, outward rounded); "
          "point = float recurrence; MC mean ± SE = Monte Carlo mean and its standard error; "
          "z = distance of the MC mean from the interval in SEs (0 inside); in? = yes if the "
          "interval meets the MC 99.9% CI (Student-t over the networks: |z| <= 3.29 for many, "
          "more for few); tight = interval width / 99.9% CI width (<< 1: the interval is "
          "sharper than the Monte Carlo can resolve)")


def mc_device(args) -> str | None:
    """The device the Monte Carlo runs on, as reports name it (``None`` without Monte Carlo):
    the CPU and CUDA random streams differ, so a seeded result depends on it.

    >>> from argparse import Namespace
    >>> mc_device(Namespace(mc_samples=10, device="cpu")).startswith("cpu")
    True
    """
    if not args.mc_samples:
        return None
    from nstheory.device import describe_device, resolve_device

    return describe_device(resolve_device(args.device))


def register_cli(sub) -> None:
    """Add the ``propagate`` sub-command to ``sub`` (an ``add_subparsers`` object).

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["propagate"].parse_args(["--arch", "transformer", "--depth", "3"])
    >>> args.arch, args.depth, args.rho, args.width, args.mc_samples, args.func is run
    ('transformer', 3, 0.9, 256, 0, True)
    """
    p = sub.add_parser(
        "propagate",
        help="interval propagation of stability through depth (+ Monte Carlo check)",
        description="Per-layer raw noise stability E[h(X)_ij h(Y)_ij] of a deep network: "
        "certified mean-field interval [lo, hi] (arb, outward rounded), float point recurrence, "
        "and the Monte Carlo estimate of random-weight torch models with its confidence interval. "
        + LEGEND,
    )
    p.add_argument("--arch", choices=("mlp", "attention", "transformer"), default="mlp")
    p.add_argument("--depth", type=arg_int(1, MAX_DEPTH), default=10,
                   help=f"number of blocks, 1 to {MAX_DEPTH} (default 10)")
    p.add_argument("--rho", type=arg_rho(), default=0.9,
                   help="input correlation in [-1, 1], e.g. 0.9 or 9/10 (default 0.9)")
    p.add_argument("--width", type=arg_int(2, MAX_WIDTH), default=256,
                   help=f"torch model width, 2 to {MAX_WIDTH} (default 256)")
    p.add_argument("--tokens", type=arg_int(1, 4096), default=4,
                   help="tokens for attention, 1 to 4096 (default 4)")
    p.add_argument("--residual", action="store_true", help="residual connections")
    p.add_argument("--layernorm", action="store_true", help="LayerNorm (pre-LN with --residual)")
    p.add_argument("--post-ln", action="store_true",
                   help="with --arch transformer --residual --layernorm: LayerNorm after each "
                   "residual sum instead of before the branch")
    p.add_argument("--mode", choices=("identity", "lowrank", "random"), default="identity",
                   help="attention query-key structure (default identity)")
    p.add_argument("--gamma2", type=arg_real(0, 1e6, lo_open=True), default=1.0,
                   help="squared value-column norm of attention, in (0, 1e6] (default 1)")
    p.add_argument("--sigma2", type=arg_real(0, 1e6, lo_open=True), default=2.0,
                   help="weight variance x width of dense layers, in (0, 1e6] (default 2: He)")
    p.add_argument("--pattern-slack", type=arg_real(0, 1), default=0.0,
                   help="explicit widening of the attention pattern moments in the interval "
                   "route, in [0, 1] (default 0: the d -> infinity pattern limit; 1: any "
                   "pattern); always reported")
    p.add_argument("--pattern-samples", type=arg_int(0, MAX_PATTERN_SAMPLES), default=None,
                   help="samples of the pattern-resolved mean field (random-W attention only: "
                   "infinite width, softmax patterns sampled exactly at d = --width; with "
                   "--finite-width, of its sampled 1/width correction), 0 to "
                   f"{MAX_PATTERN_SAMPLES:.0e} (default: {AUTO_PATTERN_SAMPLES} with random-W "
                   "attention, fewer where many tokens make a sample costly, else 0)")
    p.add_argument("--pattern-delta", type=arg_real(0, 1, lo_open=True, hi_open=True),
                   default=AUTO_PATTERN_DELTA,
                   help="failure probability of the pattern-resolved enclosure, simultaneous "
                   f"over the layers, in (0, 1) (default {AUTO_PATTERN_DELTA:g})")
    p.add_argument("--leak-samples", type=arg_int(0, MAX_PATTERN_SAMPLES), default=None,
                   help="with --finite-width and identity-pattern attention: sampled token Gram "
                   "matrices for the pattern's leakage correction at --width, 0 to "
                   f"{MAX_PATTERN_SAMPLES:.0e} (default {AUTO_LEAK_SAMPLES} up to depth 10, "
                   f"then {10 * AUTO_LEAK_SAMPLES} / depth, at least {MIN_AUTO_LEAK_SAMPLES}; "
                   "0: none)")
    p.add_argument("--estimator", choices=("auto", "pathwise", "likelihood-ratio", "combined"),
                   default="auto",
                   help="with --finite-width and random-W attention: how the 1/width "
                   "correction differentiates the softmax patterns -- 'pathwise' (through the "
                   "Cholesky factor), 'likelihood-ratio' (reweighting the logits' Gaussian "
                   "density), 'combined' (both, mixed by regression) or 'auto' (default: "
                   "combined from width 64 on, where the pathwise variance grows with the "
                   "width; pathwise below)")
    p.add_argument("--state-dict", type=arg_input_file("file"), default=None, metavar="PATH",
                   help="an MLP's trained weights (torch.save-d state dict of Linear "
                   "layers): intervals from their weight statistics (mean squared row norms) "
                   "instead of --sigma2, relu after every layer - the mean field of random "
                   "networks with these variances, not the trained network itself")
    p.add_argument("--mc-samples", type=arg_int(0, MAX_MC_SAMPLES), default=0,
                   help=f"Monte Carlo input pairs, 0 (none) to {MAX_MC_SAMPLES:.0e}; refused "
                   f"when depth x samples x width^2 > {MAX_MC_WORK:.0e} (width x batch rows "
                   "with --sampler projected)")
    p.add_argument("--per-net", type=arg_int(1, 1_000_000), default=100,
                   help="inputs per random network, 1 to 1e6 (default 100)")
    p.add_argument("--sampler", choices=("weights", "projected"), default="weights",
                   help="Monte Carlo sampler: 'weights' draws every weight matrix (default; "
                   "the stored studies' numbers), 'projected' draws each layer's product with "
                   "the inputs from its exact law (the same distribution, far fewer normals "
                   "when 2 x per-net x tokens < width)")
    p.add_argument("--bits", type=arg_int(16, MAX_BITS), default=53,
                   help=f"arb precision in bits, 16 to {MAX_BITS} (default 53)")
    p.add_argument("--device", default="auto",
                   help="auto|cpu|cuda (default auto); the Monte Carlo's seeded streams differ "
                   "between CPU and CUDA, and the report names the device")
    p.add_argument("--seed", type=arg_seed(), default=0, help="seed, 0 to 2^32-1 (default 0)")
    p.add_argument("--finite-width", action="store_true",
                   help="also the 1/width-corrected stability at --width (Dense + activation "
                   "MLPs): mean-field, corrected and remainder scale per layer, raw and "
                   "normalised views; with --mc-samples the normalised-view Monte Carlo too. "
                   "With random-W attention: the pattern-resolved mean field and its sampled "
                   "1/width correction (--pattern-samples, --estimator; both views, with "
                   "--per-net pairs per network)")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=run)


def _model_from_state_dict(args):
    """The MLP description read from ``--state-dict`` (MLP only; no Monte Carlo of it)."""
    from nstheory.errors import NSTheoryError
    from nstheory.propagation.statedict import mlp_from_state_dict
    from nstheory.validate import load_torch_file

    if args.arch != "mlp" or args.residual or args.layernorm:
        raise NSTheoryError("--state-dict supports --arch mlp without residual/LayerNorm")
    if args.mc_samples:
        raise NSTheoryError("--state-dict with --mc-samples: the Monte Carlo route samples "
                            "random weights; give one or the other")
    if args.finite_width:
        raise NSTheoryError("--state-dict with --finite-width: the 1/width correction is for "
                            "one width N (--width), while a state dict's layers have their own "
                            "widths; give one or the other")
    sd = load_torch_file(args.state_dict, "--state-dict", expect="state dict")
    return mlp_from_state_dict(sd)


def run(args) -> int:
    """Run ``nstheory propagate``: certified stability layer by layer (and optional Monte Carlo).

    Returns the exit code; bad input raises :class:`~nstheory.errors.NSTheoryError` (exit
    code 2 from the command line).

    Examples
    --------
    One He-initialised ReLU layer (sigma2 = 2) maps rho to 2 E[ReLU(U) ReLU(V)] =
    (sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi, which is (sqrt(3)/2 + pi/3)/pi at
    rho = 1/2; the certified interval encloses it:

    >>> import contextlib, io, json, math
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["propagate", "--depth", "1", "--rho", "0.5", "--json"])
    >>> layer = json.loads(buf.getvalue())["layers"][0]
    >>> exact = (math.sqrt(3) / 2 + math.pi / 3) / math.pi
    >>> code, float(layer["lo"]) <= exact <= float(layer["hi"])
    (0, True)
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["propagate", "--depth", "0"])
    2
    """
    from nstheory.errors import NSTheoryError, check_int, check_rho
    from nstheory.propagation.compare import layer_table
    from nstheory.propagation.model import build
    from nstheory.store import dumps

    check_int(args.depth, "--depth", lo=1, hi=MAX_DEPTH)
    check_rho(args.rho, "--rho")
    check_int(args.mc_samples, "--mc-samples", lo=0, hi=MAX_MC_SAMPLES)
    check_int(args.width, "--width", lo=2, hi=MAX_WIDTH)
    check_int(args.per_net, "--per-net", lo=1)
    check_int(args.bits, "--bits", lo=16, hi=MAX_BITS)
    if args.mc_samples and args.mc_samples < 2 * args.per_net:
        raise NSTheoryError(f"--mc-samples must be 0 or >= 2 x --per-net = {2 * args.per_net}, "
                            f"got {args.mc_samples} (the standard error needs >= 2 networks)")
    # per layer and sample, width x width multiply-adds; the projected sampler's products have
    # one side of the size of a network's batch (2 x per-net x tokens rows) instead
    rows = 2 * args.per_net * (1 if args.arch == "mlp" else args.tokens)
    inner = min(args.width, rows) if args.sampler == "projected" else args.width
    work = float(args.depth) * args.mc_samples * args.width * inner
    if work > MAX_MC_WORK:
        raise NSTheoryError(f"Monte Carlo of depth {args.depth} x {args.mc_samples} samples x "
                            f"width {args.width} x {inner} = {work:.3g} multiply-adds exceeds "
                            f"the limit {MAX_MC_WORK:.0e} (about an hour of CPU); lower "
                            "--depth, --mc-samples or --width, or use --sampler projected")
    slack = args.pattern_slack
    if not (isinstance(slack, float) and 0.0 <= slack <= 1.0):  # also rejects NaN
        raise NSTheoryError(f"--pattern-slack must lie in [0, 1], got {slack!r}")
    if args.state_dict:
        model = _model_from_state_dict(args)
    else:
        model = build(args.arch, args.depth, residual=args.residual, layernorm=args.layernorm,
                      mode=args.mode, gamma2=args.gamma2, n_tokens=args.tokens,
                      sigma2=args.sigma2, pattern_slack=slack,
                      d=args.width if args.mode == "random" else None,
                      post_ln=args.post_ln)
    rows = layer_table(model, args.rho, mc_samples=args.mc_samples, width=args.width,
                       per_net=args.per_net, seed=args.seed, device=args.device, bits=args.bits,
                       show_progress=not args.json, sampler=args.sampler)
    if args.finite_width:
        from nstheory.propagation.finite_width_cli import run_finite_width

        return run_finite_width(args, model, rows)
    extras = _pattern_resolved_columns(model, args, rows)
    sampled = bool(args.mc_samples)
    all_in = all(r.contained for r in rows) if sampled else None
    if args.json:
        print(dumps({
            "model": model.describe(),
            "view": "raw: E[h(X)_ij h(Y)_ij] per coordinate (uncentred)",
            "semantics": _semantics(model, slack, args.width if sampled else None),
            "pattern_moments": _pattern_json(model, args.rho),
            "rho": args.rho, "bits": args.bits, "width": args.width, "seed": args.seed,
            "mc_samples": args.mc_samples, "mc_sampler": args.sampler if sampled else None,
            "mc_device": mc_device(args), "pattern_slack": slack,
            "containment": "interval meets the Monte Carlo 99.9% CI (Student-t over the "
                           "networks, mc_networks - 1 degrees of freedom)",
            "all_contained": all_in,
            "pattern_resolved": PR_LEGEND if extras else None,
            "enclosure_all_contained": _enclosure_verdict(extras)[0] if extras else None,
            "enclosure_max_tightness": _enclosure_verdict(extras)[1] if extras else None,
            "layers": [{**r.to_dict(), **(extras[i] if extras else {})}
                       for i, r in enumerate(rows)],
        }))
        return 0
    print(model.describe())
    print(_semantics(model, slack, args.width if sampled else None))
    head = (f"rho = {args.rho!r}; raw stability E[h(X)_ij h(Y)_ij]; interval: certified "
            f"mean-field enclosure (arb, {args.bits} bits)"
            + ("; after the first non-linear layer on a random-W attention output, a moment "
               "closure (exact? = no)" if extras else ""))
    if sampled:
        head += (f"; Monte Carlo: width {args.width}, {args.mc_samples} pairs over "
                 f"{rows[0].mc_networks} networks, seed {args.seed}, "
                 f"{args.sampler} sampler, {mc_device(args)}")
    print(head)
    label = "interval [lo, hi] (certified where exact?)" if extras else \
        "interval [lo, hi] (certified)"
    cols = f"{'layer':>5}  {label:>47}  {'point (float)':>22}"
    if extras:
        cols += f"  {'exact?':>6}"
    if sampled:
        cols += f"  {'MC mean ± SE':>30}  {'z':>9}  {'in?':>4}  {'tight':>9}"
    print(cols)
    for i, r in enumerate(rows):
        line = f"{r.layer:>5}  [{r.lo:>22}, {r.hi:>22}]  {r.point!r:>22}"
        if extras:
            line += f"  {'yes' if extras[i]['interval_exact'] else 'no':>6}"
        if sampled:
            line += (f"  {r.mc_mean!r:>22} ± {r.mc_stderr:<7.3g}  {r.z:>9.4g}  "
                     f"{'yes' if r.contained else 'NO':>4}  {_g(r.tightness):>9}")
        print(line)
    if sampled:
        print("all layers contained" if all_in else "NOT all layers contained")
        print(LEGEND)
    if extras:
        _print_pattern_table(extras, sampled)
    elif not sampled:
        print("columns: interval = certified mean-field enclosure [lo, hi]; point = float "
              "recurrence (no Monte Carlo run: --mc-samples 0)")
    return 0


def _semantics(model, slack: float, width: int | None) -> str:
    """What the interval and the Monte Carlo estimate contain, in words."""
    from nstheory.propagation.statedict import STATE_DICT_NAME

    text = "interval = certified infinite-width (mean-field) value"
    atts = list(_attention_layers(model))
    if atts and atts[0].mode == "random" and atts[0].d is not None:
        text += (f"; random-W attention at head dimension d = {atts[0].d} (the width): pattern "
                 "moments s, w, t, t2 of a softmax of Gaussian logits at that d (token Gram "
                 "matrices at their averages, W integrated out exactly), each a certified "
                 "enclosure (arb; rigorous quadrature and truncation error bounds) widened "
                 "by proved Lipschitz bounds times the state's radius. This encloses the "
                 "mean-field value at d only up to the first layer acting non-linearly on an "
                 "attention output (column exact?); later layers are a moment closure (the "
                 "random attention pattern makes the tokens' Gram matrix random) - the "
                 "pattern-resolved column is the mean-field value at d there")
        text += (f", widened by the user's pattern slack {slack!r}" if slack else
                 ", no pattern slack")
    elif atts:
        text += ("; attention pattern moments in their d -> infinity limit (identity/low-rank: "
                 "identity pattern; random W: hard argmax, certified s_n(r^2) while tokens are "
                 "independent, any consistency in [0, 1] afterwards)")
        text += (f", widened by the user's pattern slack {slack!r}" if slack else
                 ", no pattern slack (finite-d softmax effects are not covered)")
    if model.name == STATE_DICT_NAME:
        text += ("; from --state-dict: its Linear layers in key order, relu after each (the "
                 "last included: a state dict records no activations), sigma2 = each layer's "
                 "mean squared row norm - the mean field of networks with i.i.d. weights of "
                 "these variances, not the trained network's own value")
    if width is None:
        return text
    return text + f"; Monte Carlo = random-weight torch models of width {width}"


def _print_pattern_table(extras: list[dict], sampled: bool) -> None:
    """The pattern-resolved mean field and its enclosure, one line per block."""
    e0 = extras[0]
    print(f"pattern-resolved mean field at d (infinite width, softmax patterns sampled "
          f"exactly): {e0['pattern_resolved_samples']} samples; enclosure holds with "
          f"probability >= 1 - {e0['enclosure_delta']:g} at every layer at once; almost-sure "
          f"bounds |C| <= {', '.join(_g(e['enclosure_bound']) for e in extras)}")
    cols = (f"{'layer':>5}  {'pattern-resolved ± SE':>32}  "
            f"{'enclosure [lo, hi] (p >= 1 - delta)':>45}")
    if sampled:
        cols += f"  {'z_pr':>7}  {'tight_pr':>8}  {'z_e':>7}  {'in_e?':>5}  {'tight_e':>7}"
    print(cols)
    for i, e in enumerate(extras):
        line = (f"{i + 1:>5}  {e['pattern_resolved_mean']!r:>22} ± "
                f"{e['pattern_resolved_stderr']:<7.3g}  "
                f"[{e['enclosure_lo']!r:>20}, {e['enclosure_hi']!r:>20}]")
        if sampled:
            line += (f"  {_g(e['z_mc_vs_pattern_resolved']):>7}  "
                     f"{_g(e['tightness_pattern_resolved']):>8}  {_g(e['z_enclosure']):>7}  "
                     f"{'yes' if e['enclosure_contains_mc'] else 'NO':>5}  "
                     f"{_g(e['tightness_enclosure']):>7}")
        print(line)
    if sampled:
        ok, worst = _enclosure_verdict(extras)
        print(("all layers contained in the enclosure" if ok else
               "NOT all layers contained in the enclosure") +
              f"; largest tightness {_g(worst)} (enclosure width / MC 95% CI width)")
    print(PR_LEGEND)


def _enclosure_verdict(extras: list[dict]) -> tuple[bool | None, float | None]:
    """(every layer's enclosure meets the MC 99.9% CI, largest tightness), or Nones."""
    flags = [e["enclosure_contains_mc"] for e in extras]
    if any(f is None for f in flags):
        return None, None
    tight = [e["tightness_enclosure"] for e in extras if e["tightness_enclosure"] is not None]
    return all(flags), (max(tight) if tight else None)


PR_LEGEND = ("exact? = yes where the certified interval encloses the mean-field value at d "
             "(pattern moments certified): up to the first layer that acts "
             "non-linearly on the output of a random-W attention layer; after it the scalar rules "
             "average the tokens' Gram matrix over the random attention pattern (a moment "
             "closure, not an enclosure). pattern-resolved = width -> infinity value at d with "
             "the random patterns sampled exactly (mean ± SE over samples; statistical); z_pr = "
             "(MC - pattern-resolved) / sqrt(SE_MC^2 + SE_pr^2); tight_pr = width of the "
             "pattern-resolved 95% CI / width of the MC 95% CI. enclosure = an interval that "
             "holds the pattern-resolved mean field at d with probability >= 1 - delta at "
             "every layer at once: empirical Bernstein bound (Maurer & Pontil 2009) over the "
             "pattern samples, which are bounded almost surely (|C| <= bound, from the "
             "layers' rules), no normal approximation; z_e = distance of the MC mean from "
             "it in MC standard errors (0 inside); in_e? = it meets the MC 99.9% CI; tight_e "
             "= its width / the MC 95% CI width. The MC runs at finite width; its O(1/width) "
             "gap is not added as slack")


def _exact_blocks(model) -> list[bool]:
    """Per block: whether the scalar rules are still exact (no non-linear layer has acted on
    a random-W attention layer's output yet)."""
    from nstheory.propagation.model import Act, Attention, LayerNorm, Residual

    state = {"random": False, "exact": True}

    def walk(layers):
        for x in layers:
            if isinstance(x, Residual):
                walk(x.branch)
            elif isinstance(x, Attention) and x.mode == "random" and x.d is not None:
                if state["random"]:
                    state["exact"] = False
                state["random"] = True
            elif isinstance(x, Act | LayerNorm | Attention) and state["random"]:
                state["exact"] = False

    out = []
    for block in model.blocks:
        walk(block)
        out.append(state["exact"])
    return out


def _pattern_resolved_columns(model, args, rows) -> list[dict] | None:
    """The pattern-resolved mean field per block (``None`` without finite-d random-W
    attention or with ``--pattern-samples 0``)."""
    import math

    from nstheory.errors import check_int

    atts = list(_attention_layers(model))
    if not atts or atts[0].mode != "random" or atts[0].d is None:
        return None
    from nstheory.propagation import pattern_resolved as pr

    samples = AUTO_PATTERN_SAMPLES if args.pattern_samples is None else args.pattern_samples
    check_int(samples, "--pattern-samples", lo=0, hi=MAX_PATTERN_SAMPLES)
    if args.pattern_samples is None:  # the default adapts to what the route can afford
        per_sample = pr.pattern_work(model, 1)
        samples = min(samples, int(pr.MAX_WORK // per_sample))
        if samples < 2 or (2 * model.n_tokens) ** 2 > pr.MAX_STATE_ENTRIES:
            import sys

            print(f"pattern-resolved route skipped: {model.n_tokens} tokens make its "
                  f"{2 * model.n_tokens} x {2 * model.n_tokens} state too costly (give "
                  "--pattern-samples to try)", file=sys.stderr)
            return None
    if samples == 0:
        return None
    if samples < 2:
        from nstheory.errors import NSTheoryError

        raise NSTheoryError(f"--pattern-samples must be 0 or >= 2, got {samples}")
    from nstheory.propagation.compare import distance_z
    from nstheory.stats import t_quantile

    res = pr.pattern_resolved_enclosure(model, args.rho, samples=samples, seed=args.seed,
                                     width=args.width, delta=args.pattern_delta)
    out = []
    for r, m, exact in zip(rows, res, _exact_blocks(model), strict=True):
        e = {"interval_exact": exact, "pattern_resolved_mean": m.mean,
             "pattern_resolved_stderr": m.stderr, "pattern_resolved_samples": m.samples,
             "enclosure_lo": m.lo, "enclosure_hi": m.hi, "enclosure_delta": m.delta,
             "enclosure_bound": m.bound, "z_mc_vs_pattern_resolved": None,
             "tightness_pattern_resolved": None, "z_enclosure": None,
             "enclosure_contains_mc": None, "tightness_enclosure": None}
        if r.mc_mean is not None:
            se = math.hypot(r.mc_stderr, m.stderr)
            e["z_mc_vs_pattern_resolved"] = (r.mc_mean - m.mean) / se if se else None
            e["tightness_pattern_resolved"] = m.stderr / r.mc_stderr if r.mc_stderr else None
            e["z_enclosure"] = distance_z(m.lo, m.hi, r.mc_mean, r.mc_stderr)
            dof = r.mc_networks - 1
            e["enclosure_contains_mc"] = abs(e["z_enclosure"]) <= t_quantile(0.999, dof)
            ci95 = 2 * t_quantile(0.95, dof) * r.mc_stderr
            e["tightness_enclosure"] = (m.hi - m.lo) / ci95 if ci95 else None
        out.append(e)
    return out


def _attention_layers(model):
    from nstheory.propagation.model import Attention, Residual

    def walk(layers):
        for x in layers:
            if isinstance(x, Attention):
                yield x
            elif isinstance(x, Residual):
                yield from walk(x.branch)

    for block in model.blocks:
        yield from walk(block)


def _pattern_json(model, rho) -> list | None:
    """Per-block pattern moments (point recurrence's inputs) of the first attention layer of
    each block, with their quadrature error estimates; ``None`` without finite-d attention."""
    from nstheory.attention.pattern_moments import finite_d_pattern
    from nstheory.propagation.model import Attention, Residual
    from nstheory.propagation.recurrence import FloatBackend
    from nstheory.propagation.rules import apply_layer, initial_state

    atts = list(_attention_layers(model))
    if not atts or atts[0].mode != "random" or atts[0].d is None:
        return None
    b = FloatBackend()
    st = initial_state(b, rho, model.n_tokens)
    out = []

    def visit(layer, st, block):
        if isinstance(layer, Attention):
            pm = finite_d_pattern(model.n_tokens, layer.d, layer.scale, st.Q, st.P, st.C, st.D)
            out.append({"layer": block, "d": layer.d, "logit_sigma": pm.sigma,
                        "s": pm.s, "s_err": pm.s_err, "w": pm.w, "w_err": pm.w_err,
                        "t": pm.t, "t_err": pm.t_err, "t2": pm.t2, "t2_err": pm.t2_err})
        elif isinstance(layer, Residual):
            br = st
            for sub in layer.branch:
                visit(sub, br, block)
                br = apply_layer(b, sub, br, model.n_tokens)

    for bi, block in enumerate(model.blocks, 1):
        for layer in block:
            visit(layer, st, bi)
            st = apply_layer(b, layer, st, model.n_tokens)
    return out


def _g(x) -> str:
    """``x`` in ``.3g`` (keeps its exponent); ``None`` (undefined, e.g. zero spread) as ``n/a``."""
    return "n/a" if x is None else f"{x:.3g}"
