"""A real BERT-family checkpoint read into the propagation model description, and the per-layer
noise stability it predicts compared with the stability measured on the real model.

:func:`describe_checkpoint` reads, per encoder layer: per-head ``W = W_Q W_K^T`` structure and
the value-output column norms (``nstheory.propagation.statedict.attention_stats`` on
``W_V^T W_O^T``, the heads' combined value-output map), the MLP weights' mean squared row norms,
the LayerNorm gains and the largest bias. :func:`propagation_model` turns that into the
propagation area's :class:`~nstheory.propagation.model.Model` (post-LN blocks: residual
attention, LayerNorm, residual GELU MLP, LayerNorm); LayerNorm gains and biases are reported but
not modelled (the rules have no affine LayerNorm and no biases).

:func:`measured_layers` applies Gaussian noise to the token embeddings of real text,
``y = rho e + sqrt(1 - rho^2) s Z`` (s: the embedding scale), and measures per layer the
normalised correlation ``C / sqrt(Q_x Q_y)`` of the hidden states (uncentred, over tokens and
channels) and its centred version (per-channel means removed), each pooled over the inputs with
a 95% jackknife-t interval over inputs (Fisher's z, leave one input out; at least 3 inputs).
:func:`compare_layers` starts the mean-field recurrence at the correlation measured after the
embedding layer (layer 0) and predicts layers 1..L.

>>> from nstheory.models.loading import tiny_model
>>> d = describe_checkpoint(tiny_model("bert"))
>>> len(d["layers"]), d["layers"][0]["attention_mode"] in ("identity", "lowrank", "random")
(2, True)
"""

from __future__ import annotations

from collections import Counter

from nstheory.errors import NSTheoryError, check_int, check_rho


def _bert_layers(lm):
    enc = getattr(lm.model, "encoder", None)
    layers = getattr(enc, "layer", None)
    if layers is None or not hasattr(layers[0], "attention"):
        raise NSTheoryError(
            f"layer-wise theory reads BERT-family encoders (bert, roberta, minilm); "
            f"{lm.config.model_type} is not supported yet")
    return layers


def describe_checkpoint(lm) -> dict:
    """Per-layer weight statistics that the propagation rules use (see the module docstring).

    Parameters
    ----------
    lm : LoadedModel
        A BERT-family encoder.

    Returns
    -------
    dict
        ``layers`` (one dict per layer), ``activation`` and ``heads``.

    Raises
    ------
    NSTheoryError
        For a model that is not a BERT-family encoder.

    Examples
    --------
    >>> from nstheory.models.loading import tiny_model
    >>> lm = tiny_model("bert")
    >>> desc = describe_checkpoint(lm)
    >>> len(desc["layers"]) == lm.config.num_hidden_layers, desc["layers"][0]["width"]
    (True, 32)
    >>> describe_checkpoint(tiny_model("gpt2"))              # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: layer-wise theory reads BERT-family encoders ...
    """
    import torch

    from nstheory.propagation.statedict import attention_stats, dense_sigma2

    layers = _bert_layers(lm)
    heads = int(lm.config.num_attention_heads)
    out = []
    with torch.no_grad():
        for i, layer in enumerate(layers):
            sa, ao = layer.attention.self, layer.attention.output
            wq, wk, wv = (m.weight.double() for m in (sa.query, sa.key, sa.value))
            wo = ao.dense.weight.double()
            d = wq.shape[1]
            dh = wq.shape[0] // heads
            modes, idist = [], []
            for h in range(heads):
                sl = slice(h * dh, (h + 1) * dh)
                st = attention_stats(wq[sl].T, wk[sl].T, (wv[sl].T @ wo[:, sl].T))
                modes.append(st["mode"])
                idist.append(st["identity_distance"])
            full = attention_stats(wq.T, wk.T, wv.T @ wo.T)
            biases = [m.bias for m in (sa.query, sa.key, sa.value, ao.dense,
                                       layer.intermediate.dense, layer.output.dense)
                      if m.bias is not None]
            out.append({
                "layer": i + 1,
                "attention_mode": Counter(modes).most_common(1)[0][0],
                "head_modes": modes,
                "head_identity_distance": idist,
                "value_output_gamma2_mean": full["gamma2_mean"],
                "mlp_in_sigma2": dense_sigma2(layer.intermediate.dense.weight)["sigma2_mean"],
                "mlp_out_sigma2": dense_sigma2(layer.output.dense.weight)["sigma2_mean"],
                "ln_attention_gain2_mean": float(ao.LayerNorm.weight.double().pow(2).mean()),
                "ln_output_gain2_mean": float(layer.output.LayerNorm.weight.double().pow(2).mean()),
                "max_abs_bias": float(max(b.abs().max() for b in biases)) if biases else 0.0,
                "width": d,
            })
    act = getattr(lm.config, "hidden_act", "gelu")
    return {"layers": out, "activation": act, "heads": heads}


