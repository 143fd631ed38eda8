"""The program structures: each declared once, in a module of this package.

Every module here that defines `STRUCTURE` (a base.Structure) is registered when the package is
first imported; `get(name)` and `names()` are what the schema, the model, the CLI, the runner,
the figures, the memory guard, sharding and the dashboard read. Adding a structure is one new
module (see base.py for what it must provide) plus its tests, step by step in
docs/CONTRIBUTING.md (section 3); `register` adds one at run time (a test's, or a plug-in's).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Engine, FigurePanel, Layout, Structure

_REGISTRY: dict[str, Structure] = {}
_DISCOVERED = False


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = getattr(module, "STRUCTURE", None)
        if isinstance(declared, Structure):
            register(declared)


def register(structure: Structure) -> Structure:
    """Add a structure to the registry (its name must be new); returns it."""
    if structure.name in _REGISTRY and _REGISTRY[structure.name] is not structure:
        raise ValueError(f"structure {structure.name!r} is registered twice")
    _REGISTRY[structure.name] = structure
    return structure


def unregister(name: str) -> None:
    """Remove a structure added with `register` (tests)."""
    _REGISTRY.pop(name, None)


def all_structures() -> tuple[Structure, ...]:
    """Every registered structure, in listing order."""
    _discover()
    return tuple(sorted(_REGISTRY.values(), key=lambda s: (s.order, s.name)))


def names() -> tuple[str, ...]:
    """The names of every registered structure, in listing order."""
    return tuple(s.name for s in all_structures())


def get(name: str) -> Structure:
    """The structure called `name` (KeyError naming the known ones if there is none)."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown structure {name!r}; known: {', '.join(names())}") from None


__all__ = [
    "Engine",
    "FigurePanel",
    "Layout",
    "Structure",
    "all_structures",
    "get",
    "names",
    "register",
    "unregister",
]
