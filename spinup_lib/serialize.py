"""An algorithm's call written down as data: config.json's readable description of it
(:func:`convert_json`), a saved agent's importable ac_kwargs (:func:`importable_json`), and the
checkpoint's record that resume calls the algorithm again from (:func:`call_record`)."""
import json
import sys

import numpy as np

from spinup_lib.envs import EnvMaker


def is_json_serializable(value):
    """True if ``json.dumps`` accepts ``value`` as it is."""
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError, OverflowError, RecursionError):
        return False


def convert_json(obj):
    """A JSON-safe description of ``obj``, for config.json.

    Dicts and lists (and tuples, as lists) are converted item by item; numpy scalars and
    arrays become numbers and lists; functions and classes are written by their
    ``__name__``; other objects with attributes as ``{str(obj): their converted
    __dict__}``; anything else as ``str(obj)``. Never fails, even on cyclic references.
    """
    return _convert_json(obj, set())


def _convert_json(obj, in_progress):
    if isinstance(obj, np.generic):  # numpy scalars: plain numbers (np.float32 is not JSON)
        obj = obj.item()
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, np.ndarray):
        return _convert_json(obj.tolist(), in_progress)
    if id(obj) in in_progress:  # a cycle: describe it instead of recursing forever
        return str(obj)
    in_progress = in_progress | {id(obj)}
    if isinstance(obj, dict):
        return {_json_key(key, in_progress): _convert_json(value, in_progress)
                for key, value in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_convert_json(item, in_progress) for item in obj]
    if (callable(obj) or isinstance(obj, type)) and hasattr(obj, "__name__"):
        return obj.__name__
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict) and attributes:
        return {str(obj): _convert_json(attributes, in_progress)}
    return str(obj)


def _json_key(key, in_progress):
    # JSON keys are strings; sort_keys=True would also fail on keys of mixed types.
    converted = _convert_json(key, in_progress)
    return converted if isinstance(converted, str) else str(converted)


def importable_json(obj):
    """Like :func:`convert_json`, but classes and functions become dotted import paths.

    Used for the ``ac_kwargs`` of saved agents, so that a loader can import
    e.g. ``activation='torch.nn.modules.activation.Tanh'`` back.
    """
    if isinstance(obj, dict):
        return {str(key): importable_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [importable_json(item) for item in obj]
    if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__")):
        return dotted_path(obj)
    return convert_json(obj)



def dotted_path(obj):
    """The import path of a class or function, e.g. ``'torch.nn.modules.activation.Tanh'``."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or obj.__name__
    # Built-ins such as torch.tanh report a qualname inside a private class; the plain
    # module-level name imports back, so prefer it when it is the same object.
    short = getattr(obj, "__name__", None)
    if module in sys.modules and short and getattr(sys.modules[module], short, None) is obj:
        name = short
    return f"{module}.{name}" if module else name


def call_record(call):
    """A JSON-safe record of an algorithm's keyword arguments, from which resume calls it again.

    * ``env_fn`` made by :func:`spinup_lib.envs.make_env_fn`: ``{'__env__': {'id': ..., 'make_kwargs': {...}}}``;
    * a class: ``{'__class__': 'dotted.path'}``; a tuple: ``{'__tuple__': [...]}``;
    * numbers, strings, None, lists and dicts as they are;
    * anything else (a lambda, an object): ``{'__unsaved__': 'what it was'}``: resume then asks
      for it (``spinup_lib.resume(run_dir, name=value)``), or uses the env's spec for ``env_fn``
      (see :func:`complete_call_record`).
    """
    return {str(name): _record_value(value) for name, value in dict(call).items()}


def _record_value(value, depth=0):
    if depth > 20:
        return {"__unsaved__": "a deeply nested value"}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, EnvMaker):
        make_kwargs = {str(k): _record_value(v, depth + 1) for k, v in value.make_kwargs.items()}
        if _has_unsaved(make_kwargs):
            return {"__unsaved__": repr(value)}
        return {"__env__": {"id": value.env_id, "make_kwargs": make_kwargs}}
    if isinstance(value, type):
        return {"__class__": dotted_path(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_record_value(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_record_value(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _record_value(v, depth + 1) for k, v in value.items()}
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return {"__unsaved__": f"{type(value).__module__}.{name}" if callable(value) else repr(value)[:200]}


def _has_unsaved(record):
    if isinstance(record, dict):
        return "__unsaved__" in record or any(_has_unsaved(v) for v in record.values())
    if isinstance(record, list):
        return any(_has_unsaved(v) for v in record)
    return False


def complete_call_record(record, env_spec_json=None):
    """``record`` with an unsaved ``env_fn`` replaced by the env's gymnasium spec, when known."""
    env_fn = record.get("env_fn")
    if isinstance(env_fn, dict) and "__unsaved__" in env_fn and env_spec_json:
        record = dict(record, env_fn={"__env__": {"spec": env_spec_json}})
    return record