def propagation_model(desc: dict, n_tokens: int):
    """The propagation :class:`Model` of a :func:`describe_checkpoint` result.

    Each layer becomes a post-LN block: residual attention, LayerNorm, residual
    MLP, LayerNorm.

    Examples
    --------
    >>> from nstheory.models.loading import tiny_model
    >>> desc = describe_checkpoint(tiny_model("bert"))
    >>> m = propagation_model(desc, n_tokens=8)
    >>> m.depth == len(desc["layers"]), m.n_tokens
    (True, 8)
    """
    from nstheory.propagation.model import Act, Attention, Dense, LayerNorm, Model, Residual

    act = "gelu" if "gelu" in desc["activation"] else desc["activation"]
    blocks = []
    for r in desc["layers"]:
        blocks.append((
            Residual((Attention(r["attention_mode"], r["value_output_gamma2_mean"]),)),
            LayerNorm(),
            Residual((Dense(r["mlp_in_sigma2"]), Act(act), Dense(r["mlp_out_sigma2"]))),
            LayerNorm(),
        ))
    return Model(tuple(blocks), n_tokens, "post-LN transformer read from a checkpoint")


def measured_layers(lm, ids, rhos, draws: int = 4, seed: int = 0) -> dict:
    """Measured per-layer correlations of clean and Gaussian-noised embeddings.

    Parameters
    ----------
    lm : LoadedModel
        The model.
    ids : torch.Tensor
        Inputs, shape ``(count, n)``.
    rhos : iterable of float
        Correlations of the embedding noise.
    draws : int, optional
        Noisy copies per input.
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    dict
        ``{rho: {"uncentred": [...], "centred": [...], "uncentred_ci95": [[lo, hi], ...],
        "centred_ci95": [...]}}`` per layer 0..L (see the module docstring); with fewer than
        3 inputs the intervals are ``None`` and ``ci95_note`` says why.

    Examples
    --------
    Without noise (``rho = 1``) every layer is perfectly correlated with itself:

    >>> import math, torch
    >>> from nstheory.models.loading import tiny_model
    >>> lm = tiny_model("bert")
    >>> ids = torch.randint(4, 64, (2, 6), generator=torch.Generator().manual_seed(0))
    >>> m = measured_layers(lm, ids, [1.0, 0.5], draws=2)
    >>> all(math.isclose(c, 1.0, rel_tol=1e-9) for c in m["1.0"]["uncentred"])
    True
    >>> len(m["0.5"]["centred"]) == lm.config.num_hidden_layers + 1
    True
    >>> m["0.5"]["centred_ci95"] is None, m["0.5"]["ci95_note"][:29]     # 2 inputs
    (True, 'no interval: it needs >= 3 in')
    """
    import torch

    draws = check_int(draws, "draws", lo=1)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    s = lm.embedding_scale()
    with torch.no_grad():
        base = lm.embed(ids)
        clean = [h.double() for h in lm.forward(base).hidden_states]
        out = {}
        for rho in rhos:
            check_rho(rho)
            rho = float(rho)
            acc = None
            for _ in range(draws):
                z = torch.randn(base.shape, generator=gen, dtype=torch.float64)
                e = rho * base + (1 - rho * rho) ** 0.5 * s * z.to(base.device, base.dtype)
                noisy = [h.double() for h in lm.forward(e).hidden_states]
                pairs = list(zip(clean, noisy, strict=True))
                if acc is None:
                    acc = [[hx, [hy]] for hx, hy in pairs]
                else:
                    for a, (_, hy) in zip(acc, pairs, strict=True):
                        a[1].append(hy)
            sums = []
            for hx, hys in acc:
                hy = torch.stack(hys)           # (draws, count, n, d)
                hx = hx.expand_as(hy)
                # per input and channel: sums over draws and tokens (the pooled statistics of
                # any subset of inputs are sums of these)
                sums.append({k: v.sum(dim=(0, 2)).cpu().numpy() for k, v in (
                    ("x", hx), ("y", hy), ("xy", hx * hy), ("xx", hx * hx), ("yy", hy * hy))}
                            | {"m": hy.shape[0] * hy.shape[2]})
            out[str(rho)] = _with_intervals(sums, ids.shape[0])
    return out


