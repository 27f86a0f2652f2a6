"""The exact state of an env mid-episode, so that a resumed run continues where it stopped.

:func:`get_env_state` reads it as plain data (MuJoCo's integration state, a pure-Python env's
attributes, wrappers' state such as TimeLimit's step counter and NormalizeObservation's running
statistics, the random generators); :func:`set_env_state` puts it back into a fresh env built by
the same ``env_fn``, and says what it could not restore (a Box2D world).
"""
import functools

import numpy as np


def is_env(obj):
    """Whether ``obj`` is a gymnasium env (or a wrapper of one)."""
    import gymnasium as gym

    return isinstance(obj, gym.Env)


# Attributes that are how an env was built, not where it is: env_fn builds them again. (The
# random generators are saved on their own; screens, clocks and renderers hold no state.)
_WRAPPER_SETTINGS = frozenset({"env", "_saved_kwargs", "_action_space", "_observation_space", "_metadata",
                               "_cached_spec", "_reward_range", "spec", "_np_random"})
_RAW_SETTINGS = frozenset({"np_random", "_np_random", "spec", "screen", "clock", "model", "data",
                           "mujoco_renderer", "viewer", "_viewers", "renderer", "window", "surf"})


class _NotPlainData(Exception):
    """A value that is not made of numbers, strings, arrays and containers of them."""


def _is_setting(value):
    """True for the parts of an env that describe how it was built (spaces, specs, functions)."""
    from gymnasium import Space
    from gymnasium.envs.registration import EnvSpec

    return isinstance(value, (Space, EnvSpec, type)) or callable(value) or type(value).__name__ == "module"


