"""Continuing a run from its checkpoint, in the same folder, with as many processes as it had."""
import inspect
import os
import os.path as osp

from spinup_lib.errors import UserError
from spinup_lib.experiments.calls import print_end_banner
from spinup_lib.experiments.settings import load_algorithm


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
    from spinup_lib.checkpoint import check_resumable, load_checkpoint, rebuild_call
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
