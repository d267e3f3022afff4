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

import contextlib
import math
import sys
from pathlib import Path

from nstheory.errors import NSTheoryError
from nstheory.validate import (
    arg_input_file,
    arg_int,
    arg_nonempty,
    arg_output_file,
    arg_real,
    arg_rho,
    arg_seed,
    arg_seeds,
    parse_int_list,
)

#: Most (X, Y) draws of ``mc stab`` (a few minutes for the scalar ReLU map on one CPU core).
MAX_SAMPLES = 100_000_000
#: Highest Hermite control-variate degree (coverage of the 95% intervals is tested up to it).
MAX_CV_DEGREE = 8
#: The built-in models of ``mc stab --model``: the scalar ReLU map, a random ReLU layer, and the
#: comparison's architectures (:data:`nstheory.montecarlo.models.ARCHS`).
STAB_MODELS = ("relu", "relu-mlp", "mlp", "cnn", "lstm", "transformer")
#: Batch of ``mc stab`` on a built-in architecture or a saved model (fewer samples per batch
#: when one sample is large: see :func:`_stab_batch`).
STAB_BATCH = 4096
#: Most input values per ``mc stab`` batch (2^26 values: 256 MiB per tensor in float32).
MAX_BATCH_VALUES = 1 << 26


def _common(p, seed: bool = True, dtype: bool = True) -> None:
    """The options the sub-commands share (``--seed`` and ``--dtype`` only where they are
    used: an option that is accepted must change something)."""
    p.add_argument("--device", type=arg_nonempty("device"), default="auto",
                   help="auto | cpu | cuda[:N]")
    if dtype:
        p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                       help="dtype of the Gaussian draws (default float32; sums, control-"
                       "variate fits and variances are always accumulated in float64)")
    if seed:
        p.add_argument("--seed", type=arg_seed(), default=0,
                       help="root seed, 0 to 2^32-1 (recorded in the result)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", type=arg_output_file("json"), default=None,
                   help="also save the result as JSON to this path (its directory must exist; "
                   "an existing file is replaced only if it holds JSON)")


