"""Wall time of one 8-run grid: in series, on 2 local workers, and on a local 2-CPU Ray cluster.

The grid is PPO on CartPole-v1 with 8 seeds (short runs, ~20-30 s each on a quiet core), launched
exactly as a researcher launches it::

    python -m spinup_lib.run ppo --env CartPole-v1 --seed 0 1 ... 7 --epochs E [--num_workers 2 | --ray ADDR]

Each way gets a fresh data folder under benchmarks/results/runs/. Printed and written to
benchmarks/results/grid_parallel.csv, per way: wall time of the whole command (``wall_s``), the
grid's own clock from its last summary line (``grid_clock_s``: first run launched to last run
ended, without the command's start-up, e.g. connecting to Ray), CPU time used (the command and
every process it started; on Ray, every process of the cluster), and the ratio of the series
wall time to its own. The Ray cluster (``ray start --head`` on this machine,
loopback only) is started before its grid and stopped after; its start-up time is reported
apart. Finally the runs' progress.txt rows (without Time) are compared across the three ways.

Run it alone on the machine, under the shared lock:
``flock /tmp/spinup_heavy.lock python benchmarks/grid_parallel.py`` (~8 minutes on 2 cores).
"""
import argparse
import os
import os.path as osp
import re
import resource
import subprocess
import sys
import threading
import time

import pandas as pd

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from benchmarks.common import (  # noqa: E402
    RUNS_DIR,
    describe_machine,
    fresh_run_dir,
    machine_info,
    results_path,
    write_csv,
    write_json,
)
from tests.ray_cluster import LocalRayCluster  # noqa: E402

SEEDS = [str(s) for s in range(8)]


def grid_command(epochs, steps, exp_name, data_dir, extra=()):
    return [sys.executable, "-m", "spinup_lib.run", "ppo", "--env", "CartPole-v1", "--seed", *SEEDS,
            "--epochs", str(epochs), "--steps_per_epoch", str(steps), "--save_freq", "5",
            "--exp_name", exp_name, "--data_dir", data_dir, *extra]


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_ticks(root_pid):
    """{pid: CPU clock ticks used} by each of ``root_pid``'s live descendants itself.

    Its own user and system time only: what its finished children used was counted while they
    lived (they are descendants too), and would be counted twice.
    """
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields[1] is the parent pid; utime and stime are fields 14 and 15 of stat.
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    found, todo = {}, [root_pid]
    while todo:
        parent = todo.pop()
        for pid, (ppid, ticks) in stats.items():
            if ppid == parent:
                found[pid] = ticks
                todo.append(pid)
    return found


