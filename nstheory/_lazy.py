"""Lazy re-exports for the area packages: ``from nstheory.gaussian import get_activation``
works, and importing a package stays cheap (a submodule, with its torch or SymPy import, loads
on first use of one of its names)."""

from __future__ import annotations

import importlib
import sys
import types


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]):
    """``(__all__, __getattr__, __dir__)`` for ``package`` re-exporting, for each submodule
    name in ``modules``, the public names listed with it.

    >>> all_, getattr_, _ = lazy_exports("nstheory.boolean", {"zoo": ("majority",)})
    >>> all_, getattr_("majority")(3).n
    (['majority'], 3)
    """
    owner = {name: mod for mod, names in modules.items() for name in names}
    # a function exported under its own submodule's name: importing the submodule would set
    # the package attribute to the module (so the second call of the function failed with
    # "'module' object is not callable"); the package keeps the function instead
    clash = frozenset(name for name, mod in owner.items() if name == mod)
    pkg = sys.modules.get(package)
    if clash and pkg is not None and type(pkg) is types.ModuleType:

        class _Package(types.ModuleType):
            def __setattr__(self, name, value):
                if name in clash and isinstance(value, types.ModuleType):
                    value = getattr(value, name)
                super().__setattr__(name, value)

        pkg.__class__ = _Package

    def __getattr__(name: str):
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{owner[name]}"), name)

    def __dir__():
        return sorted(set(owner) | set(importlib.import_module(package).__dict__))

    return sorted(owner), __getattr__, __dir__