def register_cli(sub) -> None:
    """Add the ``mc`` (``stab``) and ``sensitivity`` (``compare``, ``model``) sub-commands.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["mc"].parse_args(["stab", "--rho", "0.25", "--n", "500"])
    >>> args.model, args.rho, args.n, args.device, args.func is run_stab
    ('relu', 0.25, 500, 'auto', True)
    >>> args = sub.choices["sensitivity"].parse_args(["compare", "--seeds", "0-1"])
    >>> args.seeds, args.executor, args.func is run_compare
    ([0, 1], 'serial', True)
    """
    mc = sub.add_parser("mc", help="Monte Carlo noise-stability estimates of torch models")
    mcs = mc.add_subparsers(dest="mc_command", metavar="SUBCOMMAND")
    st = mcs.add_parser("stab", help="Gaussian Stab_rho = E[<f(X), f(Y)>] (raw/centred/normalised)")
    st.add_argument("--model", default="relu", choices=STAB_MODELS,
                    help=" | ".join(STAB_MODELS) + " (built-in; default relu)")
    st.add_argument("--model-file", type=arg_input_file("file"), default=None,
                    help="a torch.save-d nn.Module or TorchScript file (overrides --model)")
    st.add_argument("--input-shape", default=None, help="per-sample input shape, e.g. 1,8,8")
    st.add_argument("--task", default=None,
                    help="mlp/cnn/lstm/transformer: task giving the arch's shapes (default digits)")
    st.add_argument("--width", type=arg_int(1, 4096), default=None,
                    help="relu-mlp hidden width, 1 to 4096 (default 64)")
    st.add_argument("--rho", type=arg_rho(), default=0.5,
                    help="input correlation in [-1, 1] (default 0.5)")
    st.add_argument("--n", "--samples", dest="n", type=arg_int(2, MAX_SAMPLES), default=100_000,
                    help=f"number of (X, Y) draws, 2 to {MAX_SAMPLES:.0e} (default 1e5)")
    st.add_argument("--antithetic", action="store_true", help="relu/relu-mlp: antithetic pairs")
    st.add_argument("--cv-degree", type=arg_int(1, MAX_CV_DEGREE), default=None,
                    help=f"relu/relu-mlp: Hermite control variate of this degree, 1 to "
                    f"{MAX_CV_DEGREE}")
    _common(st)
    st.set_defaults(func=run_stab)
    mc.set_defaults(func=lambda a: (mc.print_help(), 0)[1])

    se = sub.add_parser("sensitivity",
                        help="token-wise sensitivity and the architecture comparison")
    ses = se.add_subparsers(dest="sens_command", metavar="SUBCOMMAND")
    cp = ses.add_parser("compare", help="MLP vs CNN vs LSTM vs transformer, CIs over seeds")
    cp.add_argument("--tasks", default="boolean,sparse-token,digits,fortunes")
    cp.add_argument("--archs", default="mlp,cnn,lstm,transformer")
    cp.add_argument("--seeds", type=arg_seeds(1000), default="0-2",
                    help="seeds, e.g. 0-2 or 0,3,7 (default 0-2; one seed gives no CI)")
    cp.add_argument("--executor", choices=("serial", "process", "ray"), default="serial")
    cp.add_argument("--workers", type=arg_int(1, 256), default=None, help="1 to 256")
    cp.add_argument("--epochs", type=arg_int(1, 10_000), default=None,
                    help="override the per-task epochs, 1 to 10000")
    cp.add_argument("--log", type=arg_output_file("jsonl"), default=None,
                    help="JSONL log to resume from (created if absent; must hold JSON lines)")
    _common(cp, seed=False, dtype=False)  # each run is seeded by --seeds; training dtypes fixed
    cp.set_defaults(func=run_compare)
    md = ses.add_parser("model", help="sensitivity of a saved model on a built-in task's data")
    md.add_argument("--model-file", type=arg_input_file("file"), required=True)
    md.add_argument("--task", default="digits")
    md.add_argument("--sigma", type=arg_real(0, 1e6, lo_open=True), default=0.5,
                    help="noise level, in (0, 1e6] (default 0.5)")
    md.add_argument("--variant", choices=("exact", "scattered"), default="exact",
                    help="exact | scattered (images only)")
    md.add_argument("--reps", type=arg_int(1, 1000), default=2, help="1 to 1000 (default 2)")
    md.add_argument("--max-points", type=arg_int(2, 1_000_000), default=2000,
                    help="training points measured, 2 to 1e6 (default 2000)")
    _common(md, dtype=False)  # the model's own dtype
    md.set_defaults(func=run_model)
    se.set_defaults(func=lambda a: (se.print_help(), 0)[1])


def _emit(args, result: dict, text: str) -> int:
    from nstheory.store import dumps, save_json

    if args.out:
        save_json(result, args.out)
    print(dumps(result) if args.json else text)
    return 0


def _shape(s: str) -> tuple[int, ...]:
    """The per-sample ``--input-shape`` (an empty entry, as in ``1,,2``, is refused)."""
    if any(not p.strip() for p in str(s).split(",")) and str(s).strip():
        raise NSTheoryError(f"--input-shape has an empty entry in {s!r}: give every dimension, "
                            "e.g. 1,8,8")
    shape = tuple(parse_int_list(s, "--input-shape", lo=1, hi=1_000_000, max_len=8))
    if math.prod(shape) > 10_000_000:
        raise NSTheoryError(f"--input-shape must have at most 1e7 entries per sample, got {s!r}")
    return shape


