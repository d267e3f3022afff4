"""``nstheory model influence|table1|layers``: measurements on real pretrained transformers.

Cheap to import: torch and transformers load only when a command runs.
"""

from __future__ import annotations

import math

from nstheory.errors import NSTheoryError


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(t) for t in str(text).split(",") if t.strip())
    except ValueError:
        raise NSTheoryError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise NSTheoryError(f"--{name} is empty")
    for v in vals:
        if not math.isfinite(v) or not 0 < v < 1:
            raise NSTheoryError(f"--{name} values must lie in (0, 1), got {v}")
    return vals


def _common(p) -> None:
    p.add_argument("--model", default="minilm",
                   help="minilm (the packaged all-MiniLM-L6-v2) or a local HF model directory")
    p.add_argument("--arm", default="pretrained", choices=("pretrained", "random-init"),
                   help="the loaded weights, or the same architecture freshly initialised")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--n", type=int, default=256, help="tokens per input (default 256)")
    p.add_argument("--inputs", type=int, default=4, help="real-text inputs (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text", default=None,
                   help="a local text file (default: Debian fortunes)")
    p.add_argument("--functional", default="default",
                   help="comma-separated: cls, mean, pos:K, layer:L, logprobs (default: "
                        "cls,mean,pos:-1 for encoders; mean,pos:-1,logprobs for causal LMs)")
    p.add_argument("--resamples", type=int, default=2, help="resamples per (input, position)")
    p.add_argument("--sigma", type=float, default=1.0,
                   help="Gaussian influence noise std in units of the embedding scale s")
    p.add_argument("--probes", type=int, default=8, help="Hutchinson probes per input")
    p.add_argument("--rhos", default="0.5,0.9,0.99", help="rho values for the stability bound")
    p.add_argument("--draws", type=int, default=8, help="noisy copies per input and rho")
    p.add_argument("--measures", default="gradient,token,gaussian,stability",
                   help="comma-separated subset of gradient, token, gaussian, stability")
    p.add_argument("--positions", type=int, default=0,
                   help="0: every position; k: k random positions per input (totals only)")
    p.add_argument("--batch", type=int, default=32, help="forward-pass batch size")
    p.add_argument("--out", default=None,
                   help="run directory (default runs/models/<model>-<arm>-<config hash>)")
    p.add_argument("--from", dest="source", default=None,
                   help="summarise a stored run (directory or models_*.json) without computing")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true")


def register_cli(sub) -> None:
    """Add ``nstheory model influence|table1|layers`` to the subcommand parser ``sub``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="nstheory")
    >>> register_cli(parser.add_subparsers())
    >>> args = parser.parse_args(["model", "layers", "--rhos", "0.9", "--n", "16"])
    >>> args.func is run_layers, args.rhos, args.n
    (True, '0.9', 16)
    >>> parser.parse_args(["model", "table1"]).func is run_cli
    True
    """
    p = sub.add_parser("model", help="influence, Table 1 and layer-wise stability of real models")
    msub = p.add_subparsers(dest="model_command", metavar="SUBCOMMAND")
    for name, helptext in (
        ("influence", "per-position influences with CIs, totals, junta sizes, Friedgut's bound"),
        ("table1", "Table 1: both bounds on the weight at degree >= 15 beside the paper's rows"),
    ):
        q = msub.add_parser(name, help=helptext)
        _common(q)
        q.set_defaults(func=run_cli, model_command=name)
    q = msub.add_parser("layers", help="checkpoint -> propagation model; per-layer stability "
                                       "predicted vs measured under Gaussian embedding noise")
    q.add_argument("--model", default="minilm", help="minilm or a local BERT-family directory")
    q.add_argument("--device", default="auto")
    q.add_argument("--n", type=int, default=256)
    q.add_argument("--inputs", type=int, default=4)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--text", default=None)
    q.add_argument("--rhos", default="0.5,0.9,0.99")
    q.add_argument("--draws", type=int, default=4, help="noisy copies per input and rho")
    q.add_argument("--out", default=None, help="also write the result as JSON to this file")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_layers)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def layers_result(args) -> dict:
    """Description, measurement and prediction of ``nstheory model layers`` (with provenance).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options: ``model``, ``device``, ``n``, ``inputs``, ``seed``, ``text``,
        ``rhos``, ``draws``.

    Returns
    -------
    dict
        The configuration, the checkpoint description, the measured-vs-predicted
        comparison per rho and the provenance block.

    Raises
    ------
    NSTheoryError
        For invalid options (checked before any model is loaded).

    Examples
    --------
    >>> from argparse import Namespace
    >>> layers_result(Namespace(rhos="0.5,1.5", draws=4))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rhos values must lie in (0, 1), got 1.5
    """
    from nstheory.errors import check_int
    from nstheory.models.layers import compare_layers, describe_checkpoint, measured_layers
    from nstheory.models.loading import load_model
    from nstheory.models.run import provenance
    from nstheory.models.texts import text_windows
    from nstheory.store import cli_command

    rhos = _floats(args.rhos, "rhos")
    check_int(args.draws, "draws", lo=1)
    lm = load_model(args.model, device=args.device)
    ids, desc_text = text_windows(lm, args.n, args.inputs, args.seed, args.text)
    desc = describe_checkpoint(lm)
    meas = measured_layers(lm, ids.to(lm.device), rhos, args.draws, args.seed)
    config = {"model": args.model, "text": desc_text, "n": args.n, "inputs": args.inputs,
              "draws": args.draws, "rhos": rhos, "seed": args.seed}
    return {**config, "embedding_scale": lm.embedding_scale(),
            "description": desc, "comparison": compare_layers(desc, meas, args.n),
            "provenance": provenance(config, lm.device, cli_command(args))}


