"""Monte Carlo estimates of ``E[phi(U) phi(V)]`` with torch (CPU or CUDA), for z-score checks.

Examples
--------
>>> from nstheory.gaussian.activations import get_activation
>>> m = mc_raw(get_activation("relu"), 0.5, n=200_000, seed=1)
>>> abs(m.z(0.30449889052211467904)) < 5
True
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError, check_int, check_positive, check_rho


def torch_phi(name: str):
    """The torch function of the activation called ``name``.

    Examples
    --------
    >>> import torch
    >>> torch_phi("relu")(torch.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    >>> torch_phi("swish")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: no torch function for activation 'swish'
    """
    import torch
    import torch.nn.functional as F

    table = {
        "relu": torch.relu,
        "leaky_relu": None,
        "abs": torch.abs,
        "sign": torch.sign,
        "erf": torch.erf,
        "gelu": lambda x: F.gelu(x, approximate="none"),
        "tanh": torch.tanh,
        "silu": F.silu,
        "softplus": F.softplus,
        "identity": lambda x: x,
    }
    if name not in table:
        raise NSTheoryError(f"no torch function for activation {name!r}")
    return table[name]


def mc_raw(act, rho, q1=1.0, q2=1.0, n: int = 1_000_000, seed: int = 0, device: str = "cpu",
           chunk: int = 1_000_000):
    """:class:`nstheory.stats.Moments` of ``phi(U) phi(V)`` over ``n`` float64 samples,
    ``U = sqrt(q1) X``, ``V = sqrt(q2)(rho X + sqrt(1-rho^2) Z)`` (seeded torch generator).

    Examples
    --------
    For the identity ``E[U V] = sqrt(q1 q2) rho``, here ``2 * 0.5 = 1``:

    >>> from nstheory.gaussian.activations import get_activation
    >>> m = mc_raw(get_activation("identity"), 0.5, q1=4.0, n=20_000, seed=3)
    >>> m.n, abs(m.z(1.0)) < 5
    (20000, True)
    """
    import math

    import torch

    from nstheory.device import resolve_device
    from nstheory.stats import Moments

    check_rho(rho)
    check_positive(q1, "q1")
    check_positive(q2, "q2")
    n = check_int(n, "n", lo=2)
    dev = resolve_device(device)
    if act.name == "leaky_relu":
        slope = act.a

        def phi(x):
            return torch.nn.functional.leaky_relu(x, negative_slope=slope)
    else:
        phi = torch_phi(act.name)
    gen = torch.Generator(device=dev).manual_seed(seed)
    s = math.sqrt(max(0.0, 1 - float(rho) ** 2))
    total = Moments()
    done = 0
    while done < n:
        m = min(chunk, n - done)
        x = torch.randn(m, generator=gen, device=dev, dtype=torch.float64)
        z = torch.randn(m, generator=gen, device=dev, dtype=torch.float64)
        u = math.sqrt(q1) * x
        v = math.sqrt(q2) * (float(rho) * x + s * z)
        total = total.merge(Moments.from_values(phi(u) * phi(v)))
        done += m
    return total