def _stab_batch(shape) -> int:
    """Samples per ``mc stab`` batch: :data:`STAB_BATCH`, fewer when a sample is so large that
    the batch would hold more than :data:`MAX_BATCH_VALUES` input values (at least one).

    >>> _stab_batch((1, 8, 8)), _stab_batch((100_000,)), _stab_batch((10_000_000,))
    (4096, 671, 6)
    """
    return max(1, min(STAB_BATCH, MAX_BATCH_VALUES // math.prod(shape)))


def _stab_options(args) -> None:
    """Refuse ``mc stab`` options that do not apply to the chosen model (instead of ignoring
    them)."""
    model = "--model-file" if args.model_file else args.model
    scalar = model in ("relu", "relu-mlp")
    for given, option, applies, to in (
            (args.antithetic, "--antithetic", scalar, "--model relu or relu-mlp"),
            (args.cv_degree is not None, "--cv-degree", scalar, "--model relu or relu-mlp"),
            (args.width is not None, "--width", model == "relu-mlp", "--model relu-mlp"),
            (args.task is not None, "--task", not scalar and not args.model_file,
             "--model mlp, cnn, lstm or transformer"),
            (bool(args.input_shape), "--input-shape", bool(args.model_file), "--model-file")):
        if given and not applies:
            chosen = "--model-file" if args.model_file else f"--model {args.model}"
            raise NSTheoryError(f"{option} applies to {to} only, not to {chosen}: drop it")


def _forward_check(fwd, shape, device, dtype, name: str, x=None, what: str = "") -> None:
    """Run the model on two inputs of ``shape`` (or on ``x``); a mismatch (an output that is
    not a floating-point tensor (B, ...) with B = 2) becomes a one-line error."""
    import torch

    try:
        with torch.no_grad():
            out = fwd(torch.zeros((2, *shape), device=device, dtype=dtype) if x is None else x)
    except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        what = what or f"--input-shape {','.join(map(str, shape))}"
        raise NSTheoryError(f"{what} does not fit {name}: {first}") from None
    if not torch.is_tensor(out) or out.ndim < 2 or out.shape[0] != 2:
        raise NSTheoryError(f"{name} must map a batch (B, {','.join(map(str, shape))}) to "
                            "outputs (B, ...)")
    if not out.dtype.is_floating_point:
        raise NSTheoryError(f"{name} returns {str(out.dtype).removeprefix('torch.')} outputs; "
                            "it must return floating-point scores or logits (B, ...)")


def run_stab(args) -> int:
    """Run ``nstheory mc stab``: Monte Carlo Gaussian stability of a built-in or saved model.

    Returns the exit code; bad input raises :class:`NSTheoryError` (exit code 2 from the
    command line).

    Examples
    --------
    The raw ReLU map at rho = 1/2 is (sqrt(3)/2 + (2 pi/3)/2)/(2 pi) = 0.30450...:

    >>> import contextlib, io, json
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["mc", "stab", "--rho", "0.5", "--n", "1000", "--device", "cpu",
    ...                  "--json"])
    >>> r = json.loads(buf.getvalue())["reduced"]
    >>> code, r["n"], abs(r["mean"] - 0.3045) < 5 * r["stderr"]
    (0, 1000, True)
    """
    import torch

    from nstheory.device import describe_device, resolve_device, resolve_dtype
    from nstheory.errors import check_rho

    check_rho(args.rho)
    if args.n < 2:
        raise NSTheoryError(f"--n must be >= 2, got {args.n}")
    _stab_options(args)
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
            # the random layer is drawn and evaluated on the CPU in float64 whatever --device
            # and --dtype say: report what ran
            base = {**base, "device": describe_device(torch.device("cpu")), "dtype": "float64"}
            gw = torch.Generator().manual_seed(args.seed + 1)
            width = args.width or 64
            W = torch.randn(width, 16, generator=gw, dtype=torch.float64)
            v = torch.randn(width, generator=gw, dtype=torch.float64) / width**0.5
            r = variance.relu_mlp_stability(W, v, args.rho, args.n, generator=torch.Generator()
                                            .manual_seed(args.seed), antithetic=args.antithetic,
                                            cv_degree=args.cv_degree)
        res = {**base, "model": args.model, **r.to_dict()}
        lo, hi = r.reduced.ci()
        vrf = r.vrf
        vrf_text = (f"VRF {vrf:.3g}" if math.isfinite(vrf) else
                    "VRF undefined (plain and reduced variance both 0)" if math.isnan(vrf) else
                    "VRF inf (reduced variance 0)")
        text = (f"{r.what}\n  estimate {r.reduced.mean:.8g} ± {r.reduced.stderr:.2g} (± = "
                f"standard error; 95% CI [{lo:.8g}, {hi:.8g}], n={r.reduced.n}); {vrf_text}")
        if r.reduced.stderr == 0:
            text += ("\n  note: every draw gave the same value, so the standard error is 0 "
                     "(the integrand is constant on these draws)")
        return _emit(args, res, text)

    from nstheory.montecarlo.estimators import gaussian_stability

    if args.model_file:
        from nstheory.montecarlo.models import load_user_model

        if not args.input_shape:
            raise NSTheoryError("--model-file needs --input-shape (per-sample, e.g. 1,8,8)")
        shape = _shape(args.input_shape)
        model = load_user_model(args.model_file, device).to(device).eval()
        space, name = "input", args.model_file
        fwd = model
    else:
        from nstheory.montecarlo.datasets import get_task
        from nstheory.montecarlo.models import build_model

        task_name = args.task or "digits"
        task = get_task(task_name)
        model = build_model(args.model, task.kind, task.n_classes, seed=args.seed,
                            **task.model_kwargs()).to(device=device, dtype=dtype).eval()
        name = f"{args.model} (untrained, {task_name} shapes)"
        if task.kind == "image":
            shape, space, fwd = tuple(task.x_train.shape[1:]), "input (pixels)", model
        else:
            shape, space = (task.x_train.shape[1], model.width), "embedding"
            fwd = model.forward_embedded
    if hasattr(model, "to") and not isinstance(model, torch.jit.ScriptModule):
        model.to(dtype=dtype)

    _forward_check(fwd, shape, device, dtype, name)

    def f(x):
        return torch.softmax(fwd(x), -1)

    r = gaussian_stability(f, shape, args.rho, args.n, generator=g, device=device, dtype=dtype,
                           batch_size=_stab_batch(shape))
    res = {**base, "model": name, "space": space, "output": "softmax probabilities",
           **r.to_dict()}
    norm = (f"{r.normalised.mean:.6g} ± {r.normalised.stderr:.2g}"
            if math.isfinite(r.normalised.mean) else "undefined")
    if not math.isfinite(r.normalised.mean):
        res["normalised_note"] = ("undefined: the outputs have zero variance (e.g. a model with "
                                  "one output, whose softmax is constant 1)")
    text = (f"Stab_rho of {name}, {space} space, f = softmax probabilities, rho={args.rho}; "
            f"± = standard error (n={r.raw.n})\n"
            f"  raw        E[<f(X),f(Y)>] = {r.raw.mean:.6g} ± {r.raw.stderr:.2g}\n"
            f"  centred    sum Cov        = {r.centred.mean:.6g} ± {r.centred.stderr:.2g}\n"
            f"  normalised correlation    = {norm}")
    if "normalised_note" in res:
        text += f"\n  note: normalised view {res['normalised_note']}"
    return _emit(args, res, text)


def _csv(s: str, option: str) -> list[str]:
    """The names of a comma-separated option; an empty list is refused."""
    names = [v.strip() for v in s.split(",") if v.strip()]
    if not names:
        raise NSTheoryError(f"{option} names nothing (got {s!r}): give at least one name")
    return names


def run_compare(args) -> int:
    """Run ``nstheory sensitivity compare``: the architecture comparison over seeds.

    Trains every (task, architecture, seed) model, so a real run takes minutes; unknown tasks
    or architectures raise :class:`NSTheoryError` (exit code 2 from the command line).

    Examples
    --------
    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     code = main(["sensitivity", "compare", "--tasks", "nope"])
    >>> code, "unknown task 'nope'" in err.getvalue()
    (2, True)
    """
    from nstheory.executor import get_executor
    from nstheory.montecarlo.comparison import DEFAULTS, run_study
    from nstheory.montecarlo.models import ARCHS
    from nstheory.store import exclusive_lock

    tasks, archs = _csv(args.tasks, "--tasks"), _csv(args.archs, "--archs")
    for t in tasks:
        if t not in DEFAULTS:
            raise NSTheoryError(f"unknown task {t!r}; choose from {', '.join(DEFAULTS)}")
    for a in archs:
        if a not in ARCHS:
            raise NSTheoryError(f"unknown arch {a!r}; choose from {', '.join(ARCHS)}")
    seeds = args.seeds
    if args.log and args.out and Path(args.log).resolve() == Path(args.out).resolve():
        raise NSTheoryError("--log and --out name the same file (the result would replace the "
                            "resume log); give two names")
    if args.device not in ("auto", "cpu"):
        print("note: the comparison trains on CPU (small models)", file=sys.stderr)
    over = {"epochs": args.epochs} if args.epochs is not None else None
    executor = get_executor(args.executor, args.workers)
    # one writer per log: two runs interleaved records of different configurations
    with exclusive_lock(args.log, "comparison log") if args.log else contextlib.nullcontext():
        res = run_study(tasks, archs, seeds, executor, over, args.log)
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
        lines.append(f"{task}: {s['metric']} (on training data; mean over seeds [95% t-CI "
                     "over seeds])")
        for a, v in s["archs"].items():
            lines.append(f"  {a:12s} {v['mean']:.6g} {_ci_text(v['ci95'])}"
                         f"  train acc {v['train_acc']:.6g} test acc {v['test_acc']:.6g}"
                         f"  params {v['params']}")
        for a, d in s["vs_transformer"].items():
            lines.append(f"  {a} - transformer: {d['mean']:+.6g} {_ci_text(d['ci95'], '+')}")
    return _emit(args, res, "\n".join(lines))


def _ci_text(ci, sign: str = "") -> str:
    """``[lo, hi]`` in ``.6g``, or a note when there is no interval (one seed)."""
    if ci is None:
        return "(one seed: no CI)"
    return f"[{ci[0]:{sign}.6g}, {ci[1]:{sign}.6g}]"


def run_model(args) -> int:
    """Run ``nstheory sensitivity model``: flip-rate sensitivity of a saved model on a task.

    Returns the exit code; a file that is not a saved torch module raises
    :class:`NSTheoryError` (exit code 2 from the command line).

    Examples
    --------
    >>> import contextlib, io, os, tempfile
    >>> from nstheory.cli import main
    >>> path = os.path.join(tempfile.mkdtemp(), "junk.pt")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("not a model")
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     code = main(["sensitivity", "model", "--model-file", path, "--device", "cpu"])
    >>> code, "is not a torch file" in err.getvalue()
    (2, True)
    """
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
    what = f"task {args.task!r} (inputs {tuple(x.shape[1:])})"
    if task.kind == "image":
        _forward_check(model, (), device, None, args.model_file, x=x[:2], what=what)
        r = patch_sensitivity(model, x, args.sigma, patch=2, variant=args.variant,
                              reps=args.reps, generator=g)
    else:
        if not hasattr(model, "embed") or not hasattr(model, "forward_embedded"):
            raise NSTheoryError("token-task models need .embed(tokens) and .forward_embedded(e)")
        _forward_check(lambda t: model.forward_embedded(model.embed(t)), (), device, None,
                       args.model_file, x=x[:2], what=what)
        with torch.no_grad():
            e = model.embed(x)
        r = tokenwise_sensitivity(model.forward_embedded, e, args.sigma, reps=args.reps,
                                  generator=g)
    lo, hi = r.overall.ci
    res = {"model": args.model_file, "task": args.task, "seed": args.seed, **r.to_dict()}
    text = (f"{r.overall.what}\n  flip rate {r.rate:.6g} (95% Clopper-Pearson [{lo:.6g}, "
            f"{hi:.6g}], n={r.overall.n})")
    return _emit(args, res, text)
