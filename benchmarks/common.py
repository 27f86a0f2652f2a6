"""Helpers shared by the benchmark scripts: the machine, result files, launching runs.

The scripts in this folder print figures and write them to ``benchmarks/results/``; they
are not tests. Runs are launched exactly as a researcher launches them,
``python -m spinup_lib.run ALGO --env ... --seed ...``, each in its own process.
"""
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

import pandas as pd

from spinup_lib.errors import UserError
from spinup_lib.run_utils import setup_logger_kwargs

BENCHMARKS_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(BENCHMARKS_DIR)

RESULTS_DIR = osp.join(BENCHMARKS_DIR, "results")
RUNS_DIR = osp.join(RESULTS_DIR, "runs")

# Off-policy runs log deterministic test episodes; on-policy runs only their training episodes.
PERFORMANCE_COLUMNS = ("AverageTestEpRet", "AverageEpRet")


# ----------------------------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------------------------
def usable_cores():
    """Cores this process may run on (respects CPU affinity, e.g. in containers)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_model():
    """The CPU's name from /proc/cpuinfo (Linux), else what the platform module says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """A description of the machine and software the figures were measured on (a dict)."""
    from importlib.metadata import version

    import torch

    info = dict(
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
        usable_cores=usable_cores(),
        python=platform.python_version(),
        torch=torch.__version__,
        torch_default_threads=torch.get_num_threads(),
        numpy=version("numpy"),
        gymnasium=version("gymnasium"),
        mujoco=version("mujoco"),  # by metadata: benchmarks/mujoco_grid.py must not be mistaken for it
        platform=platform.platform(),
        date=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    if hasattr(os, "getloadavg"):
        # A busy machine makes every figure here slower: the load says how busy it was.
        info["load_average_1_5_15min"] = [round(x, 2) for x in os.getloadavg()]
    return info


def describe_machine(info):
    """The machine description as a few printable lines."""
    load = info.get("load_average_1_5_15min")
    return "\n".join([
        f"CPU: {info['cpu_model']}, {info['usable_cores']} usable cores ({info['logical_cpus']} logical)",
        f"python {info['python']}, torch {info['torch']}, numpy {info['numpy']}, "
        f"gymnasium {info['gymnasium']}, mujoco {info['mujoco']}",
        f"date {info['date']}" + (f", load average {load} (1, 5, 15 min)" if load else ""),
    ])


# ----------------------------------------------------------------------------------------------
# Result files
# ----------------------------------------------------------------------------------------------
def results_path(filename, results_dir=None):
    """Path of a result file in ``results_dir`` (default benchmarks/results/), creating the folder."""
    folder = results_dir or RESULTS_DIR
    os.makedirs(folder, exist_ok=True)
    return osp.join(folder, filename)


def shown_path(path):
    """``path`` relative to the working directory when it lies below it, else absolute."""
    relative = osp.relpath(path)
    return osp.abspath(path) if relative.startswith("..") else relative


def _announce(path, existed):
    # Result files are meant to be refreshed by re-running the script; say so when it happens.
    print(f"wrote {shown_path(path)}" + (" (replaced the previous file)" if existed else ""))


def write_csv(frame, path):
    """Write a DataFrame as CSV, saying where (and whether an older file was replaced)."""
    existed = osp.exists(path)
    frame.to_csv(path, index=False)
    _announce(path, existed)


def write_json(data, path):
    """Write a dict as indented JSON, saying where (and whether an older file was replaced)."""
    existed = osp.exists(path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    _announce(path, existed)


def save_figure(fig, path):
    """Save a matplotlib figure, saying where (and whether an older file was replaced)."""
    existed = osp.exists(path)
    fig.tight_layout()  # again: titles and labels set after plotting must fit too
    fig.savefig(path, dpi=100)
    _announce(path, existed)


def use_file_backend():
    """Draw figures into files only: benchmarks run on machines without a display."""
    import matplotlib

    matplotlib.use("Agg")


# ----------------------------------------------------------------------------------------------
# Run directories and launching runs
# ----------------------------------------------------------------------------------------------
def fresh_run_dir(parent, prefix):
    """Create and return a new folder ``parent/prefix_YYYY-MM-DD_HH-MM-SS`` for one invocation.

    Each invocation writes its runs into its own new folder, so no earlier run is ever
    touched; two invocations in the same second get ``_2``, ``_3``... suffixes.
    """
    os.makedirs(parent, exist_ok=True)
    stem = osp.join(parent, f"{prefix}_{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    path, n = stem, 1
    while True:
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1
            path = f"{stem}_{n}"


def run_dir_of(exp_name, seed, data_dir):
    """Where ``python -m spinup_lib.run ... --exp_name E --seed S --data_dir D`` puts its run."""
    return setup_logger_kwargs(exp_name, seed, data_dir)["output_dir"]


def cli_command(algo, env_id, seed, exp_name, data_dir, flags=None):
    """The command line of one run, as a researcher types it.

    Args:
        algo (str): vpg, trpo, ppo, ddpg, td3 or sac.
        env_id (str): gymnasium environment id.
        seed (int): the run's seed.
        exp_name (str): experiment name; the run goes to data_dir/exp_name/exp_name_s<seed>.
        data_dir (str): folder that holds the experiments.
        flags (dict): further algorithm arguments, ``{'epochs': 10, 'hid': '[64]'}``; values
            are written as the command line reads them (lists without spaces).
    """
    command = [sys.executable, "-m", "spinup_lib.run", algo, "--env", env_id, "--seed", str(seed),
               "--exp_name", exp_name, "--data_dir", data_dir]
    for name, value in (flags or {}).items():
        if isinstance(value, (list, tuple)):
            value = "[" + ",".join(str(v) for v in value) + "]"
        command += [f"--{name}", str(value)]
    return command


def child_environment(torch_threads=None):
    """Environment variables for a launched run.

    Args:
        torch_threads (int): torch threads per run, given to the library through
            ``SPINUP_TORCH_THREADS`` (read by spinup_lib.mpi.setup_pytorch_for_mpi) and
            ``OMP_NUM_THREADS`` (torch's own default, for code that never asks the library);
            None leaves both as they are.
    """
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    if torch_threads is not None:
        env["SPINUP_TORCH_THREADS"] = str(torch_threads)
        env["OMP_NUM_THREADS"] = str(torch_threads)
    return env


def run_commands(jobs, max_parallel=1, env=None, poll_seconds=0.5):
    """Run commands as subprocesses, at most ``max_parallel`` at a time; wait for all.

    Each job's output goes to its own log file, so parallel runs do not interleave.
    Ctrl-C (or any error here) stops every run still going.

    Args:
        jobs: list of dicts with ``name``, ``command`` (list of str) and ``log`` (a file path).
        max_parallel (int): most runs at the same time.
        env (dict): environment variables of the runs (default: this process's).
        poll_seconds (float): how often to look for finished runs.

    Returns:
        dict name -> dict(returncode, wall_s, log).
    """
    pending = list(jobs)
    running = {}  # name -> (Popen, start time, log file, job)
    results = {}
    try:
        while pending or running:
            while pending and len(running) < max_parallel:
                job = pending.pop(0)
                os.makedirs(osp.dirname(job["log"]), exist_ok=True)
                log = open(job["log"], "w", encoding="utf-8")
                print(f"  start  {job['name']}  (log: {shown_path(job['log'])})", flush=True)
                process = subprocess.Popen(job["command"], stdout=log, stderr=subprocess.STDOUT,
                                           env=env, cwd=REPO_ROOT)
                running[job["name"]] = (process, time.perf_counter(), log, job)
            time.sleep(poll_seconds)
            for name, (process, started, log, job) in list(running.items()):
                if process.poll() is None:
                    continue
                wall = time.perf_counter() - started
                log.close()
                del running[name]
                results[name] = dict(returncode=process.returncode, wall_s=wall, log=job["log"])
                status = "done " if process.returncode == 0 else f"FAILED (exit {process.returncode})"
                print(f"  {status} {name}  {wall:.1f} s", flush=True)
                if process.returncode != 0:
                    print(log_tail(job["log"]), flush=True)
    finally:
        for name, (process, _, log, _) in running.items():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
            print(f"  stopped {name}", flush=True)
    return results


def log_tail(path, lines=15):
    """The last lines of a log file, indented, for failure messages."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join("    | " + line for line in tail)


# ----------------------------------------------------------------------------------------------
# Reading runs
# ----------------------------------------------------------------------------------------------
def read_progress(run_dir):
    """A run's progress.txt as a DataFrame (one row per epoch).

    Raises:
        UserError: when the run has no progress.txt (it never finished an epoch).
    """
    path = osp.join(run_dir, "progress.txt")
    if not osp.exists(path):
        raise UserError(f"{run_dir} has no progress.txt: the run did not finish an epoch (see its log)")
    return pd.read_table(path)


def performance_column(progress):
    """The column that scores a run: AverageTestEpRet when logged (off-policy), else AverageEpRet."""
    for column in PERFORMANCE_COLUMNS:
        if column in progress.columns:
            return column
    raise UserError(f"progress.txt has none of the columns {', '.join(PERFORMANCE_COLUMNS)}")


def print_table(frame, float_format="{:.4g}".format):
    """Print a DataFrame as an aligned text table."""
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(frame.to_string(index=False, float_format=float_format))


def main_guard(main):
    """Run ``main()``; a UserError becomes one ``error:`` line and exit status 2."""
    try:
        return main()
    except UserError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