class ClusterCPU:
    """CPU seconds the Ray cluster's processes use while a grid runs, sampled every 0.25 s.

    Ray's worker processes end when the driver disconnects, and what they used is then lost to
    their parents' counters, so each process's use is followed while it lives (its last sample
    minus its first; a process born during the grid starts from 0). A process living less than
    0.25 s, or the last 0.25 s of one, can be missed.
    """

    def __init__(self, root_pid):
        self.root_pid, self.first, self.last = root_pid, tree_ticks(root_pid), {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stop.wait(0.25):
            self.last.update(tree_ticks(self.root_pid))

    def seconds(self):
        self.stop.set()
        self.thread.join()
        self.last.update(tree_ticks(self.root_pid))
        used = sum(ticks - self.first.get(pid, 0) for pid, ticks in self.last.items())
        return used / os.sysconf("SC_CLK_TCK")


def timed_grid(name, command, env=None, cluster_pid=None):
    """Run one grid command; return its wall and CPU seconds (raises if it failed)."""
    print(f"\n== {name}: {' '.join(command[3:])}", flush=True)
    cpu_before = children_cpu_seconds()
    cluster = ClusterCPU(cluster_pid) if cluster_pid else None
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    cpu = children_cpu_seconds() - cpu_before
    if cluster is not None:
        cpu += cluster.seconds()
    summary = [line for line in result.stdout.splitlines() if line.startswith("[")]
    print("\n".join(summary[-3:]) if summary else result.stdout[-1500:])
    if result.returncode != 0:
        raise SystemExit(f"{name} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    # The grid's own clock, from its last summary line: from the first run launched to the last ended.
    clock = re.match(r"^\[\S+ (\d+):(\d+):(\d+)\]", summary[-1]) if summary else None
    grid = int(clock[1]) * 3600 + int(clock[2]) * 60 + int(clock[3]) if clock else float("nan")
    print(f"   wall {wall:.1f} s (grid clock {grid} s), CPU {cpu:.1f} s", flush=True)
    return wall, cpu, grid


def rows_of(data_dir, exp_name):
    return {seed: pd.read_csv(osp.join(data_dir, exp_name, f"{exp_name}_s{seed}", "progress.txt"), sep="\t")
            .drop(columns=["Time"]) for seed in SEEDS}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15, help="epochs per run (default 15: ~20-30 s a run)")
    parser.add_argument("--steps", type=int, default=1000, help="env steps per epoch (default 1000)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 2 epochs of 400 steps: checks the script works")
    parser.add_argument("--results_dir", default=None, help="where the CSV and machine JSON go")
    args = parser.parse_args(argv)
    epochs, steps = (2, 400) if args.quick else (args.epochs, args.steps)
    if args.quick:
        SEEDS[2:] = []

    info = machine_info()
    print(describe_machine(info))
    runs_dir = fresh_run_dir(RUNS_DIR, "grid_parallel")
    env = dict(os.environ, SPINUP_WAIT_BEFORE_LAUNCH="0")
    records, rows = [], {}

    for name, extra in [("series", []), ("2 workers", ["--num_workers", "2"])]:
        data_dir = osp.join(runs_dir, name.replace(" ", "_"))
        wall, cpu, grid = timed_grid(name, grid_command(epochs, steps, "grid", data_dir, extra), env=env)
        records.append(dict(way=name, wall_s=wall, cpu_s=cpu, grid_clock_s=grid, cluster_start_s=0.0))
        rows[name] = rows_of(data_dir, "grid")

    start = time.monotonic()
    with LocalRayCluster(num_cpus=2) as cluster:
        startup = time.monotonic() - start
        print(f"\nlocal Ray cluster at {cluster.address} started in {startup:.1f} s", flush=True)
        data_dir = osp.join(runs_dir, "ray")
        command = grid_command(epochs, steps, "grid", data_dir, ["--ray", cluster.address])
        wall, cpu, grid = timed_grid("Ray, 2 CPUs", command, env=dict(env, **cluster.env),
                                     cluster_pid=cluster.process.pid)
        records.append(dict(way="Ray, 2 CPUs", wall_s=wall, cpu_s=cpu, grid_clock_s=grid, cluster_start_s=startup))
        rows["Ray, 2 CPUs"] = rows_of(data_dir, "grid")

    table = pd.DataFrame(records)
    series_wall = table.loc[table.way == "series", "wall_s"].item()
    table["speedup_vs_series"] = series_wall / table["wall_s"]
    table["runs"], table["epochs"], table["steps_per_epoch"] = len(SEEDS), epochs, steps
    same = all(rows[way][seed].equals(rows["series"][seed]) for way in rows for seed in SEEDS)
    table["rows_same_as_series"] = same
    print("\n" + table.round(2).to_string(index=False))
    print(f"\nprogress.txt rows (without Time) identical in all three ways: {'yes' if same else 'NO'}")
    if not args.quick:
        write_csv(table.round(2), results_path("grid_parallel.csv", args.results_dir))
        write_json(info, results_path("grid_parallel_machine.json", args.results_dir))
    print(f"runs are in {runs_dir}")


if __name__ == "__main__":
    main()
