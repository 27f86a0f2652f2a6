"""Continuing a run from its checkpoint, in the same folder, with as many processes as it had.

The checkpoint is plain data (:mod:`spinup_lib.checkpoint`); the algorithm's call is rebuilt
from its record safely: envs by their gymnasium id or checked spec, classes only from allowed
modules (:func:`rebuild_call`).
"""
import inspect
import os
import os.path as osp

import torch

from spinup_lib.checkpoint import load_checkpoint
from spinup_lib.dotted_names import TRUSTED_MODULES, check_module_names
from spinup_lib.dotted_names import resolve_class as resolve_allowed
from spinup_lib.envs import check_env_id, env_fn_from_spec_json, make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.experiments.calls import print_end_banner
from spinup_lib.experiments.settings import MAX_PROCS_PER_CPU, load_algorithm


# ----------------------------------------------------------------------------------------------
# Resuming a run (continues from <run_dir>/checkpoint.pt; see `python -m spinup_lib.run resume`)
# ----------------------------------------------------------------------------------------------
def resume_experiment(run_dir, epochs=None, allow_modules=(), **arguments):
    """Continue the run in ``run_dir`` from its checkpoint, writing into the same directory.

    Runs in this process (a checkpoint can be large: sending it to a child would copy it).
    A run made by several MPI processes is continued by as many: this call then re-launches
    the current command under mpirun (see :func:`spinup_lib.mpi.mpi_fork`), and each process
    reads its own checkpoint. The checkpoint is plain data (see :mod:`spinup_lib.checkpoint`):
    the algorithm is called again with the env rebuilt from its id and classes resolved only
    inside spinup_lib and torch.nn. A run that already has the asked-for epochs is not
    touched (one line says so). At the end, the same banner as a new run's is printed.

    Args:
        run_dir (str): a run's output directory, holding its checkpoint.
        epochs (int): the total number of epochs to reach; default: the original run's.
        allow_modules (list of str): modules of your own whose classes the checkpoint may name
            (e.g. ``['mypkg']`` for ``actor_critic=mypkg.nets.MyActorCritic``): imported only
            if you list them here, since a checkpoint is a file anyone could have written.
        **arguments: arguments the checkpoint could not keep (e.g. ``actor_critic=MyClass``
            for a class of your own, ``env_fn=...`` for an env not made by make_env_fn);
            they are given to the algorithm as they are. Use only what the run used.

    Returns:
        What the algorithm returns (the trained actor-critic), or None when there was nothing
        to do.

    Raises:
        UserError: no (usable) checkpoint, a checkpoint asking for an implausible number of
            processes, per-process checkpoints of different epochs, or an algorithm that
            cannot resume yet.
    """
    from spinup_lib.mpi import mpi_fork, num_procs, proc_id

    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise UserError(f"--epochs must be a positive int, got {epochs!r}")
    run_dir = os.fspath(run_dir)
    checkpoint = check_resumable(run_dir)  # every process's checkpoint, checked to agree
    algo_name = checkpoint["algo"]
    algo = load_algorithm(algo_name)
    parameters = inspect.signature(algo).parameters
    if "resume_from" not in parameters:
        raise UserError(f"{algo_name} cannot resume yet: start a new run instead")
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise UserError(f"{algo_name} has no argument {', '.join(unknown)}")
    call_kwargs = rebuild_call(checkpoint["call"], arguments, allow_modules)
    done = checkpoint["epoch"] + 1
    steps = call_kwargs.get("steps_per_epoch")
    if isinstance(checkpoint.get("t"), int) and isinstance(steps, int) and checkpoint["t"] != done * steps - 1:
        # An off-policy run counts its steps across epochs: its epochs must keep their length.
        raise UserError(f"the checkpoint stopped at step {checkpoint['t'] + 1}, not at the end of epoch "
                        f"{done - 1} of {steps} steps: resume with the run's own steps_per_epoch")
    total = epochs if epochs is not None else call_kwargs.get("epochs")
    if isinstance(total, int) and done >= total:
        if proc_id() == 0:
            print(f"{run_dir} already has {done} epochs (asked for {total}): nothing to do; "
                  "give --epochs N with N > " + str(done) + " to train longer", flush=True)
        return None

    count = checkpoint["num_procs"]
    mpi_fork(count)  # returns at once in a single process or inside MPI
    if num_procs() != count:
        raise UserError(f"{run_dir} was made by {count} processes and must be resumed by as many, "
                        f"not {num_procs()}")
    if proc_id() != 0:
        checkpoint = load_checkpoint(run_dir)  # each process continues from its own state

    previous_logger_kwargs = call_kwargs.get("logger_kwargs") or {}
    exp_name = previous_logger_kwargs.get("exp_name") or osp.basename(osp.normpath(run_dir))
    call_kwargs["logger_kwargs"] = dict(output_dir=run_dir, exp_name=exp_name, resume=True)
    if epochs is not None:
        call_kwargs["epochs"] = epochs
    result = algo(**call_kwargs, resume_from=checkpoint)
    if proc_id() == 0:
        print_end_banner(run_dir)
    return result


def max_num_procs():
    """The most processes a run may be resumed with here: as many as --cpu allows (4 per CPU), at least 8."""
    return max(8, MAX_PROCS_PER_CPU * (os.cpu_count() or 1))


def resolve_class(dotted, base, allow_modules=()):
    """The class named ``dotted``, if it lies in spinup_lib or torch.nn (or ``allow_modules``) and subclasses ``base``.

    For names read from files (checkpoints): nothing outside those modules is imported, and
    nothing is called; the kind is checked first. The project's allow-listed resolver
    (:func:`spinup_lib.dotted_names.resolve_class`) does the work. Raises UserError otherwise.
    """
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
    if isinstance(record, dict) and "id" in record:
        check_env_id(record["id"])
        make_kwargs = _rebuild_value(record.get("make_kwargs") or {})
        if not isinstance(make_kwargs, dict):
            raise UserError("the checkpoint's env settings are not keyword arguments")
        return make_env_fn(record["id"], **make_kwargs)
    if isinstance(record, dict) and isinstance(record.get("spec"), str):
        return env_fn_from_spec_json(record["spec"])
    raise UserError("the checkpoint's env is neither a gymnasium id nor a spec")


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
