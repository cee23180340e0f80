"""Import stubs for the GPU-only packages OpenRLHF imports (ray, vllm, deepspeed, flash-attn).

Only what cannot run on a CPU is stubbed; every OpenRLHF class and function the tests use is the
real 0.11.2 code. The ``ray`` stub is an in-process, synchronous Ray: ``ray.remote(cls)`` gives a
class whose ``.remote(...)`` builds the object in this process, every ``handle.method.remote(...)``
runs the method at once and returns its result (its own "object ref"), and ``ray.get`` returns
refs unchanged. That is enough to drive the controller logic of a trainer with fake actor groups.

``stubbed()`` puts the stubs into ``sys.modules`` for the
duration and takes them out again, so other tests still see the packages as absent. The stub
objects are created once, so OpenRLHF modules imported under them stay consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import inspect
import sys
import types
from collections.abc import Iterator
from typing import Any


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    m.__path__ = []  # a package, so `import name.sub` resolves to the stubs below
    m.__dict__.update(attrs)
    return m


class _Method:
    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        out = self._fn(*args, **kwargs)
        return asyncio.run(out) if inspect.iscoroutine(out) else out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)


class ActorHandle:
    """What ``SomeActor.remote(...)`` returns: methods gain a synchronous ``.remote``."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        return _Method(attr) if callable(attr) else attr


class ActorClass:
    """``ray.remote(cls)``: ``.remote(*args)`` builds ``cls(*args)`` here; ``.options(...)`` is ignored."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def options(self, **_: Any) -> ActorClass:
        return self

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        obj = self.cls.__new__(self.cls)
        out = self.cls.__init__(obj, *args, **kwargs)
        if inspect.iscoroutine(out):
            asyncio.run(out)
        return ActorHandle(obj)


def _remote(*args: Any, **kwargs: Any) -> Any:
    if len(args) == 1 and not kwargs and isinstance(args[0], type):
        return ActorClass(args[0])
    return lambda cls: ActorClass(cls)


def _get(refs: Any, timeout: Any = None) -> Any:
    return refs


def _wait(refs: list[Any], num_returns: int = 1, timeout: Any = None) -> tuple[list[Any], list[Any]]:
    return refs[:num_returns], refs[num_returns:]


class _Record:
    """Any Ray option object (scheduling strategies...): keeps its keyword arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


class _PlacementGroup(_Record):
    def ready(self) -> None:
        return None


class _SamplingParams:
    """The fields of ``vllm.SamplingParams`` the rollout code sets (a plain record)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update({"n": 1, "max_tokens": 16, "logprobs": None, "seed": None, **kwargs})


RAY = _module("ray", remote=_remote, get=_get, put=lambda x: x, wait=_wait, is_initialized=lambda: True,
              init=lambda *a, **k: None, ObjectRef=object,
              get_runtime_context=lambda: types.SimpleNamespace(get_node_id=lambda: "node-0"))
_STUBS: dict[str, types.ModuleType] = {
    "ray": RAY,
    "ray.util": _module("ray.util"),
    "ray.util.placement_group": _module("ray.util.placement_group", placement_group=_PlacementGroup,
                                        PlacementGroup=_PlacementGroup),
    "ray.util.scheduling_strategies": _module("ray.util.scheduling_strategies",
                                              PlacementGroupSchedulingStrategy=_Record,
                                              NodeAffinitySchedulingStrategy=_Record),
    "ray.util.queue": _module("ray.util.queue", Queue=object),
    "vllm": _module("vllm", SamplingParams=_SamplingParams, __version__="0.29.0"),
    "vllm.inputs": _module("vllm.inputs", TokensPrompt=dict),
    "vllm.utils": _module("vllm.utils", random_uuid=lambda: "0"),
    "deepspeed": _module("deepspeed"),
    "deepspeed.runtime": _module("deepspeed.runtime"),
    "deepspeed.runtime.zero": _module("deepspeed.runtime.zero"),
    "deepspeed.runtime.zero.partition_parameters": _module("deepspeed.runtime.zero.partition_parameters",
                                                           ZeroParamStatus=object),
    "flash_attn": _module("flash_attn"),
    "flash_attn.bert_padding": _module("flash_attn.bert_padding", index_first_axis=None, pad_input=None,
                                       rearrange=None, unpad_input=None),
    "flash_attn.utils": _module("flash_attn.utils"),
    "flash_attn.utils.distributed": _module("flash_attn.utils.distributed", all_gather=None),
}
for _name, _mod in _STUBS.items():  # parent.child attributes, as a real import would set them
    parent, _, child = _name.rpartition(".")
    if parent:
        setattr(_STUBS[parent], child, _mod)


@contextlib.contextmanager
def stubbed() -> Iterator[types.ModuleType]:
    """The stubs in ``sys.modules`` for the duration (even where a real package is installed: the
    tests rely on the synchronous Ray); whatever was there before is put back afterwards."""
    saved = {name: sys.modules.get(name) for name in _STUBS}
    try:
        sys.modules.update(_STUBS)
        yield RAY
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
