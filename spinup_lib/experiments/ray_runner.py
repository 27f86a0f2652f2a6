"""Running the runs of a grid on a Ray cluster.

Each run is a Ray task (``num_cpus`` = the run's MPI processes). The task runs the same fresh
process as on this machine, in a temporary folder on its worker node, and sends the run folder
back as a tar archive, which is unpacked into place under this machine's data directory. So
results land in the same place whether or not the machines share a file system.
"""
import collections
import contextlib
import io
import json
import os
import os.path as osp
import shutil
import tarfile
import tempfile
import time

from spinup_lib.errors import UserError
from spinup_lib.experiments.plan import LOG_FNAME, NEW, read_json
from spinup_lib.experiments.runners import (Board, Child, clock, finish, interrupted, make_job, skip_finished,
                                            stop_children, terminate_means_interrupt)
from spinup_lib.run_files import atomic_write

RAY_INSTALL_HINT = "pip install -e .[ray]"


# ----------------------------------------------------------------------------------------------
# Runner 3: a Ray cluster
# ----------------------------------------------------------------------------------------------
def import_ray():
    """The ``ray`` module, or a one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"running a grid on a Ray cluster needs Ray: install it with `{RAY_INSTALL_HINT}` "
                        "(or pip install 'ray>=2.40,<3')") from None
    return ray


def pack_folder(folder):
    """The folder as the bytes of a gzipped tar archive (named by its base name inside)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=osp.basename(osp.normpath(folder)))
    return buffer.getvalue()


def unpack_into(data, parent):
    """Unpack an archive made by :func:`pack_folder` into ``parent``; return the folder made.

    Only plain files and folders below ``parent`` are accepted (tarfile's 'data' filter).
    """
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = {member.name.split("/", 1)[0] for member in archive.getmembers()}
        if len(names) != 1:
            raise ValueError(f"a run archive holds one folder, this one {sorted(names)}")
        archive.extractall(parent, filter="data")
    return osp.join(parent, names.pop())


def land_run_folder(data, output_dir, worker_dir):
    """Put a run folder sent back from a worker into place at ``output_dir``.

    The archive is unpacked next to ``output_dir`` and swapped in with renames, so a reader
    never sees half a folder. config.json's ``logger_kwargs.output_dir`` (the worker's temporary
    folder) is set to ``output_dir``.
    """
    parent = osp.dirname(osp.normpath(output_dir))
    os.makedirs(parent, exist_ok=True)
    incoming = tempfile.mkdtemp(prefix=f".{osp.basename(output_dir)}.incoming-", dir=parent)
    try:
        landed = unpack_into(data, incoming)
        config_path = osp.join(landed, "config.json")
        config = read_json(config_path)
        if isinstance(config, dict) and isinstance(config.get("logger_kwargs"), dict) \
                and config["logger_kwargs"].get("output_dir") == worker_dir:
            config["logger_kwargs"]["output_dir"] = str(output_dir)
            atomic_write(config_path, json.dumps(config, indent=4, sort_keys=True) + "\n")  # as the logger writes it
        old = None
        if osp.exists(output_dir):
            old = tempfile.mkdtemp(prefix=f".{osp.basename(output_dir)}.replaced-", dir=parent)
            os.rename(output_dir, osp.join(old, "run"))
        os.rename(landed, output_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def ray_task(job, archive, stop_flag):
    """Body of a run's Ray task, on a worker node: run it in a local folder, send the folder back.

    Args:
        job (dict): from :func:`make_job`.
        archive (bytes): the run folder as the driver has it (a run to resume), or None.
        stop_flag: a Ray actor whose ``is_set()`` turns True when the grid is stopped.

    Returns:
        dict: ``outcome``, ``reason``, ``archive`` (the run folder as tar bytes), ``worker_dir``
        and ``host``.
    """
    import socket

    import ray

    workdir = tempfile.mkdtemp(prefix="spinup_ray_")
    child = None
    try:
        if archive:
            run_dir = unpack_into(archive, workdir)
        else:
            run_dir = osp.join(workdir, job["folder"])
            os.makedirs(run_dir)
        child = Child(job, run_dir)
        stopping = False
        while child.poll() is None:
            time.sleep(1.0)
            if not stopping:
                with contextlib.suppress(Exception):
                    stopping = ray.get(stop_flag.is_set.remote(), timeout=10)
                if stopping:
                    stop_children([child])
        outcome, reason = child.outcome()
        return dict(outcome=outcome, reason=reason, archive=pack_folder(run_dir), worker_dir=run_dir,
                    host=socket.gethostname())
    except BaseException:
        if child is not None:  # cancelled, or the worker is shutting down: the run stops too
            stop_children([child], grace=5.0)
            child.cleanup()
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class StopFlag:
    """A tiny Ray actor the driver sets when the grid is stopped (Ctrl-C)."""

    def __init__(self):
        self.stop = False

    def set(self):
        self.stop = True

    def is_set(self):
        return self.stop


def connect_ray(address):
    """Connect this process to the Ray cluster at ``address`` ('auto': one started on this machine)."""
    import logging

    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"cannot connect to a Ray cluster at '{address}' ({first}): start one with "
                        "`ray start --head` (see docs/GRIDS.md) and give its address, e.g. --ray auto") from None
    return ray


