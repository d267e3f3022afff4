"""``nstheory propagate``: stability through depth by certified intervals, point recurrence and
Monte Carlo of random-weight torch models.

Cheap to import: torch and flint load only when the command runs.
"""

from __future__ import annotations


def register_cli(sub) -> None:
    p = sub.add_parser(
        "propagate",
        help="interval propagation of stability through depth (+ Monte Carlo check)",
        description="Per-layer raw noise stability E[h(X)_ij h(Y)_ij] of a deep network: "
        "certified mean-field interval [lo, hi] (arb, outward rounded), float point recurrence, "
        "and the Monte Carlo estimate of random-weight torch models with its confidence interval.",
    )
    p.add_argument("--arch", choices=("mlp", "attention", "transformer"), default="mlp")
    p.add_argument("--depth", type=int, default=10, help="number of blocks (default 10)")
    p.add_argument("--rho", type=float, default=0.9, help="input correlation (default 0.9)")
    p.add_argument("--width", type=int, default=256, help="torch model width (default 256)")
    p.add_argument("--tokens", type=int, default=4, help="tokens for attention (default 4)")
    p.add_argument("--residual", action="store_true", help="residual connections")
    p.add_argument("--layernorm", action="store_true", help="LayerNorm (pre-LN with --residual)")
    p.add_argument("--mode", choices=("identity", "lowrank", "random"), default="identity",
                   help="attention query-key structure (default identity)")
    p.add_argument("--gamma2", type=float, default=1.0,
                   help="squared value-column norm of attention (default 1)")
    p.add_argument("--sigma2", type=float, default=2.0,
                   help="weight variance x width of dense layers (default 2: He)")
    p.add_argument("--pattern-slack", type=float, default=0.0,
                   help="explicit widening of the attention pattern moments in the interval "
                   "route, in [0, 1] (default 0: the d -> infinity pattern limit; 1: any "
                   "pattern); always reported")
    p.add_argument("--state-dict", default=None, metavar="PATH",
                   help="an MLP's trained weights (torch.save-d state dict): intervals from "
                   "their weight statistics (mean squared row norms) instead of --sigma2")
    p.add_argument("--mc-samples", type=int, default=0, help="Monte Carlo input pairs (0: none)")
    p.add_argument("--per-net", type=int, default=100,
                   help="inputs per random network (default 100)")
    p.add_argument("--bits", type=int, default=53, help="arb precision in bits (default 53)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda (default auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--finite-width", action="store_true",
                   help="also the 1/width-corrected stability at --width (Dense + activation "
                   "MLPs): mean-field, corrected and remainder scale per layer, raw and "
                   "normalised views; with --mc-samples the normalised-view Monte Carlo too")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=run)


def _model_from_state_dict(args):
    """The MLP description read from ``--state-dict`` (MLP only; no Monte Carlo of it)."""
    from pathlib import Path

    import torch

    from nstheory.errors import NSTheoryError
    from nstheory.propagation.statedict import mlp_from_state_dict

    if args.arch != "mlp" or args.residual or args.layernorm:
        raise NSTheoryError("--state-dict supports --arch mlp without residual/LayerNorm")
    if args.mc_samples:
        raise NSTheoryError("--state-dict with --mc-samples: the Monte Carlo route samples "
                            "random weights; give one or the other")
    path = Path(args.state_dict)
    if not path.is_file():
        raise NSTheoryError(f"no such state dict file: {path}")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(sd, dict):
        raise NSTheoryError(f"{path} does not hold a state dict (got {type(sd).__name__})")
    return mlp_from_state_dict(sd)


def run(args) -> int:
    from nstheory.errors import NSTheoryError, check_int, check_rho
    from nstheory.propagation.compare import layer_table
    from nstheory.propagation.model import build
    from nstheory.store import dumps

    check_int(args.depth, "--depth", lo=1, hi=100_000)
    check_rho(args.rho, "--rho")
    check_int(args.mc_samples, "--mc-samples", lo=0)
    check_int(args.width, "--width", lo=2)
    if args.mc_samples and args.mc_samples < 2 * args.per_net:
        raise NSTheoryError(f"--mc-samples must be 0 or >= 2 x --per-net = {2 * args.per_net}")
    slack = args.pattern_slack
    if not (isinstance(slack, float) and 0.0 <= slack <= 1.0):  # also rejects NaN
        raise NSTheoryError(f"--pattern-slack must lie in [0, 1], got {slack!r}")
    if args.state_dict:
        model = _model_from_state_dict(args)
    else:
        model = build(args.arch, args.depth, residual=args.residual, layernorm=args.layernorm,
                      mode=args.mode, gamma2=args.gamma2, n_tokens=args.tokens,
                      sigma2=args.sigma2, pattern_slack=slack)
    rows = layer_table(model, args.rho, mc_samples=args.mc_samples, width=args.width,
                       per_net=args.per_net, seed=args.seed, device=args.device, bits=args.bits,
                       show_progress=not args.json)
    sampled = bool(args.mc_samples)
    all_in = all(r.contained for r in rows) if sampled else None
    if args.finite_width:
        from nstheory.propagation.finite_width_cli import run_finite_width

        return run_finite_width(args, model, rows)
    if args.json:
        print(dumps({
            "model": model.describe(),
            "view": "raw: E[h(X)_ij h(Y)_ij] per coordinate (uncentred)",
            "semantics": _semantics(model, slack, args.width),
            "rho": args.rho, "bits": args.bits, "width": args.width, "seed": args.seed,
            "mc_samples": args.mc_samples, "pattern_slack": slack,
            "containment": "interval meets the Monte Carlo 99.9% CI",
            "all_contained": all_in,
            "layers": [r.to_dict() for r in rows],
        }))
        return 0
    print(model.describe())
    print(f"rho = {args.rho}; raw stability E[h(X)_ij h(Y)_ij]; interval: certified mean-field "
          f"(arb, {args.bits} bits); MC: width {args.width}, 99.9% CI")
    print(_semantics(model, slack, args.width))
    head = f"{'layer':>5}  {'interval [lo, hi]':>40}  {'point (float)':>14}"
    if sampled:
        head += f"  {'MC mean ± stderr':>24}  {'z':>6}  {'in?':>4}  {'tight':>8}"
    print(head)
    for r in rows:
        line = f"{r.layer:>5}  [{r.lo:>18}, {r.hi:>18}]  {r.point:>14.10g}"
        if sampled:
            line += (f"  {r.mc_mean:>12.6g} ± {r.mc_stderr:<9.2g}  {r.z:>6.2f}  "
                     f"{'yes' if r.contained else 'NO':>4}  {r.tightness:>8.2g}")
        print(line)
    if sampled:
        print("all layers contained" if all_in else "NOT all layers contained")
    return 0


def _semantics(model, slack: float, width: int) -> str:
    """What the interval and the Monte Carlo estimate contain, in words."""
    from nstheory.propagation.model import _has_attention

    text = "interval = certified infinite-width (mean-field) value"
    if any(_has_attention(layer) for block in model.blocks for layer in block):
        text += ("; attention pattern moments in their d -> infinity limit (identity/low-rank: "
                 "identity pattern; random W: hard argmax, certified s_n(r^2) while tokens are "
                 "independent, any consistency in [0, 1] afterwards)")
        text += (f", widened by the user's pattern slack {slack!r}" if slack else
                 ", no pattern slack (finite-d softmax effects are not covered)")
    return text + f"; Monte Carlo = random-weight torch models of width {width}"
