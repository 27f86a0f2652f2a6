"""Checkpoints: what a run saves so that ``resume`` continues it exactly, and how it is written.

A checkpoint is plain data that ``torch.load(path, weights_only=True)`` reads: tensors,
numbers, strings, lists and dicts. Nothing in it is a pickled function, class or environment,
so loading a checkpoint someone sent you cannot run code. What resume needs to call the
algorithm again is a JSON-safe record of the call (``'call'``): the env by its gymnasium id
(rebuilt with :func:`spinup_lib.envs.make_env_fn`), classes by dotted name (resolved only
inside ``spinup_lib`` and ``torch.nn``, see :func:`spinup_lib.experiments.resume.rebuild_call`),
everything else as values.

Layout of ``checkpoint.pt`` (``checkpoint.rank<k>.pt`` for MPI process k), format 2::

    {'format': 2, 'algo': 'ppo', 'epoch': 4,         # the last finished epoch
     'num_procs': 1, 'proc_id': 0, 'elapsed': 12.3,   # seconds of training so far (Time)
     'call': {...},                                    # JSON-safe record of the algorithm's call
     'rng': {...},                                     # python, numpy and torch generators
     <the algorithm's own entries: state dicts, env state, loop variables>}

Numpy arrays are stored as tensors (``{'__ndarray__': tensor, 'scalar': bool}``) and come back
as arrays. A replay buffer is saved in chunks of what is new since the previous checkpoint
(:mod:`spinup_lib.buffer_chunks`), which the checkpoint lists.

Every file is written atomically (:func:`spinup_lib.run_files.atomic_torch_save`): a run killed
while saving keeps its previous checkpoint.
"""
import collections
import os
import os.path as osp
import random

import numpy as np
import torch

from spinup_lib.buffer_chunks import ReplayChunks, is_replay_buffer, save_replay_buffer
from spinup_lib.env_state import is_env, set_env_state
from spinup_lib.errors import UserError
from spinup_lib.mpi import num_procs, proc_id
from spinup_lib.run_files import atomic_torch_save, load_plain_file

#: Version of the checkpoint layout described in the module docstring.
CHECKPOINT_FORMAT = 2

#: Keys a checkpoint always has; the state an algorithm saves must not use them.
CHECKPOINT_KEYS = ("format", "algo", "epoch", "call", "rng", "num_procs", "proc_id", "elapsed")



def checkpoint_path(run_dir, rank=0):
    """``run_dir/checkpoint.pt`` for process 0, ``run_dir/checkpoint.rank<k>.pt`` for process k."""
    return osp.join(run_dir, "checkpoint.pt" if rank == 0 else f"checkpoint.rank{rank}.pt")



# ----------------------------------------------------------------------------------------
# Plain data
# ----------------------------------------------------------------------------------------

