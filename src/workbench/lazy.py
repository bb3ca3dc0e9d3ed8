"""The capability packages' lazy public surface (PEP 562): names of `core` and the submodules load on
first use, so `workbench.config` can read the drift registry without importing a review and
importing a package stays cheap. One mechanism for drift/, performance/ and infrastructure/."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def package(name: str, namespace: dict[str, Any], from_core: tuple[str, ...], submodules: tuple[str, ...],
            any_core_name: bool = False) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for package `name` (its globals are `namespace`): `from_core` names come
    from its `core` module (every public name of core when `any_core_name`), `submodules` are imported;
    each value is cached in the package on first use."""

    def __getattr__(attr: str) -> Any:
        if attr in submodules:
            value = importlib.import_module(f"{name}.{attr}")
        elif attr in from_core or (any_core_name and not attr.startswith("__")):
            try:
                value = getattr(importlib.import_module(f"{name}.core"), attr)
            except AttributeError:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None
        else:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        namespace[attr] = value
        return value

    def __dir__() -> list[str]:
        names = set(namespace) | set(from_core) | set(submodules)
        if any_core_name:
            names |= {n for n in vars(importlib.import_module(f"{name}.core")) if not n.startswith("_")}
        return sorted(names)

    return __getattr__, __dir__


class module:
    """A module imported on first attribute access: `stats = lazy.module("scipy.stats")`. For a
    dependency only some calls need (scipy in the drift registry, which config reads for method
    names): importing scipy.stats costs ~1 s per notebook kernel that never computes a test."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        mod = importlib.import_module(self._name)
        self.__dict__.update(vars(mod))  # later lookups skip __getattr__
        return getattr(mod, attr)
