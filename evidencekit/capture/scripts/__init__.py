"""The JavaScript the capture runs in the page: one function expression per ``.js`` file beside this one.

Each file is a single function (after its comment), called with one JSON argument: by DevTools'
``Runtime.callFunctionOn`` in the capture's own world (see ``world``), or by Playwright in a child frame.
A constant the Python side owns (the pixels of slack at the bottom, say) comes in as that argument, never
written into the source. Each file is read once, when the module that runs it is imported.
"""

from __future__ import annotations

from importlib import resources

_loaded: set[str] = set()


def load(name: str) -> str:
    """The source of the script ``name`` (a file in this package)."""
    source = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    _loaded.add(name)
    return source


def loaded() -> frozenset[str]:
    """The scripts loaded so far in this process."""
    return frozenset(_loaded)


def shipped() -> frozenset[str]:
    """Every script this package holds."""
    return frozenset(entry.name for entry in resources.files(__name__).iterdir() if entry.name.endswith(".js"))