def run_layers(args) -> int:
    """Run ``nstheory model layers``: print (and optionally save) :func:`layers_result`.

    Returns
    -------
    int
        The exit code, 0.

    Examples
    --------
    >>> from argparse import Namespace
    >>> run_layers(Namespace(rhos="", draws=4))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rhos is empty
    """
    from nstheory.store import dumps, save_json

    res = layers_result(args)
    if args.out:
        save_json(res, args.out)
    if args.json:
        print(dumps(res))
        return 0
    print(format_layers(res))
    return 0


def format_layers(res: dict) -> str:
    """Text table of :func:`layers_result`.

    Examples
    --------
    >>> from nstheory.models.figures import DATA
    >>> from nstheory.store import load_json
    >>> res = load_json(DATA / "models_minilm_layers.json")
    >>> text = format_layers(res)
    >>> text.startswith("model minilm"), text.count("measured:") == 2 * len(res["comparison"])
    (True, True)
    >>> text.count("(jackknife-t over inputs, Fisher z)") == 2 * len(res["comparison"])
    True
    """
    lines = [f"model {res['model']}: {res['text']}; Gaussian embedding noise "
             f"y = rho e + sqrt(1-rho^2) s Z, s = {res['embedding_scale']:.6g}, "
             f"{res['draws']} draws per input",
             "checkpoint read into the propagation description (per layer): attention mode "
             "(majority of heads), value-output gamma^2, MLP sigma^2 in/out, LN gain^2, max |bias|"]
    for r in res["description"]["layers"]:
        lines.append(f"  layer {r['layer']}: {r['attention_mode']} "
                     f"({', '.join(sorted(set(r['head_modes'])))}), gamma2 "
                     f"{r['value_output_gamma2_mean']:.6g}, sigma2 {r['mlp_in_sigma2']:.6g} / "
                     f"{r['mlp_out_sigma2']:.6g}, LN gain2 {r['ln_attention_gain2_mean']:.6g} / "
                     f"{r['ln_output_gain2_mean']:.6g}, max|b| {r['max_abs_bias']:.6g}")
    for rho, row in res["comparison"].items():
        for view in ("uncentred", "centred"):
            m = row["measured"][view]
            p = row["predicted"].get(view)
            lines.append(f"  rho = {rho}, {view} correlation per layer 0..{len(m) - 1} "
                         "(measured | mean-field predicted from the measured layer 0):")
            lines.append("    measured:  " + " ".join(f"{v:.6g}" for v in m))
            ci = row["measured"].get(f"{view}_ci95")
            lines.append("    95% CI:    " + (
                " ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in ci) +
                " (jackknife-t over inputs, Fisher z)" if ci else
                row["measured"].get("ci95_note", "no interval (a run stored without one)")))
            lines.append("    predicted: " + (" ".join(f"{v:.6g}" for v in p) if p else
                                              f"n/a ({row.get('errors', {}).get(view)})"))
    return "\n".join(lines)


