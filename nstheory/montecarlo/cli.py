"""``nstheory mc`` (Monte Carlo noise stability) and ``nstheory sensitivity`` commands.

Cheap to import: torch loads only when a command runs.

Examples (shell)::

    nstheory mc stab --model relu --rho 0.5 --n 2000000 --antithetic --cv-degree 4 --json
    nstheory mc stab --model relu-mlp --width 64 --rho 0.5 --n 100000
    nstheory mc stab --model transformer --task digits --rho 0.9 --n 20000 --device auto
    nstheory mc stab --model-file net.pt --input-shape 1,8,8 --rho 0.9 --n 20000
    nstheory sensitivity compare --tasks digits,fortunes --seeds 0,1,2 --out cmp.json
    nstheory sensitivity model --model-file net.pt --task digits --sigma 0.5 --variant scattered
"""

from __future__ import annotations

import sys

from nstheory.errors import NSTheoryError, parse_seeds


def _common(p) -> None:
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--dtype", default="float32", help="float32 | float64 | ...")
    p.add_argument("--seed", type=int, default=0, help="root seed (recorded in the result)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", default=None, help="also save the result as JSON to this path")


def register_cli(sub) -> None:
    mc = sub.add_parser("mc", help="Monte Carlo noise-stability estimates of torch models")
    mcs = mc.add_subparsers(dest="mc_command", metavar="SUBCOMMAND")
    st = mcs.add_parser("stab", help="Gaussian Stab_rho = E[<f(X), f(Y)>] (raw/centred/normalised)")
    st.add_argument("--model", default="relu",
                    help="relu | relu-mlp | mlp | cnn | lstm | transformer (built-in)")
    st.add_argument("--model-file", default=None,
                    help="a torch.save-d nn.Module or TorchScript file (overrides --model)")
    st.add_argument("--input-shape", default=None, help="per-sample input shape, e.g. 1,8,8")
    st.add_argument("--task", default="digits", help="task giving the built-in arch's shapes")
    st.add_argument("--width", type=int, default=64, help="relu-mlp hidden width")
    st.add_argument("--rho", type=float, default=0.5)
    st.add_argument("--n", "--samples", dest="n", type=int, default=100_000,
                    help="number of (X, Y) draws")
    st.add_argument("--antithetic", action="store_true", help="relu/relu-mlp: antithetic pairs")
    st.add_argument("--cv-degree", type=int, default=None,
                    help="relu/relu-mlp: Hermite control variate of this degree")
    _common(st)
    st.set_defaults(func=run_stab)
    mc.set_defaults(func=lambda a: (mc.print_help(), 0)[1])

    se = sub.add_parser("sensitivity",
                        help="token-wise sensitivity and the architecture comparison")
    ses = se.add_subparsers(dest="sens_command", metavar="SUBCOMMAND")
    cp = ses.add_parser("compare", help="MLP vs CNN vs LSTM vs transformer, CIs over seeds")
    cp.add_argument("--tasks", default="boolean,sparse-token,digits,fortunes")
    cp.add_argument("--archs", default="mlp,cnn,lstm,transformer")
    cp.add_argument("--seeds", default="0-2", help="seeds, e.g. 0-2 or 0,3,7 (default 0-2)")
    cp.add_argument("--executor", default="serial", help="serial | process | ray")
    cp.add_argument("--workers", type=int, default=None)
    cp.add_argument("--epochs", type=int, default=None, help="override the per-task epochs")
    cp.add_argument("--log", default=None, help="JSONL log to resume from")
    _common(cp)
    cp.set_defaults(func=run_compare)
    md = ses.add_parser("model", help="sensitivity of a saved model on a built-in task's data")
    md.add_argument("--model-file", required=True)
    md.add_argument("--task", default="digits")
    md.add_argument("--sigma", type=float, default=0.5)
    md.add_argument("--variant", default="exact", help="exact | scattered (images only)")
    md.add_argument("--reps", type=int, default=2)
    md.add_argument("--max-points", type=int, default=2000)
    _common(md)
    md.set_defaults(func=run_model)
    se.set_defaults(func=lambda a: (se.print_help(), 0)[1])


