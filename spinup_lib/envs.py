"""Environments: building them from an id, remembering how, and rendering without a screen."""
import difflib
import os

import numpy as np

from spinup_lib.errors import UserError


def configure_headless_rendering():
    """Pick an off-screen OpenGL backend for MuJoCo when there is no display.

    MuJoCo's default (GLFW) needs a window system. Without one, EGL with Mesa's software
    renderer draws frames on any Linux machine. Must run before ``mujoco`` is imported;
    a user's own MUJOCO_GL setting always wins.
    """
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
        # pygame (classic-control rendering) otherwise complains about the missing display
        # and audio device on stderr, in lines that look like our own errors.
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def route_mujoco_warnings():
    """Send MuJoCo's warnings through Python's ``warnings`` instead of MUJOCO_LOG.TXT.

    MuJoCo 4 warns that gymnasium's HalfCheetah model uses the deprecated 'settotalmass'
    attribute each time the env is built, and writes every warning to a MUJOCO_LOG.TXT in
    the working directory. That one is harmless and outside our control, so it is dropped;
    any other warning becomes a RuntimeWarning, which Python shows once per place.
    """
    try:
        import mujoco
    except ImportError:  # MuJoCo is optional for classic-control work
        return
    import warnings

    def on_warning(message):
        if "settotalmass" not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(on_warning)


def check_env_id(env_id):
    """Raise UserError for an id gymnasium does not know, suggesting close matches."""
    import gymnasium as gym

    if not isinstance(env_id, str) or env_id not in gym.registry:
        known = list(gym.registry.keys())
        close = difflib.get_close_matches(str(env_id), known, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see gymnasium.pprint_registry() for the list."
        raise UserError(f"unknown environment id '{env_id}': {hint}")


class EnvMaker:
    """A picklable zero-argument callable that builds a gymnasium env by id.

    ``lambda: gym.make(id)`` cannot be sent to another process with the standard pickle;
    this can, and it keeps the id for config.json and for replay.
    """

    def __init__(self, env_id, **make_kwargs):
        check_env_id(env_id)
        self.env_id = env_id
        self.make_kwargs = make_kwargs

    def __call__(self, **extra):
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.make_kwargs, **extra})

    def __repr__(self):
        kw = "".join(f", {k}={v!r}" for k, v in self.make_kwargs.items())
        return f"make_env_fn({self.env_id!r}{kw})"


def make_env_fn(env_id, **make_kwargs):
    """Return an ``env_fn`` for the algorithms: ``make_env_fn('CartPole-v1')()`` is a new env."""
    return EnvMaker(env_id, **make_kwargs)


def env_spec_json(env):
    """The env's gymnasium spec as JSON (what replay needs to rebuild it), or None."""
    # The outer spec, not env.unwrapped.spec: only the outer one remembers the wrappers
    # gym.make added (TimeLimit's max_episode_steps among them).
    spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
    if spec is None:
        return None
    try:
        return spec.to_json()
    except Exception:  # e.g. an entry point that is a local class cannot be written as JSON
        return None


def make_env_from_spec_json(spec_json, **kwargs):
    """Rebuild an env from :func:`env_spec_json`'s output (extra kwargs such as render_mode)."""
    import gymnasium as gym
    from gymnasium.envs.registration import EnvSpec

    spec = EnvSpec.from_json(spec_json)
    return gym.make(spec, **kwargs)


# ----------------------------------------------------------------------------------------------
# The exact state of an env mid-episode, so a resumed run continues where it stopped
# ----------------------------------------------------------------------------------------------
_PLAIN = (bool, int, float, str, type(None))


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def get_env_state(env):
    """Everything needed to continue ``env`` exactly: simulator, wrappers and random states.

    MuJoCo envs give their full integration state (mj_getState); other pure-Python envs
    (classic control) are copied whole. Wrapper counters such as TimeLimit's elapsed steps
    are kept too. Envs that can be neither (Box2D) return ``exact=False`` and are reset on resume.
    """
    import copy
    import pickle

    wrappers, layer = [], env
    while hasattr(layer, "env"):  # gymnasium.Wrapper layers down to the raw env
        wrappers.append({k: v for k, v in vars(layer).items() if isinstance(v, _PLAIN)})
        layer = layer.env
    raw = layer
    state = dict(wrappers=wrappers, np_random=_rng_state(getattr(raw, "_np_random", None)),
                 action_space_rng=_rng_state(getattr(env.action_space, "_np_random", None)), exact=True)
    if hasattr(raw, "model") and hasattr(raw, "data") and type(raw.data).__name__ == "MjData":
        import mujoco

        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(raw.model, spec))
        mujoco.mj_getState(raw.model, raw.data, physics, spec)
        state["mujoco"] = physics
    else:
        try:
            attrs = {k: v for k, v in vars(raw).items() if k not in ("screen", "clock", "np_random", "_np_random")}
            state["attrs"] = pickle.dumps(copy.deepcopy(attrs))
        except Exception:  # e.g. Box2D worlds cannot be copied
            state["exact"] = False
    return state


def set_env_state(env, state):
    """Put ``env`` (built by the same env_fn) back into a state from :func:`get_env_state`."""
    import pickle

    layer, i = env, 0
    while hasattr(layer, "env"):
        if i < len(state["wrappers"]):
            for k, v in state["wrappers"][i].items():
                setattr(layer, k, v)
        layer, i = layer.env, i + 1
    raw = layer
    if state["np_random"] is not None:
        raw.np_random.bit_generator.state = state["np_random"]
    if state["action_space_rng"] is not None:
        env.action_space.np_random.bit_generator.state = state["action_space_rng"]
    if "mujoco" in state:
        import mujoco

        mujoco.mj_setState(raw.model, raw.data, state["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(raw.model, raw.data)
    elif "attrs" in state:
        for k, v in pickle.loads(state["attrs"]).items():
            setattr(raw, k, v)
