"""A stand-in for pydantic's plugin loader while every plugin is switched off (issue 31, P7).

With `PYDANTIC_DISABLE_PLUGINS` set to `__all__`, `1` or `true` (pydantic's documented
values that turn every plugin off), pydantic's `get_plugins` returns no plugins without
looking at any package's metadata; but its module, `pydantic.plugin._loader`, imports
`importlib.metadata` first, and with it `email`, `csv`, `zipfile` and `importlib.resources`:
≈ 20 ms of CPU of `validate`'s start-up that the disabled lookup never uses.

`install` puts a module of that name into `sys.modules` before pydantic imports it (Python's
import system returns what `sys.modules` holds). Its `get_plugins` answers as pydantic's
does while the switch is off, and otherwise hands over to pydantic's own module, which it
imports then in its place; any other name of the module is read from pydantic's too (a
module `__getattr__`, PEP 562). Nothing is installed once pydantic's module is imported, nor
while the switch is not off.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from types import ModuleType

LOADER = "pydantic.plugin._loader"
SWITCH = "PYDANTIC_DISABLE_PLUGINS"
ALL_OFF = frozenset({"__all__", "1", "true"})  # pydantic's values for "no plugin at all"


def plugins_off() -> bool:
    return os.environ.get(SWITCH) in ALL_OFF


def install() -> bool:
    """Stand in for pydantic's plugin loader if it is not imported and every plugin is off;
    whether the stand-in is (now) in place."""
    present = sys.modules.get(LOADER)
    if present is not None:
        return getattr(present, "__stand_in__", False) is True
    if not plugins_off():
        return False
    stand_in = ModuleType(LOADER, __doc__)
    stand_in.__dict__.update(__stand_in__=True, get_plugins=get_plugins,
                             __getattr__=_from_pydantic)
    sys.modules[LOADER] = stand_in
    return True


def get_plugins(*args: object, **kwargs: object) -> Iterable[object]:
    """No plugin while the switch is off (what pydantic's `get_plugins` returns then without
    reading any metadata); pydantic's own answer otherwise, or if it is asked with arguments
    (a later pydantic's, which this stand-in does not know)."""
    if plugins_off() and not args and not kwargs:
        return ()
    real_get_plugins: Iterable[object] = pydantic_loader().get_plugins(*args, **kwargs)
    return real_get_plugins


def pydantic_loader() -> ModuleType:
    """Pydantic's own loader module, imported in the stand-in's place the first time."""
    present = sys.modules.get(LOADER)
    if present is not None and getattr(present, "__stand_in__", False) is True:
        del sys.modules[LOADER]
    return importlib.import_module(LOADER)


def _from_pydantic(name: str) -> object:
    """Any other name of the module, from pydantic's; a dunder name the stand-in lacks (the
    import system asks for `__path__`, `repr` for `__file__`) is not looked for there."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(f"module {LOADER!r} has no attribute {name!r}")
    return getattr(pydantic_loader(), name)
