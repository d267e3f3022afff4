"""Choosing the torch device and dtype from a flag (``auto`` picks CUDA when present).

>>> resolve_device("cpu").type
'cpu'
>>> resolve_dtype("float64")
torch.float64
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError, check_choice

DTYPES = ("float32", "float64", "bfloat16", "float16")


def resolve_device(flag: str = "auto"):
    """``"auto"`` -> CUDA if available else CPU; ``"cpu"``; ``"cuda"`` / ``"cuda:N"``
    (an error naming the problem if CUDA is not available).

    Parameters
    ----------
    flag : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Returns
    -------
    torch.device

    Raises
    ------
    NSTheoryError
        On an unknown flag, or a CUDA flag without CUDA.

    Examples
    --------
    >>> import torch
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    True
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: device must be auto, cpu or cuda[:N], got 'tpu'
    """
    import torch

    if flag in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if flag == "cpu":
        return torch.device("cpu")
    if str(flag).startswith("cuda"):
        if not torch.cuda.is_available():
            raise NSTheoryError(f"--device {flag} requested but CUDA is not available here")
        return torch.device(flag)
    raise NSTheoryError(f"device must be auto, cpu or cuda[:N], got {flag!r}")


def resolve_dtype(name: str = "float32"):
    """torch dtype from its name (float32, float64, bfloat16, float16).

    Parameters
    ----------
    name : str, optional
        One of :data:`DTYPES`.

    Returns
    -------
    torch.dtype

    Examples
    --------
    >>> resolve_dtype("bfloat16").itemsize, resolve_dtype().is_floating_point
    (2, True)
    >>> resolve_dtype("int8")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: ...dtype...
    """
    import torch

    check_choice(name, DTYPES, "dtype")
    return getattr(torch, name)


def describe_device(device) -> str:
    """Human-readable device description for reports, e.g. ``cpu (2 threads)``.

    Parameters
    ----------
    device : torch.device
        The device.

    Returns
    -------
    str
        ``cuda:<GPU name>`` or ``cpu (<N> threads)``.

    Examples
    --------
    >>> import torch
    >>> describe_device(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"
    True
    """
    import torch

    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads)"