def _emit(args, result: dict, text: str) -> int:
    from nstheory.store import dumps, save_json

    if args.out:
        save_json(result, args.out)
    print(dumps(result) if args.json else text)
    return 0


def _shape(s: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in s.split(","))
    except ValueError as exc:
        raise NSTheoryError(f"--input-shape must be comma-separated integers, got {s!r}") from exc
    if not shape or min(shape) < 1:
        raise NSTheoryError(f"--input-shape must be positive integers, got {s!r}")
    return shape


def run_stab(args) -> int:
    import torch

    from nstheory.device import describe_device, resolve_device, resolve_dtype
    from nstheory.errors import check_rho

    check_rho(args.rho)
    if args.n < 2:
        raise NSTheoryError(f"--n must be >= 2, got {args.n}")
    device, dtype = resolve_device(args.device), resolve_dtype(args.dtype)
    g = torch.Generator(device=device).manual_seed(args.seed)
    base = {"rho": args.rho, "n": args.n, "seed": args.seed, "device": describe_device(device),
            "dtype": args.dtype}
    if args.model_file is None and args.model in ("relu", "relu-mlp"):
        from nstheory.montecarlo import variance

        if args.model == "relu":
            r = variance.relu_map_mc(args.rho, args.n, generator=g, antithetic=args.antithetic,
                                     cv_degree=args.cv_degree, device=device, dtype=dtype)
        else:
            gw = torch.Generator().manual_seed(args.seed + 1)
            W = torch.randn(args.width, 16, generator=gw, dtype=torch.float64)
            v = torch.randn(args.width, generator=gw, dtype=torch.float64) / args.width**0.5
            r = variance.relu_mlp_stability(W, v, args.rho, args.n, generator=torch.Generator()
                                            .manual_seed(args.seed), antithetic=args.antithetic,
                                            cv_degree=args.cv_degree)
        res = {**base, "model": args.model, **r.to_dict()}
        lo, hi = r.reduced.ci()
        text = (f"{r.what}\n  estimate {r.reduced.mean:.8g} ± {r.reduced.stderr:.2g} "
                f"(95% CI [{lo:.8g}, {hi:.8g}], n={r.reduced.n}); VRF {r.vrf:.3g}")
        return _emit(args, res, text)

    from nstheory.montecarlo.estimators import gaussian_stability

    if args.model_file:
        from nstheory.montecarlo.models import load_user_model

        if not args.input_shape:
            raise NSTheoryError("--model-file needs --input-shape (per-sample, e.g. 1,8,8)")
        model = load_user_model(args.model_file, device).to(device).eval()
        shape, space, name = _shape(args.input_shape), "input", args.model_file
        fwd = model
    else:
        from nstheory.montecarlo.datasets import get_task
        from nstheory.montecarlo.models import build_model

        task = get_task(args.task)
        model = build_model(args.model, task.kind, task.n_classes, seed=args.seed,
                            **task.model_kwargs()).to(device=device, dtype=dtype).eval()
        name = f"{args.model} (untrained, {args.task} shapes)"
        if task.kind == "image":
            shape, space, fwd = tuple(task.x_train.shape[1:]), "input (pixels)", model
        else:
            shape, space = (task.x_train.shape[1], model.width), "embedding"
            fwd = model.forward_embedded
    if hasattr(model, "to") and not isinstance(model, torch.jit.ScriptModule):
        model.to(dtype=dtype)

    def f(x):
        return torch.softmax(fwd(x), -1)

    r = gaussian_stability(f, shape, args.rho, args.n, generator=g, device=device, dtype=dtype,
                           batch_size=4096)
    res = {**base, "model": name, "space": space, "output": "softmax probabilities",
           **r.to_dict()}
    text = (f"Stab_rho of {name}, {space} space, f = softmax probabilities, rho={args.rho}\n"
            f"  raw        E[<f(X),f(Y)>] = {r.raw.mean:.6g} ± {r.raw.stderr:.2g}\n"
            f"  centred    sum Cov        = {r.centred.mean:.6g} ± {r.centred.stderr:.2g}\n"
            f"  normalised correlation    = {r.normalised.mean:.6g} ± {r.normalised.stderr:.2g}")
    return _emit(args, res, text)


