"""Loading a saved agent: find its file in a run directory, rebuild the actor-critic and its env."""
import inspect
import os
import os.path as osp
import re

import numpy as np
import torch

from spinup_lib.dotted_names import TRUSTED_MODULES, check_module_names, in_modules, resolve_class
from spinup_lib.errors import UserError
from spinup_lib.run_files import AGENT_FORMAT, SAVE_SUBDIR

_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_SNAPSHOT_NAME = re.compile(r"^model(\d+)\.pt$")


def _resolve_class_paths(value, modules):
    """ac_kwargs as saved -> as the actor-critic wants them: a dotted path inside ``modules``
    (e.g. the activation, 'torch.nn.modules.activation.Tanh') becomes its class, which must be
    a torch module class; every other value is kept as it is. Nothing is called."""
    if isinstance(value, dict):
        return {k: _resolve_class_paths(v, modules) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_class_paths(v, modules) for v in value)
    if isinstance(value, str) and _DOTTED_NAME.match(value) and in_modules(value, modules):
        return resolve_class(value, modules, base=torch.nn.Module, what="a class in a saved agent's ac_kwargs")
    return value


def _refuse_unresolved_classes(ac_class, ac_kwargs, modules, model_path):
    """A dotted name left as text where the actor-critic expects a class (its default is one):
    it lies outside the allowed modules, so say so rather than fail inside the constructor."""
    try:
        defaults = {name: p.default for name, p in inspect.signature(ac_class).parameters.items()}
    except (TypeError, ValueError):
        return
    for key, value in ac_kwargs.items():
        if isinstance(value, str) and _DOTTED_NAME.match(value) and isinstance(defaults.get(key), type):
            raise UserError(f"{model_path} names {value} as {key}, outside the modules allowed for it "
                            f"({', '.join(modules)}): if you trust that module, allow it with "
                            "--allow_module MODULE (allow_modules=['MODULE'] in Python)")


def snapshot_iterations(save_dir):
    """Epoch numbers of the ``model<N>.pt`` snapshots in ``save_dir``, sorted."""
    if not osp.isdir(save_dir):
        return []
    return sorted(int(m.group(1)) for m in map(_SNAPSHOT_NAME.match, os.listdir(save_dir)) if m)


def find_saved_agent(fpath, itr="last"):
    """The path of the saved agent file of a run directory.

    Args:
        fpath: a run directory (holding ``pyt_save/``), its ``pyt_save`` folder, or a ``.pt`` file.
        itr: 'last', None or a negative number for the latest agent (``model.pt``), or an epoch
            number N for the snapshot ``model<N>.pt``.
    """
    fpath = osp.expanduser(os.fspath(fpath))
    if osp.isfile(fpath) and fpath.endswith(".pt"):
        return fpath
    save_dir = fpath if osp.basename(osp.normpath(fpath)) == SAVE_SUBDIR else osp.join(fpath, SAVE_SUBDIR)
    latest = osp.join(save_dir, "model.pt")
    if not osp.isfile(latest) and not snapshot_iterations(save_dir):
        raise UserError(f"no saved agent under {fpath}: expected {latest} (give a run directory, "
                        "e.g. data/exp/exp_s0, of a run that saved its agent)")
    if itr is None or itr == "last" or (isinstance(itr, (int, np.integer)) and itr < 0):
        if not osp.isfile(latest):
            raise UserError(f"no latest agent {latest}: pick a snapshot with --itr, one of "
                            f"{', '.join(map(str, snapshot_iterations(save_dir)))}")
        return latest
    try:
        itr = int(itr)
    except (TypeError, ValueError):
        raise UserError(f"itr must be an epoch number or 'last', got {itr!r}") from None
    snapshot = osp.join(save_dir, f"model{itr}.pt")
    if not osp.isfile(snapshot):
        available = ", ".join(map(str, snapshot_iterations(save_dir))) or "none"
        raise UserError(f"no snapshot for iteration {itr} in {save_dir}: available iterations: "
                        f"{available} (or -1 for the latest agent)")
    return snapshot


def _build_env(saved, env, render_mode, model_path):
    """The env to replay in: the given one, one made from an id, or the saved spec rebuilt."""
    if env is not None and not isinstance(env, str):
        return env
    make_kwargs = {} if render_mode is None else {"render_mode": render_mode}
    if isinstance(env, str):
        import gymnasium as gym

        from spinup_lib.envs import check_env_id

        check_env_id(env)
        return gym.make(env, **make_kwargs)
    spec_json = saved.get("env_spec")
    if spec_json is None:
        raise UserError(f"the environment of {model_path} could not be saved, so it cannot be rebuilt: "
                        "pass --env ENV_ID to test_policy, or env=<an env> to load_policy_and_env")
    from spinup_lib.envs import make_env_from_spec_json

    try:
        return make_env_from_spec_json(spec_json, **make_kwargs)
    except Exception as err:  # an entry point that no longer imports, a missing extra...
        raise UserError(f"could not rebuild the saved environment ({type(err).__name__}: {err}): "
                        "pass --env ENV_ID, or env=<an env> to load_policy_and_env") from err


