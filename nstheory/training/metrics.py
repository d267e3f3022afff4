"""Trajectory metrics of a training run, and steps-to-threshold read off its log.

Measured every ``metrics_every`` steps on a fixed sample of training inputs (the first
``metric_samples`` of the shuffled train split), with a generator seeded by (seed, step) so a
resumed run measures exactly what an uninterrupted one does:

* ``sens`` -- Vasudeva et al.'s grokking sensitivity: add ``sigma * N(0, I)`` (sigma = 0.1) to
  the embeddings (token + position) of *all noise positions jointly* (both operands for
  modular addition), one draw, and report the fraction of inputs whose argmax changes;
* ``flip_token`` -- the same flip rate under the regularizer's token noise;
* ``stab_token`` / ``stab_gauss`` -- the probability-agreement stability
  ``E sum_i p_i(X) p_i(Y)`` (``= -R`` for S = 1; the raw view) under token noise and under
  Gaussian embedding noise with the regularizer's rho (``rho e + sqrt(1 - rho^2) s Z``);
* ``stab_token_norm`` -- the normalised view of the token stability,
  ``sum_i Cov(p_i(X), p_i(Y)) / sum_i Var(p_i(X))``: 1 for a function the noise cannot move,
  ``rho_eff^k`` for a k-sparse parity's class probabilities. It ignores the output's scale:
  a near-constant network at initialisation has raw stability ~1/C, while the normalised view
  describes the shape of its small variations (~0.50 at initialisation on our parity runs,
  close to ``rho_eff`` of a function of single bits);
* ``weight_norm`` -- global L2 norm of the parameters.

The estimates use the shared Monte Carlo estimators
(:func:`nstheory.montecarlo.estimators.flip_rate` / ``paired_moment``).

>>> recs = [{"step": 0, "val_acc": 0.1}, {"step": 50, "val_acc": 0.96},
...         {"step": 100, "val_acc": 1.0}]
>>> steps_to_threshold(recs, "val_acc", 0.95), steps_to_threshold(recs, "val_acc", 0.99)
(50, 100)
>>> steps_to_threshold(recs, "val_acc", 0.5, above=False)
0
"""

from __future__ import annotations

import torch


def steps_to_threshold(records, key: str, threshold: float, above: bool = True):
    """First logged step whose ``key`` is ``>= threshold`` (``above``) or ``<= threshold``;
    None if it never gets there (a censored run).

    Parameters
    ----------
    records : iterable of dict
        Log records in step order, each with ``"step"``; records without ``key`` are skipped.
    key : str
        The logged quantity.
    threshold : float
        Level to reach.
    above : bool, optional
        Reach from below (accuracy) or from above (loss).

    Returns
    -------
    int or None

    Examples
    --------
    >>> log = [{"step": 0, "val_loss": 4.0}, {"step": 10}, {"step": 20, "val_loss": 3.4}]
    >>> steps_to_threshold(log, "val_loss", 3.5, above=False)
    20
    >>> steps_to_threshold(log, "val_loss", 1.0, above=False) is None     # censored
    True
    """
    for r in records:
        v = r.get(key)
        if v is None:
            continue
        if (v >= threshold) if above else (v <= threshold):
            return r["step"]
    return None


def _rows(p):
    """Sequence outputs (B, T, C) -> one row of probabilities per (example, position)."""
    return p.reshape(-1, p.shape[-1])


