"""Checkpoints: what a run saves so that ``resume`` continues it exactly, and how it is written.

A checkpoint is plain data that ``torch.load(path, weights_only=True)`` reads: tensors,
numbers, strings, lists and dicts. Nothing in it is a pickled function, class or environment,
so loading a checkpoint someone sent you cannot run code. What resume needs to call the
algorithm again is a JSON-safe record of the call (``'call'``): the env by its gymnasium id
(rebuilt with :func:`spinup_lib.envs.make_env_fn`), classes by dotted name (resolved only
inside ``spinup_lib`` and ``torch.nn``, see :func:`resolve_class`), everything else as values.

Layout of ``checkpoint.pt`` (``checkpoint.rank<k>.pt`` for MPI process k), format 2::

    {'format': 2, 'algo': 'ppo', 'epoch': 4,         # the last finished epoch
     'num_procs': 1, 'proc_id': 0, 'elapsed': 12.3,   # seconds of training so far (Time)
     'call': {...},                                    # JSON-safe record of the algorithm's call
     'rng': {...},                                     # python, numpy and torch generators
     <the algorithm's own entries: state dicts, env state, loop variables>}

Numpy arrays are stored as tensors (``{'__ndarray__': tensor, 'scalar': bool}``) and come back
as arrays. A replay buffer is not stored in the checkpoint: each checkpoint appends the
transitions stored since the previous one to ``checkpoint_chunks/<name>/<first>-<end>.pt``
(global step indices), and the checkpoint lists the chunks that make up the buffer, with its
ring pointer and size. So a checkpoint costs time in proportion to the steps of an epoch, not
to the size of the buffer (see benchmarks/checkpoint_cost.py).

Every file is written atomically (:func:`atomic_torch_save`): a run killed while saving keeps
its previous checkpoint. Chunks are written before the checkpoint that lists them, and chunks
no longer listed are removed after it, so a checkpoint on disk always finds its chunks.
"""
import collections
import contextlib
import functools
import os
import os.path as osp
import pickle
import random
import re
import sys
import weakref

import numpy as np
import torch

from spinup_lib.errors import UserError
from spinup_lib.lifecycle import process_is_alive
from spinup_lib.mpi import num_procs, proc_id

#: Version of the checkpoint layout described in the module docstring.
CHECKPOINT_FORMAT = 2

#: Keys a checkpoint always has; the state an algorithm saves must not use them.
CHECKPOINT_KEYS = ("format", "algo", "epoch", "call", "rng", "num_procs", "proc_id", "elapsed")

#: Folder of a run directory holding the replay buffers' chunks.
CHUNKS_DIRNAME = "checkpoint_chunks"

_TEMPORARY_FILE = re.compile(r"^\..+\.(\d+)\.tmp$")


# ----------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------