def _plain_copy(value, objects_allowed=True, depth=0):
    """A copy of ``value`` made only of plain data; raises _NotPlainData for anything else.

    Plain data: None, bools, numbers, strings, bytes, numpy scalars and (non-object) arrays,
    lists, tuples, deques and dicts of them, and small helper objects whose attributes are all
    plain data (such as the running statistics of NormalizeObservation), written as
    ``{"__object_attrs__": class name, "attrs": {...}}``.
    """
    import collections

    if value is None or isinstance(value, (bool, int, float, str, bytes, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _NotPlainData
        return value.copy()
    if depth > 8:  # deeper than any state worth saving, or a cycle
        raise _NotPlainData
    copy = functools.partial(_plain_copy, objects_allowed=objects_allowed, depth=depth + 1)
    if type(value) in (list, tuple):
        return type(value)(copy(item) for item in value)
    if type(value) is collections.deque:
        return collections.deque((copy(item) for item in value), maxlen=value.maxlen)
    if type(value) is dict:
        if not all(isinstance(key, (str, int)) for key in value):
            raise _NotPlainData
        return {key: copy(item) for key, item in value.items()}
    attributes = getattr(value, "__dict__", None)
    if objects_allowed and isinstance(attributes, dict) and not hasattr(type(value), "__slots__"):
        # Only plain data inside: no objects within objects (simulators are webs of those).
        return {"__object_attrs__": type(value).__qualname__,
                "attrs": {key: _plain_copy(item, objects_allowed=False, depth=depth + 1)
                          for key, item in attributes.items()}}
    raise _NotPlainData


def _plain_attributes(obj, settings):
    """(saved, unsaved): ``obj``'s attributes as plain data, and the names of those that are not."""
    saved, unsaved = {}, []
    for key, value in vars(obj).items():
        if key in settings or _is_setting(value):
            continue
        try:
            saved[key] = _plain_copy(value)
        except _NotPlainData:
            unsaved.append(key)
    return saved, unsaved


def _restore_attributes(obj, attributes):
    """Set ``obj``'s attributes from :func:`_plain_attributes`; return the names that could not be."""
    failed = []
    for key, value in attributes.items():
        if isinstance(value, dict) and "__object_attrs__" in value:
            # A helper object (e.g. RunningMeanStd): fill the one the new env already has.
            target = getattr(obj, key, None)
            if target is None or type(target).__qualname__ != value["__object_attrs__"]:
                failed.append(key)
                continue
            vars(target).update(value["attrs"])
        else:
            setattr(obj, key, value)
    return failed


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def _layers(env):
    """The gymnasium.Wrapper layers of ``env`` from the outside in, and the raw env."""
    wrappers, layer = [], env
    while hasattr(layer, "env"):
        wrappers.append(layer)
        layer = layer.env
    return wrappers, layer


def get_env_state(env):
    """Everything needed to continue ``env`` exactly: simulator, wrappers and random states.

    Returns plain data (numbers, strings, numpy arrays, lists and dicts), which a checkpoint
    stores without pickling objects:

    * ``wrappers``: for each wrapper layer, its type and its state attributes: counters such as
      TimeLimit's elapsed steps, and running statistics such as NormalizeObservation's;
    * ``np_random``, ``action_space_rng``: the env's and its action space's random generators;
    * ``mujoco``: a MuJoCo env's full integration state (mj_getState), ``attrs``: the raw env's
      other attributes (the whole state of a pure-Python env such as CartPole);
    * ``exact``: False when the simulator's state cannot be saved (Box2D worlds), with
      ``simulator`` naming what is lost; ``not_saved``: wrapper attributes that are not plain data.
    """
    wrappers, raw = _layers(env)
    saved_wrappers, not_saved = [], []
    for layer in wrappers:
        attrs, unsaved = _plain_attributes(layer, _WRAPPER_SETTINGS)
        saved_wrappers.append(dict(type=type(layer).__name__, attrs=attrs))
        not_saved += [f"{type(layer).__name__}.{key}" for key in unsaved]
    state = dict(wrappers=saved_wrappers, not_saved=not_saved, exact=True,
                 np_random=_rng_state(getattr(raw, "_np_random", None)),
                 action_space_rng=_rng_state(getattr(env.action_space, "_np_random", None)))
    if hasattr(raw, "model") and hasattr(raw, "data") and type(raw.data).__name__ == "MjData":
        import mujoco

        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(raw.model, spec))
        mujoco.mj_getState(raw.model, raw.data, physics, spec)
        state["mujoco"] = physics
    attrs, unsaved = _plain_attributes(raw, _RAW_SETTINGS)
    state["attrs"] = attrs
    if unsaved:  # e.g. a Box2D world: the simulator itself cannot be written down
        state["exact"] = False
        state["simulator"] = f"{type(raw).__name__}'s {', '.join(unsaved)}"
    return state


def set_env_state(env, state):
    """Put ``env`` (built by the same env_fn) back into a state from :func:`get_env_state`.

    Random generators and wrapper state are always restored; the simulator only when
    ``state['exact']`` (otherwise the env is left as it is: call ``env.reset()`` to start a
    consistent episode, as ``spinup_lib.checkpoint.restore_env`` does).

    Returns:
        list of str: what could not be restored (empty when everything was).
    """
    wrappers, raw = _layers(env)
    not_restored = list(state.get("not_saved", []))
    saved_wrappers = state["wrappers"]
    if [type(layer).__name__ for layer in wrappers] != [saved["type"] for saved in saved_wrappers]:
        not_restored.append("the wrappers (this env has other wrappers than the saved one)")
    else:
        for layer, saved in zip(wrappers, saved_wrappers):
            failed = _restore_attributes(layer, saved["attrs"])
            not_restored += [f"{type(layer).__name__}.{key}" for key in failed]
    if state["np_random"] is not None:
        raw.np_random.bit_generator.state = state["np_random"]
    if state["action_space_rng"] is not None:
        env.action_space.np_random.bit_generator.state = state["action_space_rng"]
    if not state["exact"]:
        not_restored.append(state.get("simulator", "the simulator's state"))
        return not_restored
    failed = _restore_attributes(raw, state.get("attrs", {}))
    not_restored += [f"{type(raw).__name__}.{key}" for key in failed]
    if "mujoco" in state:
        import mujoco

        mujoco.mj_setState(raw.model, raw.data, state["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(raw.model, raw.data)
    return not_restored