def _config(args):
    from nstheory.models.run import RunConfig

    return RunConfig(model=args.model, arm=args.arm, n=args.n, inputs=args.inputs,
                     seed=args.seed, text=args.text, functionals=args.functional,
                     resamples=args.resamples, sigma_rel=args.sigma, probes=args.probes,
                     rhos=_floats(args.rhos, "rhos"), draws=args.draws,
                     positions=args.positions, batch=args.batch,
                     measures=tuple(m.strip() for m in args.measures.split(",") if m.strip())
                     ).validate()


def run_cli(args) -> int:
    """Run ``nstheory model influence`` or ``nstheory model table1``.

    Measures (or, with ``--from``, reads) a run, then prints the influence report
    or Table 1, as text or JSON.

    Returns
    -------
    int
        The exit code, 0.

    Raises
    ------
    NSTheoryError
        For a missing ``--from`` source or invalid options.

    Examples
    --------
    >>> from argparse import Namespace
    >>> run_cli(Namespace(source="no/such/run", model_command="influence"))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --from 'no/such/run': no such run directory or file
    """
    from pathlib import Path

    from nstheory.models.summary import summarise
    from nstheory.store import dumps

    if args.source:
        if getattr(args, "out", None):
            raise NSTheoryError("--out does not apply with --from: a stored run is only read "
                                "(drop --out, or drop --from to measure into --out)")
        if not Path(args.source).exists():
            raise NSTheoryError(f"--from {args.source!r}: no such run directory or file")
        res = summarise(args.source)
    else:
        from nstheory.models.run import execute

        cfg = _config(args)
        out = args.out or f"runs/models/{Path(cfg.model).name}-{cfg.arm}-{cfg.hash()}"
        from nstheory.store import cli_command

        execute(cfg, out, device=args.device, progress_bar=False if args.no_progress else None,
                command=cli_command(args))
        res = summarise(out)
        res["run_dir"] = out
    if args.model_command == "table1":
        from nstheory.models.table1 import PAPER_REF, PAPER_ROWS, format_table, rows_for

        label = Path(res["config"]["model"]).name + ("" if res["config"]["arm"] == "pretrained"
                                                     else " (random init)")
        rows = rows_for(res, label)
        if not rows:
            frs = list(res["functionals"].values())
            have = sorted({f"{m} influence" for fr in frs
                           for m in ("token", "gaussian", "hermite") if m in fr}
                          | {f"{nz}-noise stability" for fr in frs
                             for nz in fr.get("stability", {})})
            raise NSTheoryError(
                f"{args.source or res.get('run_dir')!r} has no Table 1 rows: Table 1 needs the "
                "token influence with the token-noise stability, or the gradient influence "
                "with the Gaussian-noise stability (--measures including gradient,token,"
                f"gaussian,stability); this run has {', '.join(have) or 'none of them'}")
        if args.json:
            print(dumps({"paper": {"ref": PAPER_REF, "rows": [dict(zip(
                ("model", "sensitivity_bound", "stability_bound"), r, strict=True))
                for r in PAPER_ROWS]}, "rows": rows, "provenance": res["provenance"]}))
        else:
            print(format_table(rows))
        return 0
    if args.json:
        print(dumps(res))
    else:
        print(format_influence(res))
    return 0


def _ci(d):
    return (f"{d['mean']:.6g} ± {d['stderr']:.6g} (mean ± stderr over inputs; 95% CI "
            f"[{d['ci95'][0]:.6g}, {d['ci95'][1]:.6g}])")


def _value(v, note) -> str:
    """A number in ``.6g``, or the note saying why it does not exist."""
    return f"{v:.6g}" if v is not None else (note or "undefined")