def atomic_torch_save(obj, path):
    """``torch.save(obj, path)`` such that ``path`` is never left half-written.

    The data goes to a temporary file ``.<name>.<pid>.tmp`` in the same directory, is flushed
    to disk, then renamed over ``path`` in one step (``os.replace``). A run killed during the
    save keeps its previous file; a failed save removes the temporary file and re-raises. (A
    temporary file left by a process killed outright is removed by
    :func:`remove_stale_temporary_files`.)
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    temporary = osp.join(folder, f".{osp.basename(path)}.{os.getpid()}.tmp")
    # os.open with mode 0o666 lets the umask decide permissions, like a plain open() would.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_directory(folder)


def _fsync_directory(folder):
    """Make a rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_stale_temporary_files(folder):
    """Remove the temporary files of :func:`atomic_torch_save` that a killed process left in ``folder``.

    Only files named ``.<name>.<pid>.tmp`` whose process no longer runs are removed.

    Returns:
        list of str: the paths removed.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY_FILE.match(name)
        if match and not process_is_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(osp.join(folder, name))
                removed.append(osp.join(folder, name))
    return removed


def checkpoint_path(run_dir, rank=0):
    """``run_dir/checkpoint.pt`` for process 0, ``run_dir/checkpoint.rank<k>.pt`` for process k."""
    return osp.join(run_dir, "checkpoint.pt" if rank == 0 else f"checkpoint.rank{rank}.pt")


def max_num_procs():
    """The most processes a run may be resumed with here: as many as --cpu allows (4 per CPU), at least 8."""
    from spinup_lib.run_utils import MAX_PROCS_PER_CPU

    return max(8, MAX_PROCS_PER_CPU * (os.cpu_count() or 1))


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
# The algorithm's call, as a JSON-safe record
# ----------------------------------------------------------------------------------------

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
    from spinup_lib.envs import EnvMaker

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


def resolve_class(dotted, base, allow_modules=()):
    """The class named ``dotted``, if it lies in spinup_lib or torch.nn (or ``allow_modules``) and subclasses ``base``.

    For names read from files (checkpoints): nothing outside those modules is imported, and
    nothing is called; the kind is checked first. The project's allow-listed resolver
    (:func:`spinup_lib.run_utils.resolve_class`) does the work. Raises UserError otherwise.
    """
    from spinup_lib.run_utils import TRUSTED_MODULES, check_module_names
    from spinup_lib.run_utils import resolve_class as resolve_allowed

    modules = TRUSTED_MODULES + check_module_names(allow_modules)
    return resolve_allowed(dotted, modules, base=base, what="a class in a checkpoint")


def rebuild_call(record, given=None, allow_modules=()):
    """The algorithm's keyword arguments from a :func:`call_record` (the inverse, made safe).

    Env ids must be registered with gymnasium, classes must pass :func:`resolve_class` (torch
    modules from spinup_lib or torch.nn, or from ``allow_modules`` if you trust them);
    ``given`` supplies arguments the record could not keep (or overrides any).

    Raises:
        UserError: an argument the checkpoint could not keep and ``given`` does not supply, or
            a name outside the allowed namespaces.
    """
    given = dict(given or {})
    kwargs = {}
    for name, value in record.items():
        if name in given:
            kwargs[name] = given.pop(name)
            continue
        try:
            kwargs[name] = _rebuild_value(value, tuple(allow_modules))
        except _Unsaved as unsaved:
            raise UserError(f"the checkpoint could not keep the argument {name} ({unsaved}): resume from Python "
                            f"with spinup_lib.resume(run_dir, {name}=...)") from None
        except UserError as err:
            raise UserError(f"the checkpoint's argument {name} is not used: {err}; if you trust what it names, "
                            f"resume from Python with spinup_lib.resume(run_dir, {name}=...)") from None
    kwargs.update(given)
    return kwargs


class _Unsaved(Exception):
    pass


def _rebuild_value(value, allow_modules=()):
    if isinstance(value, list):
        return [_rebuild_value(v, allow_modules) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__unsaved__"}:
        raise _Unsaved(value["__unsaved__"])
    if set(value) == {"__tuple__"}:
        return tuple(_rebuild_value(v, allow_modules) for v in value["__tuple__"])
    if set(value) == {"__class__"}:
        return resolve_class(value["__class__"], torch.nn.Module, allow_modules)
    if set(value) == {"__env__"}:
        return _env_fn_from_record(value["__env__"])
    return {k: _rebuild_value(v, allow_modules) for k, v in value.items()}


def _env_fn_from_record(record):
    from spinup_lib.envs import check_env_id, make_env_fn

    if isinstance(record, dict) and "id" in record:
        check_env_id(record["id"])
        make_kwargs = _rebuild_value(record.get("make_kwargs") or {})
        if not isinstance(make_kwargs, dict):
            raise UserError("the checkpoint's env settings are not keyword arguments")
        return make_env_fn(record["id"], **make_kwargs)
    if isinstance(record, dict) and isinstance(record.get("spec"), str):
        return env_fn_from_spec_json(record["spec"])
    raise UserError("the checkpoint's env is neither a gymnasium id nor a spec")


def env_fn_from_spec_json(spec_json):
    """An env_fn rebuilding the env of a gymnasium spec (JSON), if it only uses registered code.

    The spec's id must be registered with the same entry point, and its extra wrappers must
    come from ``gymnasium.wrappers``: a spec read from a file names code, which must not be
    whatever the file says.
    """
    import gymnasium as gym
    from gymnasium.envs.registration import EnvSpec

    from spinup_lib.envs import check_env_id, make_env_from_spec_json

    try:
        spec = EnvSpec.from_json(spec_json)
    except Exception as err:
        raise UserError(f"the saved env spec cannot be read ({type(err).__name__}): start a new run") from None
    check_env_id(spec.id)
    registered = gym.registry[spec.id]
    if spec.entry_point != registered.entry_point:
        raise UserError(f"the saved env spec of {spec.id} names another entry point ({spec.entry_point}) "
                        "than the registered one: it is not used")
    for wrapper in spec.additional_wrappers:
        if not str(wrapper.entry_point).startswith("gymnasium.wrappers"):
            raise UserError(f"the saved env spec of {spec.id} adds a wrapper from outside gymnasium.wrappers "
                            f"({wrapper.entry_point}): it is not used")
    return functools.partial(make_env_from_spec_json, spec_json)


# ----------------------------------------------------------------------------------------
# Replay buffers, saved in chunks of what is new since the previous checkpoint
# ----------------------------------------------------------------------------------------

REPLAY_FIELDS = ("obs", "obs2", "act", "rew", "done")

# buffer -> dict(folder, total, chunks): what the latest checkpoint on disk holds of it.
_replay_logs = weakref.WeakKeyDictionary()


def _is_replay_buffer(value):
    from spinup_lib.core import ReplayBuffer

    return isinstance(value, ReplayBuffer)


def _chunk_folder(run_dir, name, rank):
    return osp.join(run_dir, CHUNKS_DIRNAME, name if rank == 0 else f"{name}.rank{rank}")


def _save_replay_buffer(buffer, run_dir, name, rank):
    """Write the transitions stored since the last checkpoint; return (descriptor, after_save).

    Global index g (the g-th transition ever stored) lives in slot ``g % max_size``; the
    buffer holds indices ``[total - size, total)``. ``after_save`` is called once the
    checkpoint listing the chunks is on disk: it removes chunks no longer needed.
    """
    folder = _chunk_folder(run_dir, name, rank)
    key = osp.realpath(folder)
    total, max_size = int(buffer.total_stored), int(buffer.max_size)
    oldest = total - int(buffer.size)  # the oldest transition still in the buffer
    log = _replay_logs.get(buffer)
    if log is None or log["folder"] != key or log["total"] > total:
        chunks, start = [], oldest  # nothing on disk to build on: write the whole buffer once
    else:
        chunks = [chunk for chunk in log["chunks"] if chunk[1] > oldest]
        start = max(log["total"], oldest)
    if total > start:
        chunk_name = f"{start:012d}-{total:012d}.pt"
        slots = np.arange(start, total) % max_size
        data = {field: torch.from_numpy(getattr(buffer, f"{field}_buf")[slots]) for field in REPLAY_FIELDS}
        data.update(start=start, end=total)
        os.makedirs(folder, exist_ok=True)
        atomic_torch_save(data, osp.join(folder, chunk_name))
        chunks.append([start, total, chunk_name])
    descriptor = {"__replay_chunks__": dict(
        folder=osp.relpath(folder, run_dir), chunks=[list(c) for c in chunks], ptr=int(buffer.ptr),
        size=int(buffer.size), max_size=max_size, total=total, rng=buffer.rng.bit_generator.state,
        shapes={field: list(getattr(buffer, f"{field}_buf").shape[1:]) for field in REPLAY_FIELDS})}

    def after_save():
        _replay_logs[buffer] = dict(folder=key, total=total, chunks=chunks)
        keep = {chunk[2] for chunk in chunks}
        with contextlib.suppress(OSError):
            for file_name in os.listdir(folder):
                if file_name not in keep and not _TEMPORARY_FILE.match(file_name):
                    os.remove(osp.join(folder, file_name))
        remove_stale_temporary_files(folder)

    return descriptor, after_save


class ReplayChunks:
    """A replay buffer as a checkpoint lists it: chunk files in ``folder``, ring pointer and size."""

    def __init__(self, run_dir, record):
        self.record = record
        self.folder = osp.join(os.fspath(run_dir), record["folder"])

    def __repr__(self):
        return f"ReplayChunks({self.folder!r}, size={self.record['size']})"

    def load_into(self, buffer):
        """Fill ``buffer`` (a core.ReplayBuffer of the same size) with the saved transitions."""
        record = self.record
        if record["max_size"] != buffer.max_size:
            raise UserError(f"checkpoint replay buffer holds {record['max_size']} steps, this run asks for "
                            f"{buffer.max_size}: resume with the run's own replay_size")
        for field in REPLAY_FIELDS:
            if list(getattr(buffer, f"{field}_buf").shape[1:]) != list(record["shapes"][field]):
                raise UserError(f"the checkpoint's replay buffer holds {field} of shape {record['shapes'][field]}, "
                                "not this env's: resume with the run's own env")
        total, size = int(record["total"]), int(record["size"])
        oldest = total - size
        covered = oldest
        for start, end, name in sorted(record["chunks"]):
            path = osp.join(self.folder, name)
            if not osp.isfile(path):
                raise UserError(f"the checkpoint's replay buffer chunk {path} is missing: restore it from a "
                                "copy of the run or start a new run")
            data = _load_plain_file(path)
            if not isinstance(data, dict) or data.get("start") != start or data.get("end") != end:
                raise UserError(f"{path} is not the replay buffer chunk the checkpoint lists")
            if start > covered:
                break
            indices = np.arange(start, end)
            wanted = indices >= oldest
            slots = indices[wanted] % buffer.max_size
            for field in REPLAY_FIELDS:
                getattr(buffer, f"{field}_buf")[slots] = data[field].numpy()[wanted]
            covered = max(covered, end)
        if covered < total:
            raise UserError(f"the checkpoint's replay buffer chunks in {self.folder} stop at step {covered} "
                            f"of {total}: restore them from a copy of the run or start a new run")
        buffer.ptr, buffer.size, buffer.total_stored = int(record["ptr"]), size, total
        buffer.rng.bit_generator.state = record["rng"]
        _replay_logs[buffer] = dict(folder=osp.realpath(self.folder), total=total,
                                    chunks=[list(c) for c in record["chunks"]])


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
        if _is_replay_buffer(value):
            contents[name], cleanup = _save_replay_buffer(value, run_dir, name, rank)
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


def _load_plain_file(path):
    """``torch.load(path, weights_only=True)``, with one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise UserError(f"{path} holds Python objects ({found.group(1)}), not plain data: it was written by "
                            "an older spinup_lib or by another program, and is not loaded since loading it "
                            "could run code") from None
        raise UserError(f"checkpoint {path} is corrupt or unreadable (not a file torch.save wrote); "
                        "restore it from a copy or start a new run") from None
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"checkpoint {path} is corrupt or unreadable ({reason}); "
                        "restore it from a copy or start a new run") from None


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
    raw = _load_plain_file(path)
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
    from spinup_lib.envs import set_env_state

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


