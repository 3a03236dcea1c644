"""Loaded by Python at start-up when this folder is on PYTHONPATH (tests only): makes one
function of the product raise, so a test can run a real process unchanged and see where
the exception's text ends up.

    FAULT_AT=package.module:function_or_Class.method  FAULT_MESSAGE=...

The function is replaced right after its module is first imported, by whichever path.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

TARGET = os.environ.get("FAULT_AT", "")
MESSAGE = os.environ.get("FAULT_MESSAGE", "injected fault")


def _raiser(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(MESSAGE)


def _patch(module: ModuleType, attr: str) -> None:
    owner: Any = module
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, name, _raiser)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, module: str, attr: str) -> None:
        self.module, self.attr = module, attr

    def find_spec(self, name: str, path: Any, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _patch(module, self.attr)

        loader.exec_module = exec_module
        return spec


if TARGET:
    _module, _attr = TARGET.split(":")
    sys.meta_path.insert(0, _PatchOnImport(_module, _attr))