def _csv(s: str) -> list[str]:
    return [v.strip() for v in s.split(",") if v.strip()]


def run_compare(args) -> int:
    from nstheory.executor import get_executor
    from nstheory.montecarlo.comparison import DEFAULTS, run_study
    from nstheory.montecarlo.models import ARCHS

    tasks, archs = _csv(args.tasks), _csv(args.archs)
    for t in tasks:
        if t not in DEFAULTS:
            raise NSTheoryError(f"unknown task {t!r}; choose from {', '.join(DEFAULTS)}")
    for a in archs:
        if a not in ARCHS:
            raise NSTheoryError(f"unknown arch {a!r}; choose from {', '.join(ARCHS)}")
    seeds = parse_seeds(args.seeds)
    if args.device not in ("auto", "cpu"):
        print("note: the comparison trains on CPU (small models)", file=sys.stderr)
    over = {"epochs": args.epochs} if args.epochs else None
    res = run_study(tasks, archs, seeds, get_executor(args.executor, args.workers), over, args.log)
    if args.out:
        from nstheory.montecarlo.comparison import THREADS, producers, study_config
        from nstheory.store import cli_command, provenance_block, thread_info

        threads = {**thread_info(), "torch": THREADS, "deterministic_algorithms": True,
                   "note": "each run uses nstheory.reproducible.deterministic(threads)"}
        res["provenance"] = provenance_block(study_config(tasks, archs, seeds, over),
                                             producers(tasks), command=cli_command(args),
                                             threads=threads)
    lines = []
    for task, s in res["summary"].items():
        lines.append(f"{task}: {s['metric']} (on training data; mean over seeds, 95% t-CI)")
        for a, v in s["archs"].items():
            lines.append(f"  {a:12s} {v['mean']:.4f} [{v['ci95'][0]:.4f}, {v['ci95'][1]:.4f}]"
                         f"  train acc {v['train_acc']:.3f} test acc {v['test_acc']:.3f}"
                         f"  params {v['params']}")
        for a, d in s["vs_transformer"].items():
            lines.append(f"  {a} - transformer: {d['mean']:+.4f} "
                         f"[{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]")
    return _emit(args, res, "\n".join(lines))


def run_model(args) -> int:
    import torch

    from nstheory.device import resolve_device
    from nstheory.montecarlo.datasets import get_task
    from nstheory.montecarlo.estimators import patch_sensitivity, tokenwise_sensitivity
    from nstheory.montecarlo.models import load_user_model

    device = resolve_device(args.device)
    model = load_user_model(args.model_file, device).eval()
    task = get_task(args.task)
    x = task.x_train[: args.max_points].to(device)
    g = torch.Generator(device=device).manual_seed(args.seed)
    if task.kind == "image":
        r = patch_sensitivity(model, x, args.sigma, patch=2, variant=args.variant,
                              reps=args.reps, generator=g)
    else:
        if not hasattr(model, "embed") or not hasattr(model, "forward_embedded"):
            raise NSTheoryError("token-task models need .embed(tokens) and .forward_embedded(e)")
        with torch.no_grad():
            e = model.embed(x)
        r = tokenwise_sensitivity(model.forward_embedded, e, args.sigma, reps=args.reps,
                                  generator=g)
    lo, hi = r.overall.ci
    res = {"model": args.model_file, "task": args.task, "seed": args.seed, **r.to_dict()}
    text = (f"{r.overall.what}\n  flip rate {r.rate:.5f} (95% Clopper-Pearson [{lo:.5f}, "
            f"{hi:.5f}], n={r.overall.n})")
    return _emit(args, res, text)