def _pooled_corr(s: dict, idx, centred: bool) -> float:
    """Correlation of h(x), h(y) pooled over the inputs ``idx`` from per-input sums."""
    m = s["m"] * len(idx)
    sx, sy, sxy, sxx, syy = (s[k][idx].sum(axis=0) for k in ("x", "y", "xy", "xx", "yy"))
    if centred:
        sxy, sxx, syy = sxy - sx * sy / m, sxx - sx * sx / m, syy - sy * sy / m
    return float(sxy.sum() / (sxx.sum() * syy.sum()) ** 0.5)


def _with_intervals(sums: list[dict], k: int) -> dict:
    """Per-layer pooled correlations and their 95% jackknife-t intervals over the ``k``
    inputs (Fisher's z; ``k - 1`` degrees of freedom)."""
    import numpy as np

    from nstheory.models.summary import MIN_INPUTS, NO_JACK, _t95, jackknife_se

    out = {}
    for view, centred in (("uncentred", False), ("centred", True)):
        vals, cis = [], []
        for s in sums:
            idx = np.arange(k)
            r = _pooled_corr(s, idx, centred)
            vals.append(r)
            if k < MIN_INPUTS:
                continue
            z = np.arctanh(np.clip([_pooled_corr(s, idx[idx != i], centred) for i in range(k)],
                                   -1 + 1e-15, 1 - 1e-15))
            h = _t95(k) * float(jackknife_se(z))
            z0 = float(np.arctanh(min(max(r, -1 + 1e-15), 1 - 1e-15)))
            cis.append([float(np.tanh(z0 - h)), float(np.tanh(z0 + h))])
        out[view], out[f"{view}_ci95"] = vals, (cis if k >= MIN_INPUTS else None)
    if k < MIN_INPUTS:
        out["ci95_note"] = NO_JACK
    return out


def compare_layers(desc: dict, measured: dict, n_tokens: int) -> dict:
    """Measured per-layer correlations beside the mean-field prediction.

    Per rho, the prediction is started at the measured layer-0 correlation
    (uncentred -> ``normalised``; centred -> ``centred``).

    Parameters
    ----------
    desc : dict
        A :func:`describe_checkpoint` result.
    measured : dict
        A :func:`measured_layers` result.
    n_tokens : int
        Tokens per input.

    Returns
    -------
    dict
        Per rho: ``measured``, ``predicted`` and ``gap`` (measured minus predicted).

    Examples
    --------
    Correlation 1 is a fixed point of the mean-field map:

    >>> from nstheory.models.loading import tiny_model
    >>> desc = describe_checkpoint(tiny_model("bert"))
    >>> L = len(desc["layers"])
    >>> row = compare_layers(desc, {"1.0": {"uncentred": [1.0] * (L + 1),
    ...                                     "centred": [1.0] * (L + 1)}}, 6)["1.0"]
    >>> max(abs(g) for g in row["gap"]["uncentred"]) < 1e-9
    True
    """
    import math

    from nstheory.propagation.recurrence import point_recurrence

    model = propagation_model(desc, n_tokens)
    out = {}
    for rho, m in measured.items():
        row = {"measured": m, "predicted": {}}
        for view, fn in (("uncentred", "normalised"), ("centred", "centred")):
            r0 = min(1.0, max(-1.0, m[view][0]))
            try:
                states = point_recurrence(model, r0)
                row["predicted"][view] = [float(getattr(st, fn)()) for st in states]
            except (NSTheoryError, ValueError, ZeroDivisionError) as exc:
                row["predicted"][view] = None
                row.setdefault("errors", {})[view] = str(exc).splitlines()[0]
            pred = row["predicted"][view]
            if pred is not None:
                row.setdefault("gap", {})[view] = [
                    (a - b) if not (math.isnan(a) or math.isnan(b)) else math.nan
                    for a, b in zip(m[view], pred, strict=False)]
        out[rho] = row
    return out