def load_actor_critic(fpath, itr="last", render_mode=None, env=None, allow_modules=()):
    """Rebuild a saved agent and the environment it was trained in.

    Args:
        fpath: the run directory (holding ``pyt_save/model.pt``), or a saved ``.pt`` file.
        itr: 'last' (or None, or -1) for the latest agent; an epoch number N for the snapshot
            ``pyt_save/model<N>.pt``.
        render_mode: passed to the rebuilt env: None, 'human' (a window) or 'rgb_array' (video).
        env: use this env instead of rebuilding the saved one; a gymnasium Env, or an env id
            (made with ``render_mode``). Needed when the run could not save its env.
        allow_modules: names of your own modules whose classes the saved agent may use
            (its actor-critic, its activation). Without them, the actor-critic class must come
            from spinup_lib and the classes in its ac_kwargs from torch.nn or spinup_lib: the
            file is data, so it does not get to choose which code runs.

    Returns ``(ac, env)``: the actor-critic (a ``torch.nn.Module`` in eval mode, with the saved
    weights) and the env. The caller closes the env.
    """
    model_path = find_saved_agent(fpath, itr)
    try:
        saved = torch.load(model_path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated file, not a torch file, or objects weights_only refuses
        raise UserError(f"cannot read the saved agent {model_path} ({type(err).__name__}): "
                        "it is damaged or was not written by spinup_lib") from err
    if not isinstance(saved, dict) or saved.get("format") != AGENT_FORMAT:
        raise UserError(f"{model_path} is not a saved agent in format {AGENT_FORMAT}: "
                        "it was not written by this version of spinup_lib")

    # Names in the file are resolved only inside allowed modules, and checked to be the right
    # kind of class, before anything is called.
    allow_modules = check_module_names(allow_modules)
    ac_class = resolve_class(saved.get("ac_class"), ("spinup_lib",) + allow_modules, base=torch.nn.Module,
                             what=f"the actor-critic of {model_path}")
    if not isinstance(saved.get("ac_kwargs") or {}, dict) or not isinstance(saved.get("state_dict"), dict):
        raise UserError(f"{model_path} is not a saved agent: its ac_kwargs or state_dict is not a dict")
    ac_kwargs = _resolve_class_paths(dict(saved.get("ac_kwargs") or {}), TRUSTED_MODULES + allow_modules)
    _refuse_unresolved_classes(ac_class, ac_kwargs, TRUSTED_MODULES + allow_modules, model_path)

    given_env = env is not None and not isinstance(env, str)
    env = _build_env(saved, env, render_mode, model_path)
    try:
        ac = ac_class(env.observation_space, env.action_space, **ac_kwargs)
        ac.load_state_dict(saved["state_dict"])
    except TypeError as err:  # ac_kwargs the class does not take
        if not given_env:
            env.close()
        raise UserError(f"cannot rebuild the agent of {model_path} with its saved ac_kwargs ({err})") from err
    except RuntimeError as err:  # load_state_dict: shapes or names do not match
        if not given_env:
            env.close()
        first_line = str(err).strip().splitlines()[0]
        raise UserError(f"the saved agent does not fit the environment {env.spec.id if env.spec else env} "
                        f"({first_line}): replay it in the env it was trained in") from err
    ac.eval()
    return ac, env


def load_policy_and_env(fpath, itr="last", deterministic=False, render_mode=None, env=None, allow_modules=()):
    """Load a saved agent and the environment it was trained in.

    Args:
        fpath, itr, render_mode, env, allow_modules: as for :func:`load_actor_critic`.
        deterministic: act with the most likely action (e.g. SAC's mean action) instead of
            sampling from the policy.

    Returns ``(env, get_action)``; ``get_action(obs)`` returns the agent's action as numpy.
    The caller closes the env.
    """
    ac, env = load_actor_critic(fpath, itr=itr, render_mode=render_mode, env=env, allow_modules=allow_modules)

    def get_action(obs):
        with torch.no_grad():
            return ac.act(torch.as_tensor(obs, dtype=torch.float32), deterministic=deterministic)

    return env, get_action

