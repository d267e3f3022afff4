"""``nstheory propagate ... --finite-width``: the 1/width-corrected per-layer table.

Kept apart from :mod:`nstheory.propagation.cli` (cheap to import; torch loads only with
``--mc-samples``).
"""

from __future__ import annotations

VIEW_NORMALISED = ("normalised: mean over random networks of the per-network cosine "
                   "sum h(X).h(Y) / sqrt(sum |h(X)|^2 sum |h(Y)|^2), sums over --per-net input "
                   "pairs, their tokens and all channels")
VIEW_RAW = "raw: E[h(X)_ij h(Y)_ij] per coordinate (uncentred)"


def run_finite_width(args, model, raw_rows) -> int:
    """Print the finite-width table of ``nstheory propagate --finite-width``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options: ``rho``, ``width``, ``per_net``, ``mc_samples``, ``seed``,
        ``device``, ``json`` and optionally ``sampler`` (default ``weights``).
    model : Model
        The stack.
    raw_rows : list of LayerRow
        The raw-view rows of :func:`nstheory.propagation.compare.layer_table`.

    Returns
    -------
    int
        The exit code, 0.

    Raises
    ------
    NSTheoryError
        For ``rho`` outside ``[0, 1)`` or ``per_net < 1``.

    Examples
    --------
    >>> import contextlib, io, json
    >>> from argparse import Namespace
    >>> from nstheory.propagation.model import mlp
    >>> args = Namespace(rho=0.5, width=64, per_net=10, mc_samples=0, seed=0, device="cpu",
    ...                  json=True)
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = run_finite_width(args, mlp(2), [])
    >>> out = json.loads(buf.getvalue())
    >>> code, out["width"], len(out["layers"]), out["summary"]
    (0, 64, 2, None)
    >>> lo, hi = map(float, out["layers"][-1]["corrected_raw_arb"])   # certified, 53-bit
    >>> lo <= out["layers"][-1]["corrected_raw"] <= hi
    True
    >>> run_finite_width(Namespace(**{**vars(args), "rho": 1.0}), mlp(2), [])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rho must lie in [0, 1) with --finite-width, got 1.0
    """
    from nstheory.errors import NSTheoryError, check_int
    from nstheory.propagation.finite_width_table import finite_width_table
    from nstheory.propagation.identity_leakage import has_identity_attention
    from nstheory.store import dumps

    check_int(args.per_net, "--per-net", lo=1)
    if not 0 <= args.rho < 1:
        raise NSTheoryError(f"--rho must lie in [0, 1) with --finite-width, got {args.rho}")
    from nstheory.propagation.cli import _attention_layers, mc_device

    if any(layer.mode == "random" for layer in _attention_layers(model)):
        return _run_random_attention(args, model, raw_rows)

    mc_norm, n_nets = _mc_normalised(args, model)
    mc_raw = None
    if mc_norm is not None:
        from nstheory.stats import Moments

        mc_raw = [Moments(r.mc_n // args.per_net, r.mc_mean, 0.0) for r in raw_rows]
    leakage, leak_samples = None, 0
    if has_identity_attention(model):
        from nstheory.propagation.cli import auto_leak_samples
        from nstheory.propagation.identity_leakage import identity_leakage

        leak_samples = getattr(args, "leak_samples", None)
        if leak_samples is None:
            leak_samples = auto_leak_samples(len(model.blocks))
        if leak_samples:
            leakage = identity_leakage(model, args.rho, args.width, samples=leak_samples,
                                       seed=args.seed, show_progress=not args.json)
    rows = finite_width_table(model, args.rho, args.width, per_net=args.per_net,
                              mc_normalised=mc_norm, mc_raw=mc_raw, leakage=leakage)
    if mc_raw is not None:
        for row, rr in zip(rows, raw_rows, strict=True):
            row.mc_raw_stderr = rr.mc_stderr
    from nstheory.propagation.finite_width_enclosure_blocks import enclosure_columns

    enc_rows, enc_note = enclosure_columns(model, args.rho, args.width, args.per_net)
    sampled = mc_norm is not None
    summary = None
    if sampled:
        summary = {
            "corrected_in_ci95_all_layers": all(r.corrected_in_ci95 for r in rows),
            "layers_mean_field_outside_ci95": [r.layer for r in rows if not r.mean_field_in_ci95],
        }
        if leakage is not None:
            summary["corrected_leak_in_ci95_all_layers"] = all(
                r.corrected_leak_in_ci95 for r in rows)
    meta = {
        "model": model.describe(), "rho": args.rho, "width": args.width,
        "per_net": args.per_net, "mc_samples": args.mc_samples, "mc_networks": n_nets,
        "mc_sampler": getattr(args, "sampler", "weights") if args.mc_samples else None,
        "mc_device": mc_device(args),
        "seed": args.seed, "arb": enc_note, "leak_samples": leak_samples,
        "views": {"raw": VIEW_RAW, "normalised": VIEW_NORMALISED},
        "routes": "mean_field: infinite-width recursion (float64); corrected: mean field + "
                  "coef/width from the 1/width recursion (mean kernel + four-point vertex, "
                  "float64); remainder_scale: heuristic O(1/width^2) size (depth/width) |coef|/"
                  "width, not a bound (measured residuals: ReLU 0.3-1.02 of it, 2.1 at layer 1 "
                  "with one pair per network; GELU at sigma2 2 up to 4.7 of it); MC: "
                  "random-weight torch networks (float32 forward, float64 sums), 95% CI = "
                  "Student-t over the networks (mc_networks - 1 degrees of freedom)",
    }
    if leakage is not None:
        meta["routes"] += ("; leakage: the identity attention pattern's off-diagonal weight at "
                           "this width, neglected by the 1/width rule, sampled (token Gram "
                           "matrices Wishart given the mean-field kernel, only the angles for "
                           f"a LayerNorm output, {leak_samples} "
                           "samples, seed --seed; ± its standard error); corrected+leak = "
                           "corrected + leakage (products of the two neglected)")
    if args.json:
        layers = [r.to_dict() for r in rows]
        for d, e in zip(layers, enc_rows or [{}] * len(layers), strict=True):
            d.update(corrected_raw_arb=e.get("corrected_raw_arb"),
                     corrected_normalised_arb=e.get("corrected_normalised_arb"))
        print(dumps({**meta, "summary": summary, "layers": layers}))
        return 0
    print(model.describe())
    print(f"rho = {args.rho}; width {args.width}; {args.per_net} input pairs per network; "
          f"{meta['routes']}")
    print(f"views: {VIEW_RAW}; {VIEW_NORMALISED}")
    if sampled:
        print(f"Monte Carlo: {n_nets} networks x {args.per_net} pairs, seed {args.seed}, "
              f"{meta['mc_sampler']} sampler, {meta['mc_device']}")
    print(enc_note)
    head = (f"{'layer':>5}  {'raw MF':>12}  {'raw 1/N':>12}  {'norm MF':>12}  {'norm 1/N':>12}  "
            f"{'coef (norm)':>12}  {'O(1/N^2)~':>10}")
    if sampled:
        head += (f"  {'MC norm ± se':>24}  {'95% CI':>23}  {'z(1/N)':>7}  {'z(MF)':>7}  "
                 f"{'MC raw ± se':>24}")
    if leakage is not None:
        head += f"  {'leak (norm) ± se':>22}  {'offdiag':>7}  {'norm 1/N+leak':>13}"
        if sampled:
            head += f"  {'z(1/N+leak)':>11}"
    if enc_rows:
        head += f"  {'arb raw 1/N [lo, hi]':>31}  {'arb norm 1/N [lo, hi]':>31}"
    print(head)
    for i, r in enumerate(rows):
        line = (f"{r.layer:>5}  {r.mean_field_raw:>12.7g}  {r.corrected_raw:>12.7g}  "
                f"{r.mean_field_normalised:>12.7g}  {r.corrected_normalised:>12.7g}  "
                f"{r.coef_normalised:>12.6g}  {r.remainder_scale_normalised:>10.2g}")
        if sampled:
            lo, hi = r.mc_normalised_ci95
            line += (f"  {r.mc_normalised_mean:>12.7g} ± {r.mc_normalised_stderr:<9.2g}  "
                     f"[{lo:.7g}, {hi:.7g}]  "
                     f"{r.z_corrected:>7.2f}  {r.z_mean_field:>7.2f}  "
                     f"{r.mc_raw_mean:>12.7g} ± {r.mc_raw_stderr:<9.2g}")
        if leakage is not None:
            line += (f"  {r.leakage_normalised:>+11.3g} ± {r.leakage_normalised_stderr:<8.2g}  "
                     f"{r.offdiag_weight:>7.3f}  {r.corrected_leak_normalised:>13.7g}")
            if sampled:
                line += f"  {r.z_corrected_leak:>11.2f}"
        if enc_rows:
            e = enc_rows[i]
            line += "  " + "  ".join(f"{'[' + ', '.join(b) + ']' if b else 'n/a':>31}" for b in
                                     (e["corrected_raw_arb"], e["corrected_normalised_arb"]))
        print(line)
    if sampled:
        print("corrected inside the MC 95% CI at every layer" if
              summary["corrected_in_ci95_all_layers"] else
              "corrected NOT inside the MC 95% CI at every layer")
        print(f"mean field outside the MC 95% CI at layers "
              f"{summary['layers_mean_field_outside_ci95']}")
        if leakage is not None:
            print("corrected + leakage inside the MC 95% CI at every layer" if
                  summary["corrected_leak_in_ci95_all_layers"] else
                  "corrected + leakage NOT inside the MC 95% CI at every layer")
    return 0


def _mc_normalised(args, model):
    """The normalised-view Monte Carlo per block and its network count (``None, 0`` without
    ``--mc-samples``)."""
    if not args.mc_samples:
        return None, 0
    from nstheory.propagation.torch_model import monte_carlo

    n_nets = max(2, -(-args.mc_samples // args.per_net))
    return monte_carlo(model, args.rho, width=args.width, n_nets=n_nets, per_net=args.per_net,
                       seed=args.seed, device=args.device, view="normalised",
                       show_progress=not args.json,
                       sampler=getattr(args, "sampler", "weights")), n_nets


ROUTES_RANDOM = (
    "mean field: the pattern-resolved mean field (infinite width, the random-W softmax "
    "patterns sampled exactly at d = width); coef: its 1/width coefficient, from one sampled "
    "channel deviation per weight matrix and the second directional derivatives of every "
    "later layer (antithetic finite differences; the patterns differentiated pathwise, by "
    "the likelihood ratio of their logits, or both mixed by regression: the estimator); "
    "corrected = mean field + "
    "coef / width, +- its standard error over the samples (a statistical route, the O(1/"
    "width^2) remainder not included); rem: its heuristic size (block/width) |coef|/width per "
    "view (not a bound); MC: random-weight torch networks, mean +- stderr over "
    "networks; z = (MC - prediction) / sqrt(se_MC^2 + se_prediction^2)")


def _z(mc, se_mc, value, se):
    import math

    s = math.hypot(se_mc, se)
    return (mc - value) / s if s > 0 else None


def _run_random_attention(args, model, raw_rows) -> int:
    """``--finite-width`` for models with random-``W`` attention: the pattern-resolved mean
    field with its sampled ``1/width`` correction (raw and normalised views, the latter for
    ``--per-net`` input pairs per network), beside the Monte Carlo."""
    from nstheory.errors import NSTheoryError, check_int
    from nstheory.propagation.cli import AUTO_PATTERN_SAMPLES, MAX_PATTERN_SAMPLES, mc_device
    from nstheory.propagation.finite_width import remainder_scale
    from nstheory.propagation.pattern_resolved import MAX_WORK
    from nstheory.propagation.pattern_resolved_correction import (
        correction_work,
        pattern_resolved_correction,
    )
    from nstheory.store import dumps

    samples = args.pattern_samples
    if samples is None:  # the default adapts to what the route can afford
        estimator = getattr(args, "estimator", "auto")
        samples = min(AUTO_PATTERN_SAMPLES, int(MAX_WORK // correction_work(
            model, 1, args.width, estimator, args.per_net)))
        if samples < 2:
            raise NSTheoryError(f"--finite-width with random-W attention: {model.n_tokens} "
                                f"tokens x {model.depth} blocks make even two samples of the "
                                "1/width correction cost more than about a minute; give "
                                "--pattern-samples to try, or use fewer tokens or blocks")
    check_int(samples, "--pattern-samples", lo=0, hi=MAX_PATTERN_SAMPLES)
    if samples < 2:
        raise NSTheoryError(f"--finite-width with random-W attention needs --pattern-samples "
                            f">= 2 (the 1/width correction is sampled), got {samples}")
    rows = pattern_resolved_correction(model, args.rho, args.width, samples=samples,
                                       seed=args.seed, show_progress=not args.json,
                                       estimator=getattr(args, "estimator", "auto"),
                                       per_net=args.per_net)
    mc_norm, n_nets = _mc_normalised(args, model)
    layers = []
    for i, r in enumerate(rows):
        d = {"layer": r.block, "raw": r.raw.to_dict(), "normalised": r.normalised.to_dict(),
             "remainder_scale_raw": remainder_scale(r.block, r.raw.coef, args.width),
             "remainder_scale_normalised": remainder_scale(r.block, r.normalised.coef,
                                                           args.width),
             "mc_raw_mean": None, "mc_raw_stderr": None, "z_raw_corrected": None,
             "z_raw_mean_field": None, "mc_normalised_mean": None,
             "mc_normalised_stderr": None, "z_corrected": None, "z_mean_field": None}
        if mc_norm is not None:
            rr, mn = raw_rows[i], mc_norm[i]
            d.update(mc_raw_mean=rr.mc_mean, mc_raw_stderr=rr.mc_stderr,
                     z_raw_corrected=_z(rr.mc_mean, rr.mc_stderr, r.raw.corrected,
                                        r.raw.corrected_stderr),
                     z_raw_mean_field=_z(rr.mc_mean, rr.mc_stderr, r.raw.mean_field,
                                         r.raw.mean_field_stderr),
                     mc_normalised_mean=mn.mean, mc_normalised_stderr=mn.stderr,
                     z_corrected=_z(mn.mean, mn.stderr, r.normalised.corrected,
                                    r.normalised.corrected_stderr),
                     z_mean_field=_z(mn.mean, mn.stderr, r.normalised.mean_field,
                                     r.normalised.mean_field_stderr))
        layers.append(d)
    summary = None
    if mc_norm is not None:
        from nstheory.stats import t_quantile

        zc, zm = "z_corrected", "z_mean_field"
        crit = t_quantile(0.95, n_nets - 1)   # Student-t over the networks
        summary = {"view_compared": "normalised", "z_critical_95": crit,
                   "corrected_agrees_95_all_layers": all(
                       d[zc] is not None and abs(d[zc]) <= crit for d in layers),
                   "layers_mean_field_rejected_95": [
                       d["layer"] for d in layers if d[zm] is not None and abs(d[zm]) > crit]}
    normalised_note = (None if args.per_net == 1 else
                       f"the normalised view with {args.per_net} input pairs per network is "
                       "the per-network ratio's second-order expansion, from two pairs that "
                       "share a network (their own spread weighted 1/per-net, the shared "
                       "network's 1 - 1/per-net)")
    meta = {"model": model.describe(), "rho": args.rho, "width": args.width,
            "per_net": args.per_net, "mc_samples": args.mc_samples, "mc_networks": n_nets,
            "mc_sampler": getattr(args, "sampler", "weights") if args.mc_samples else None,
            "mc_device": mc_device(args),
            "seed": args.seed, "pattern_samples": samples, "estimator": rows[0].estimator,
            "routes": ROUTES_RANDOM,
            "views": {"raw": VIEW_RAW, "normalised": VIEW_NORMALISED},
            "normalised_note": normalised_note}
    if args.json:
        print(dumps({**meta, "summary": summary, "layers": layers}))
        return 0
    print(model.describe())
    print(f"rho = {args.rho}; width {args.width} (= head dimension); {samples} samples "
          f"({meta['estimator']} estimator), seed "
          f"{args.seed}; {ROUTES_RANDOM}")
    print(f"views: {meta['views']['raw']}; {meta['views']['normalised']}")
    if normalised_note:
        print(normalised_note)
    if mc_norm is not None:
        print(f"Monte Carlo: {n_nets} networks x {args.per_net} pairs, seed {args.seed}, "
              f"{meta['mc_sampler']} sampler, {meta['mc_device']}")

    def pm(v, se, w=10):
        return f"{v:>{w}.6f} ± {se:<8.2g}"

    head = (f"{'layer':>5}  {'raw MF ± se':>21}  {'raw coef ± se':>21}  "
            f"{'raw corrected ± se':>21}  {'norm MF ± se':>21}  {'norm coef ± se':>21}  "
            f"{'norm corrected ± se':>21}  {'rem raw':>8}  {'rem norm':>8}")
    if mc_norm is not None:
        head += (f"  {'MC raw ± se':>21}  {'z raw(1/N)':>10}  {'z raw(MF)':>9}  "
                 f"{'MC norm ± se':>21}  {'z(1/N)':>7}  {'z(MF)':>7}")
    print(head)
    for d, r in zip(layers, rows, strict=True):
        line = f"{d['layer']:>5}"
        for v in (r.raw, r.normalised):
            line += (f"  {pm(v.mean_field, v.mean_field_stderr)}  {pm(v.coef, v.coef_stderr)}"
                     f"  {pm(v.corrected, v.corrected_stderr)}")
        line += (f"  {d['remainder_scale_raw']:>8.2g}  "
                 f"{d['remainder_scale_normalised']:>8.2g}")
        if mc_norm is not None:
            def zf(x, w):
                return f"{x:>{w}.2f}" if x is not None else f"{'n/a':>{w}}"

            line += (f"  {pm(d['mc_raw_mean'], d['mc_raw_stderr'])}  "
                     f"{zf(d['z_raw_corrected'], 10)}  {zf(d['z_raw_mean_field'], 9)}  "
                     f"{pm(d['mc_normalised_mean'], d['mc_normalised_stderr'])}  "
                     f"{zf(d['z_corrected'], 7)}  {zf(d['z_mean_field'], 7)}")
        print(line)
    if summary is not None:
        crit = summary["z_critical_95"]
        print(f"{summary['view_compared']} view: corrected value within {crit:.3g} combined "
              f"standard errors of the Monte Carlo at every layer (95%, Student-t over "
              f"{n_nets} networks): "
              f"{'yes' if summary['corrected_agrees_95_all_layers'] else 'NO'}; mean field "
              f"rejected (|z| > {crit:.3g}) at layers {summary['layers_mean_field_rejected_95']}")
    return 0