def check_resumable(run_dir):
    """Rank 0's checkpoint of a run, once every process's checkpoint has been checked to agree.

    Returns:
        dict: process 0's checkpoint (as :func:`load_checkpoint` returns it).

    Raises:
        UserError: no checkpoint, an implausible number of processes, a missing process
            checkpoint, or checkpoints of different epochs (a run killed while saving them).
    """
    first = load_checkpoint(run_dir, rank=0)
    count = first["num_procs"]
    limit = max_num_procs()
    if not 1 <= count <= limit:
        raise UserError(f"the checkpoint in {run_dir} asks for {count} processes; this machine runs at most "
                        f"{limit} (4 per CPU): it was not made here, or it was tampered with")
    epochs = {0: first["epoch"]}
    for rank in range(1, count):
        other = load_checkpoint(run_dir, rank=rank)
        if other["num_procs"] != count:
            raise UserError(f"the checkpoints in {run_dir} disagree on the number of processes "
                            f"({count} and {other['num_procs']}): start a new run")
        epochs[rank] = other["epoch"]
    if len(set(epochs.values())) > 1:
        listed = ", ".join(f"process {rank}: epoch {epoch}" for rank, epoch in epochs.items())
        raise UserError(f"cannot resume {run_dir}: its processes' checkpoints are of different epochs ({listed}), "
                        "as if the run was stopped while saving them; start a new run")
    return first