def encode_plain(value, where="value"):
    """``value`` in a form ``torch.load(weights_only=True)`` reads back, for a checkpoint.

    Numbers, strings, bytes, None, tensors, and lists, tuples, sets and dicts of them stay as
    they are; numpy arrays and scalars become ``{'__ndarray__': tensor, 'scalar': bool}``
    (keeping their dtype), deques ``{'__deque__': list, 'maxlen': n}``.

    Raises:
        TypeError: ``value`` holds something else (an object, a function), named by ``where``.
    """
    if isinstance(value, (np.ndarray, np.generic)):  # first: np.float64 is also a float
        array = np.asarray(value)
        if array.dtype.hasobject or array.dtype.kind in "USV":
            raise TypeError(f"{where} is a numpy array of {array.dtype}, which a checkpoint cannot hold")
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(array).copy()),
                "scalar": isinstance(value, np.generic)}
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor)):
        return value
    if isinstance(value, collections.deque):
        return {"__deque__": [encode_plain(v, where) for v in value], "maxlen": value.maxlen}
    if isinstance(value, dict):
        return {key: encode_plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(encode_plain(item, where) for item in value)
    raise TypeError(f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, which is not "
                    "plain data (numbers, strings, arrays, tensors, lists, dicts)")


def decode_plain(value):
    """The inverse of :func:`encode_plain`."""
    if isinstance(value, dict):
        if "__ndarray__" in value and set(value) == {"__ndarray__", "scalar"}:
            array = value["__ndarray__"].numpy()
            return array[()] if value["scalar"] else array
        if "__deque__" in value and set(value) == {"__deque__", "maxlen"}:
            return collections.deque([decode_plain(v) for v in value["__deque__"]], maxlen=value["maxlen"])
        return {key: decode_plain(item) for key, item in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(decode_plain(item) for item in value)
    return value


# ----------------------------------------------------------------------------------------
# Random generators
# ----------------------------------------------------------------------------------------

def get_rng_state():
    """The states of Python's, numpy's global and torch's random generators, as a dict."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    """Put the random generators back in a state from :func:`get_rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])



# ----------------------------------------------------------------------------------------
# Saving, loading, restoring
# ----------------------------------------------------------------------------------------

def _saved_form(value):
    """A module or optimizer as its state dict; anything else unchanged."""
    if not isinstance(value, type) and callable(getattr(value, "state_dict", None)):
        return value.state_dict()
    return value


def save_checkpoint(run_dir, algo, epoch, state, call=None, elapsed=None):
    """Write everything needed to continue the run after ``epoch`` (this process's file).

    Args:
        run_dir (str): the run directory.
        algo (str): the algorithm's name, e.g. ``'ppo'``.
        epoch (int): the last finished epoch.
        state (dict): name -> what to save. Objects with ``state_dict()`` (networks,
            optimizers) are saved as their state dict, replay buffers as chunks; anything else
            must be plain data (numbers, strings, arrays, lists, dicts). Names in
            CHECKPOINT_KEYS are taken.
        call (dict): the :func:`call_record` of the algorithm's arguments.
        elapsed (float): seconds of training so far (the Time column), continued on resume.
    """
    taken = sorted(set(state) & set(CHECKPOINT_KEYS))
    if taken:
        raise ValueError(f"checkpoint state cannot use the reserved names {taken}")
    rank = proc_id()
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    contents, after_save = {}, []
    for name, value in state.items():
        if is_replay_buffer(value):
            contents[name], cleanup = save_replay_buffer(value, run_dir, name, rank)
            after_save.append(cleanup)
        else:
            contents[name] = encode_plain(_saved_form(value), f"checkpoint entry '{name}'")
    contents.update(format=CHECKPOINT_FORMAT, algo=str(algo), epoch=int(epoch), call=dict(call or {}),
                    rng=encode_plain(get_rng_state(), "the random generators' state"),
                    num_procs=num_procs(), proc_id=rank,
                    elapsed=None if elapsed is None else float(elapsed))
    atomic_torch_save(contents, checkpoint_path(run_dir, rank))
    for cleanup in after_save:
        cleanup()



def load_checkpoint(run_dir, rank=None):
    """Read the checkpoint that process ``rank`` of the run in ``run_dir`` saved.

    Loaded with ``weights_only=True``: plain data only, nothing in the file can run code.

    Args:
        run_dir (str): the run directory (the one holding progress.txt).
        rank (int): which process's checkpoint; defaults to this process's rank.

    Returns:
        dict: what :func:`save_checkpoint` wrote, numpy arrays as arrays again, replay
        buffers as :class:`ReplayChunks` (which :func:`restore_checkpoint` loads).

    Raises:
        UserError: no such directory or checkpoint, or a file that is not one.
    """
    rank = proc_id() if rank is None else rank
    run_dir = os.fspath(run_dir)
    path = checkpoint_path(run_dir, rank)
    if not osp.isfile(path):
        if not osp.isdir(run_dir):
            raise UserError(f"no run directory {run_dir}: give the directory of a run (it holds progress.txt)")
        if rank > 0 and osp.isfile(checkpoint_path(run_dir, 0)):
            raise UserError(f"{run_dir} has no checkpoint for process {rank}: "
                            "resume with the number of processes the run used (num_cpu)")
        raise UserError(f"no checkpoint in {run_dir}: the run stopped before the end of its first epoch "
                        "(see save_freq), or it is not a spinup_lib run")
    raw = load_plain_file(path)
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise UserError(f"{path} is not a spinup_lib checkpoint of format {CHECKPOINT_FORMAT}"
                        + (f" (format {found!r})" if found is not None else "")
                        + "; it was written by another program or version")
    problems = [key for key, kind in (("algo", str), ("epoch", int), ("num_procs", int), ("proc_id", int),
                                      ("call", dict), ("rng", dict))
                if not isinstance(raw.get(key), kind) or isinstance(raw.get(key), bool)]
    if problems:
        raise UserError(f"{path} is not a valid checkpoint (bad or missing {', '.join(problems)})")
    if raw["proc_id"] != rank:
        raise UserError(f"{path} was saved by process {raw['proc_id']}, not {rank}: the run directory is mixed up")
    checkpoint = {}
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"__replay_chunks__"}:
            checkpoint[key] = ReplayChunks(run_dir, value["__replay_chunks__"])
        elif key == "call":
            checkpoint[key] = value  # JSON-safe already; rebuild_call makes it a call
        else:
            checkpoint[key] = decode_plain(value)
    return checkpoint


def restore_checkpoint(checkpoint, **objects):
    """Load a checkpoint back into live objects and restore the random generators.

    Example: ``extra = restore_checkpoint(ckpt, ac=ac, pi_optimizer=pi_optimizer)``
    calls ``ac.load_state_dict(ckpt['ac'])`` and so on (a replay buffer is filled from its
    chunks), then sets the random generators to their saved state (last, so that building
    the networks before does not matter).

    Args:
        checkpoint (dict): from :func:`load_checkpoint`.
        **objects: name -> object with ``load_state_dict``, named as in save_checkpoint.

    Returns:
        dict: the saved entries not restored here (e.g. the env state, loop variables).
    """
    for name, obj in objects.items():
        if name not in checkpoint:
            raise UserError(f"the checkpoint has no '{name}': it was saved by another "
                            f"algorithm ({checkpoint.get('algo')}) or version")
        if isinstance(checkpoint[name], ReplayChunks):
            checkpoint[name].load_into(obj)
        else:
            obj.load_state_dict(checkpoint[name])
    if "rng" in checkpoint:
        set_rng_state(checkpoint["rng"])
    return {key: value for key, value in checkpoint.items()
            if key not in objects and key not in CHECKPOINT_KEYS}


def restore_env(env, state, obs=None):
    """Put ``env`` back in a state from ``spinup_lib.envs.get_env_state``; return ``(obs, continued)``.

    When the env's simulator could be saved, the episode in progress continues: the saved
    observation ``obs`` is returned with ``continued=True``. When it could not (Box2D
    worlds) and an episode was in progress (``obs`` given), the env starts a new one, from
    its restored random generator: its first observation is returned with ``continued=False``.
    Either way a one-line warning says exactly what was not restored, since the resumed run
    will then differ from one that never stopped.

    Args:
        env: a fresh env, built by the run's env_fn.
        state (dict): the saved env state.
        obs: the observation the run was about to act on, or None for an env that is
            always reset before use (a test env).
    """
    not_restored = set_env_state(env, state)
    continued = True
    if not state.get("exact", True) and obs is not None:
        obs, _ = env.reset()
        continued = False
    if not_restored and proc_id() == 0:
        name = getattr(getattr(env, "spec", None), "id", None) or type(env.unwrapped).__name__
        consequence = "the env starts a new episode" if not continued else "that state starts afresh"
        print(f"warning: resume is not exact: {name}: not restored: {'; '.join(not_restored)} "
              f"({consequence}, so the resumed run will differ from one that never stopped)", flush=True)
    return obs, continued


#: Loop variables of the episode in progress: where it cannot go on, they start afresh (restore_run).
EPISODE_VARIABLES = ("ep_ret", "ep_len")


def restore_run(checkpoint, objects, variables):
    """Put a run back as ``checkpoint`` saved it; return the loop's ``variables`` as saved, in order.

    ``objects`` (name -> network, optimizer, replay buffer or env) get their saved state; an env
    ``name`` its state saved as ``<name>_state`` (:func:`restore_env`). The env named ``env`` is
    the one whose episode the loop is in, with observation ``o``: where that episode cannot go
    on, ``o`` is the first observation of a new one and the other variables of the episode
    (:data:`EPISODE_VARIABLES`) keep the values given. The random generators are restored too.

    Args:
        checkpoint (dict): from :func:`load_checkpoint`.
        objects (dict): name -> object, as saved.
        variables (dict): name -> the variable's value at the start of a run.

    Returns:
        list: the variables' restored values, in the order of ``variables``.
    """
    envs = {name: obj for name, obj in objects.items() if is_env(obj)}
    saved = restore_checkpoint(checkpoint, **{name: obj for name, obj in objects.items() if name not in envs})
    missing = [name for name in variables if name not in saved]
    if missing:
        raise UserError(f"the checkpoint has no {', '.join(map(repr, missing))}: it was saved by another "
                        f"algorithm ({checkpoint.get('algo')}) or version")
    values = {name: saved[name] for name in variables}
    for name, env in envs.items():
        in_episode = name == "env" and "o" in values
        obs, continued = restore_env(env, saved[f"{name}_state"], values["o"] if in_episode else None)
        if in_episode:
            values["o"] = obs
            if not continued:
                values.update({key: variables[key] for key in EPISODE_VARIABLES if key in variables})
    return list(values.values())