def run_on_ray(runs, address, grid_name="grid"):
    """Each run a Ray task on the cluster at ``address``, with ``num_cpus`` = its MPI processes.

    Runs are submitted while the cluster has free CPUs (so 'running' means placed on a node);
    each finished task's run folder is unpacked into place at once.

    Raises:
        GridFailed: at the end, if any run failed.
        KeyboardInterrupt: Ctrl-C: each task stops its run and sends back the folder (so the next
            try resumes it); tasks that do not answer within a minute are cancelled.
    """
    ray = connect_ray(address)
    try:
        return _run_on_ray(ray, runs, address, grid_name)
    finally:
        ray.shutdown()  # disconnects this driver; the cluster keeps running


def _cluster_cpus(ray):
    return int(ray.cluster_resources().get("CPU", 0))


def _run_on_ray(ray, runs, address, grid_name):
    skip_finished(runs)
    waiting = collections.deque(run for run in runs if run.outcome is None)
    cpus = _cluster_cpus(ray)
    biggest = max((run.num_cpu for run in waiting), default=1)
    if biggest > cpus:
        raise UserError(f"runs of {biggest} processes (--cpu {biggest}) need {biggest} CPUs, and the Ray "
                        f"cluster at {address} has {cpus}: use a smaller --cpu or add nodes")
    remote_task = ray.remote(max_retries=2)(ray_task)
    stop_flag = ray.remote(num_cpus=0)(StopFlag).remote()
    where = f"the Ray cluster at {address}"
    board = Board(grid_name, runs, cpus, where)
    print(f"\nRunning {len(waiting)} runs on {where} ({cpus} CPUs now; {len(runs) - len(waiting)} finished "
          f"already). Each run's output goes to {LOG_FNAME} in its folder.", flush=True)
    in_flight = {}  # ObjectRef -> GridRun
    last_capacity_check = time.monotonic()
    with terminate_means_interrupt():
        try:
            board.line("start")
            while waiting or in_flight:
                if time.monotonic() - last_capacity_check > 10:  # nodes may join or leave
                    cpus, last_capacity_check = max(1, _cluster_cpus(ray)), time.monotonic()
                    board.slots = cpus
                used = sum(run.num_cpu for run in in_flight.values())
                while waiting and (not in_flight or used + waiting[0].num_cpu <= cpus):
                    run = waiting.popleft()
                    archive = pack_folder(run.output_dir) if osp.isdir(run.output_dir) else None
                    ref = remote_task.options(num_cpus=run.num_cpu, name=run.folder).remote(
                        make_job(run), archive, stop_flag)
                    in_flight[ref] = run
                    run.started = time.monotonic()
                    used += run.num_cpu
                    board.line(f"{'submitted' if run.status == NEW else run.status + 'd'} {run.folder}")
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
                for ref in ready:
                    run = in_flight.pop(ref)
                    _collect(ray, ref, run)
                    took = clock(run.ended - run.started)
                    board.line(f"{'finished' if run.outcome == 'done' else run.outcome} {run.folder} in {took}"
                               + (f": {run.reason}" if run.reason else ""))
                board.tick()
        except KeyboardInterrupt:
            print("\nStopping the grid's runs (each sends back its folder, to resume later)...", flush=True)
            _stop_ray_runs(ray, stop_flag, in_flight, board)
            interrupted(runs, board)
            raise
    board.line("all runs ended")
    finish(runs, grid_name, where)
    return runs


def _collect(ray, ref, run):
    """Take a finished task's result: land its run folder, record its outcome."""
    run.ended = time.monotonic()
    try:
        result = ray.get(ref)
    except Exception as e:  # the task itself failed (a lost node after its retries, a bug...)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        run.outcome, run.reason = "failed", f"the Ray task failed: {first}"
        return
    try:
        land_run_folder(result["archive"], run.output_dir, result["worker_dir"])
    except (OSError, ValueError, tarfile.TarError) as e:
        run.outcome, run.reason = "failed", f"its folder came back from {result['host']} but could not be unpacked: {e}"
        return
    run.outcome, run.reason = result["outcome"], result["reason"]
    if run.outcome == "failed":
        run.reason += f" (on {result['host']})"


def _stop_ray_runs(ray, stop_flag, in_flight, board, patience=60.0):
    with contextlib.suppress(Exception):
        ray.get(stop_flag.set.remote(), timeout=10)
    deadline = time.monotonic() + patience
    try:
        while in_flight and time.monotonic() < deadline:
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in ready:
                run = in_flight.pop(ref)
                _collect(ray, ref, run)
                board.line(f"{'stopped' if run.outcome == 'interrupted' else run.outcome} {run.folder}"
                           + (f": {run.reason}" if run.reason else "") + " (its folder is back)")
    except KeyboardInterrupt:
        pass
    for ref in in_flight:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