def _interval(ci, fmt: str = ".6g") -> str:
    return f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def format_influence(res: dict) -> str:
    """Text report of :func:`nstheory.models.summary.summarise` (the same numbers as JSON).

    Examples
    --------
    >>> res = {"config": {"model": "tiny-bert", "arm": "pretrained", "n": 6, "inputs": 2,
    ...                   "resamples": 2},
    ...        "kind": "encoder", "text": "random ids", "resample_vocab": 60,
    ...        "embedding_scale": 0.5,
    ...        "functionals": {"cls": {"stability": {"token": {"0.5": {"mean": 0.25,
    ...                                                                 "stderr": 0.01}}}}}}
    >>> lines = format_influence(res).splitlines()
    >>> lines[2]
    'functional f = cls'
    >>> "D_rho = E||f(x)-f(y)||^2/2 = 0.25 ± 0.01" in lines[3]
    True

    Identical inputs (``Var f = 0``) leave the centred values undefined, not NaN:

    >>> from nstheory.models.summary import influence_summary
    >>> r = influence_summary([[2, 1, 1], [2, 1, 1]], [[1, 1], [1, 1]])
    >>> res["functionals"]["cls"]["token"] = r
    >>> text = format_influence(res)
    >>> "(centred): undefined (Var f = 0 over the inputs);" in text, "nan" in text
    (True, False)
    """
    cfg = res["config"]
    lines = [f"model {cfg['model']} ({res['kind']}, {cfg['arm']}); inputs: {res['text']}",
             f"n = {cfg['n']} tokens, {cfg['inputs']} inputs, {cfg['resamples']} resamples per "
             f"(input, position); resample vocabulary {res['resample_vocab']} non-special tokens; "
             f"embedding scale s = {res['embedding_scale']:.6g}"]
    names = {"token": "token-resampling influence (Efron-Stein)",
             "gaussian": "Gaussian influence (noise on one embedding)",
             "hermite": "gradient (Hermite) influence s^2 E||J_i||_F^2"}
    for spec, fr in res["functionals"].items():
        lines.append(f"functional f = {spec}")
        for m, title in names.items():
            if m not in fr:
                continue
            r = fr[m]
            extra = (f", sigma = {r['sigma_abs']:.6g} (= {r['sigma_rel']:g} s)"
                     if m == "gaussian" else "")
            lines.append(f"  {title}{extra}: inputs = {r['inputs']}")
            lines.append(f"    total influence, raw: {_ci(r['total_raw'])}")
            centred = (_value(r["total_centred"], r.get("total_centred_note")) +
                       (f" (95% jackknife-t {_interval(r['total_centred_ci95'])})"
                        if r["total_centred_ci95"] is not None else
                        f" ({r['total_centred_ci95_note']})" if r["total_centred"] is not None
                        else ""))
            lines.append(f"    total influence / Var f (centred): {centred}; / ||f||^2 "
                         f"(uncentred): "
                         f"{_value(r['total_uncentred'], r.get('total_uncentred_note'))}")
            if "junta" in r:
                js = ", ".join(f"{k}: {v['size']}" + (f" {_interval(v['ci95'], 'd')}"
                                                      if v["ci95"] is not None else "")
                               for k, v in r["junta"].items())
                lines.append("    junta sizes (positions holding the share; " +
                             (f"{r['junta_ci95_note']}" if "junta_ci95_note" in r
                              else "95% interval over inputs") + f"): {js}")
                p = r["profile"]
                lines.append(
                    f"    profile: first {p['first']:.6g} (rank {p['rank_first']}), last "
                    f"{p['last']:.6g} (rank {p['rank_last']}), middle mean "
                    f"{p['middle_mean']:.6g}; top-10 positions {p['top10_positions']} hold "
                    f"{p['top10_share']:.6g}; every per-input estimate > 0: "
                    f"{p['all_estimates_positive']}")
                fg = (r["friedgut_note"] if r["friedgut_size_bound"] is None else
                      ", ".join(f"{k}: {v:.6g}" for k, v in r["friedgut_size_bound"].items()))
                lines.append(f"    Friedgut junta-size bound I/tau (explicit constants, Boolean "
                             f"theorem, I = centred total): {fg}")
                lines.append(f"    largest relative 95% CI half-width over positions: "
                             f"{r['max_rel_ci_halfwidth']:.6g}")
        for nz, dd in fr.get("stability", {}).items():
            for rho, d in dd.items():
                lines.append(f"  whole-sequence {nz} noise rho = {rho}: D_rho = E||f(x)-f(y)||^2/2 "
                             f"= {d['mean']:.6g} ± {d['stderr']:.6g} (mean ± stderr over inputs, "
                             f"raw)")
    lines.append("per-position values with CIs: --json")
    return "\n".join(lines)