@torch.no_grad()
def trajectory_metrics(model, data, cfg, step: int) -> dict:
    """Sensitivity, token and Gaussian stability, flip rates and weight norm at ``step``.

    Parameters
    ----------
    model : AnswerTransformer or TinyLM
        The model (restored to its training mode afterwards).
    data : nstheory.training.tasks.TaskData
        The task; the first ``cfg.metric_samples`` training inputs are used.
    cfg : nstheory.training.config.TrainConfig
        Supplies ``seed``, ``reg_rho``, ``reg_noise``, ``sens_sigma``, ``metric_samples``.
    step : int
        Seeds the measurement with ``seed``, so a resumed run measures the same.

    Returns
    -------
    dict
        ``sens, flip_token, stab_token, stab_gauss, stab_token_norm, weight_norm``.

    Examples
    --------
    With ``rho = 1`` neither noise moves the input, so no prediction flips and both raw
    stabilities equal ``E sum_i p_i(X)^2``:

    >>> from nstheory.training.config import preset
    >>> from nstheory.training.models import AnswerTransformer, weight_norm
    >>> from nstheory.training.tasks import modular_addition
    >>> _ = torch.manual_seed(0)
    >>> data = modular_addition(11, 0.5, seed=0)
    >>> model = AnswerTransformer(12, 11, 3, d_model=16, n_heads=2, d_mlp=32)
    >>> cfg = preset("tiny", reg_rho=1.0, metric_samples=8)
    >>> m = trajectory_metrics(model, data, cfg, step=0)
    >>> p = torch.softmax(model(data.train_x[: cfg.metric_samples]), -1).detach()
    >>> m["flip_token"], abs(m["stab_token"] - float((p * p).sum(-1).mean())) < 1e-6
    (0.0, True)
    >>> abs(m["stab_gauss"] - m["stab_token"]) < 1e-6, m["weight_norm"] == weight_norm(model)
    (True, True)
    >>> 0 <= m["sens"] <= 1
    True
    """
    from nstheory.montecarlo.estimators import flip_rate, paired_moment, paired_views
    from nstheory.training.models import weight_norm
    from nstheory.training.regularizer import gaussian_embedding_noise, perturb_tokens

    was_training = model.training
    model.eval()
    dev = data.train_x.device
    g = torch.Generator(device=dev).manual_seed(1_000_003 * (cfg.seed + 1) + step)
    x = data.train_x[: cfg.metric_samples]
    e = model.embed(x)
    T = x.shape[1]
    pos = data.noise_positions
    mask = [True] * T if pos is None else [i in pos for i in range(T)]
    m = torch.tensor(mask, device=dev).view(1, -1, 1)
    scale = model.W_E.pow(2).mean().sqrt()
    tok_noise = cfg.reg_noise if cfg.reg_noise != "gaussian" else "token"

    def argmax_emb(emb):
        return model.forward_embeddings(emb).argmax(-1)

    def sens_perturb(emb, gen):
        z = torch.randn(emb.shape, generator=gen, device=dev, dtype=emb.dtype)
        return emb + cfg.sens_sigma * z * m

    def tok_perturb(tokens, gen):
        return perturb_tokens(tokens, cfg.reg_rho, tok_noise, data.noise_vocab, pos, gen)

    def gauss_perturb(emb, gen):
        return gaussian_embedding_noise(emb, cfg.reg_rho, scale, mask, gen)

    def probs_tokens(t):
        return torch.softmax(model(t).float(), -1)

    def probs_emb(emb):
        return torch.softmax(model.forward_embeddings(emb).float(), -1)

    out = {
        "sens": flip_rate(argmax_emb, e, sens_perturb, 1, g).rate,
        "flip_token": flip_rate(lambda t: model(t).argmax(-1), x, tok_perturb, 1, g).rate,
        "stab_token": paired_moment(lambda t: _rows(probs_tokens(t)), x, tok_perturb, 1,
                                    g).mean,
        "stab_gauss": paired_moment(lambda em: _rows(probs_emb(em)), e, gauss_perturb, 1,
                                    g).mean,
    }
    # normalised view of the token stability: Cov(p(X), p(Y)) / Var(p(X)) summed over classes
    out["stab_token_norm"] = paired_views(lambda t: _rows(probs_tokens(t)), x, tok_perturb,
                                          g).normalised.mean
    out["weight_norm"] = weight_norm(model)
    model.train(was_training)
    return out


__all__ = ["steps_to_threshold", "trajectory_metrics"]
