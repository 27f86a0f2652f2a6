"""Training speed of this checkout against another git revision, measured side by side.

For each algorithm, runs of the old and the new code alternate in one session (old, new, then
new, old, ...), each in a fresh Python process with one torch thread, so that a machine that
gets slower or faster during the session affects both alike. Each run trains the algorithm
through its public function (``spinup_lib.algos.<algo>.<algo>``) on HalfCheetah-v5 and times a
window of environment steps in the steady state, updates included:

* SAC, TD3: the matched settings used to compare with other libraries (256x256 networks, the
  default; batch 256; one gradient step per env step on average, the default update_every=50);
  the policy acts and the updates run from step 1000; the window is steps 2000-5000.
* PPO: its defaults (64x64 networks, 4000 steps and one update per epoch); the window is two
  whole epochs (steps 4000-12000), so it holds two updates.

The figure is env steps per second of wall-clock time over the window (and, beside it, of the
process's CPU time, which other busy processes disturb less). The ratio new/old is taken per
repetition, and the table gives its median and range over the repetitions.

The old revision is exported with ``git archive`` into a temporary folder (nothing in the
checkout changes) and imported from there through PYTHONPATH.

Usage::

    python benchmarks/compare_speed.py --against b737713              # sac td3 ppo, 3 repetitions
    python benchmarks/compare_speed.py --against main --algos sac --repeats 5
    python benchmarks/compare_speed.py --against b737713 --quick      # seconds: checks it works
    python benchmarks/compare_speed.py --against HEAD --new_threads 2 # --threads 2 against 1, same code

Writes benchmarks/results/compare_speed.csv (one row per run) and compare_speed_summary.csv,
compare_speed_machine.json, and prints the table. Run it on a quiet machine: it measures time.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from common import (REPO_ROOT, describe_machine, log_tail, machine_info, main_guard, print_table,
                    results_path, write_csv, write_json)
from spinup_lib.errors import UserError

ALGOS = ("sac", "td3", "ppo")
ENV_ID = "HalfCheetah-v5"

# Steps: policy and updates start at `start`, the timed window is [w0, w1).
OFF_POLICY = dict(full=dict(start=1000, w0=2000, w1=5000), quick=dict(start=100, w0=200, w1=400))
ON_POLICY = dict(full=dict(steps_per_epoch=4000, epochs=4), quick=dict(steps_per_epoch=400, epochs=4))


# ----------------------------------------------------------------------------------------------
# The worker: one timed run, in a fresh process that imports the revision under test
# ----------------------------------------------------------------------------------------------
def worker(algo, quick, result_file, extra):
    """Train ``algo`` under a clock and write {'steps_per_s', 'cpu_steps_per_s', ...} to result_file."""
    import importlib

    import gymnasium as gym
    import torch

    from spinup_lib.envs import make_env_fn

    torch.set_num_threads(int(os.environ.get("SPINUP_TORCH_THREADS", "1")))  # as --threads sets it
    make = make_env_fn(ENV_ID)
    marks = {}  # step index -> (wall, cpu) time when that step was called
    built = []

    if algo == "ppo":
        cfg = ON_POLICY["quick" if quick else "full"]
        spe = cfg["steps_per_epoch"]
        window = (spe, 3 * spe)  # epochs 1 and 2, each ending with its update
        kwargs = dict(steps_per_epoch=spe, epochs=cfg["epochs"])
    else:
        cfg = OFF_POLICY["quick" if quick else "full"]
        window = (cfg["w0"], cfg["w1"])
        kwargs = dict(steps_per_epoch=cfg["w1"] + 1, epochs=1, batch_size=256, start_steps=cfg["start"],
                      update_after=cfg["start"], num_test_episodes=1)
    kwargs.update(extra)

    class Clock(gym.Wrapper):
        count = 0

        def step(self, action):
            if Clock.count in window:
                marks[Clock.count] = (time.perf_counter(), time.process_time())
            Clock.count += 1
            return self.env.step(action)

        @property
        def spec(self):
            return self.env.spec

    def env_fn():
        env = make()
        if not built:  # the training env only; the test env runs unclocked
            env = Clock(env)
        built.append(env)
        return env

    algo_fn = getattr(importlib.import_module(f"spinup_lib.algos.{algo}"), algo)
    output_dir = tempfile.mkdtemp(prefix=f"compare_speed_{algo}_")
    algo_fn(env_fn, seed=0, logger_kwargs=dict(output_dir=output_dir), **kwargs)
    (w0, c0), (w1, c1) = marks[window[0]], marks[window[1]]
    steps = window[1] - window[0]
    with open(result_file, "w", encoding="utf-8") as f:
        json.dump(dict(steps_per_s=steps / (w1 - w0), cpu_steps_per_s=steps / (c1 - c0), steps=steps), f)


# ----------------------------------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------------------------------
def export_revision(revision, folder):
    """Write the tree of ``revision`` into ``folder`` (git archive); return its commit hash."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--verify", f"{revision}^{{commit}}"], cwd=REPO_ROOT,
                                check=True, capture_output=True, text=True).stdout.strip()
    except subprocess.CalledProcessError:
        raise UserError(f"--against {revision}: not a revision of this repository; give a commit, "
                        "branch or tag (git log shows them)") from None
    archive = subprocess.run(["git", "archive", commit], cwd=REPO_ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return commit


def current_revision():
    out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def run_once(algo, tree, quick, log_dir, tag, extra, threads=1):
    """One timed run of ``algo`` importing spinup_lib from ``tree``; returns its result dict."""
    result_file = os.path.join(log_dir, f"{tag}.json")
    log_file = os.path.join(log_dir, f"{tag}.log")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, os.path.dirname(os.path.abspath(__file__))]),
               SPINUP_TORCH_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = [sys.executable, os.path.abspath(__file__), "--worker", algo, "--result_file", result_file,
               "--extra", json.dumps(extra)] + (["--quick"] if quick else [])
    with open(log_file, "w", encoding="utf-8") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tree)
    if code != 0 or not os.path.exists(result_file):
        raise UserError(f"the {tag} run failed (exit {code}); end of its log:\n{log_tail(log_file, lines=20)}")
    with open(result_file, encoding="utf-8") as f:
        return json.load(f)


def summarize(rows):
    """Median and range of the per-repetition new/old ratios, per algorithm."""
    runs = pd.DataFrame(rows)
    wide = runs.pivot_table(index=["algo", "repeat"], columns="code", values=["steps_per_s", "cpu_steps_per_s"])
    ratio = (wide["steps_per_s"]["new"] / wide["steps_per_s"]["old"]).rename("ratio")
    cpu_ratio = (wide["cpu_steps_per_s"]["new"] / wide["cpu_steps_per_s"]["old"]).rename("cpu_ratio")
    both = pd.concat([wide["steps_per_s"]["old"].rename("old"), wide["steps_per_s"]["new"].rename("new"),
                      ratio, cpu_ratio], axis=1).reset_index()
    return (both.groupby("algo", sort=False)
            .agg(repeats=("ratio", "size"), old_steps_per_s=("old", "median"), new_steps_per_s=("new", "median"),
                 ratio_median=("ratio", "median"), ratio_min=("ratio", "min"), ratio_max=("ratio", "max"),
                 cpu_ratio_median=("cpu_ratio", "median"))
            .reset_index())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", help="the git revision to compare with (commit, branch, tag)")
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument("--repeats", type=int, default=3, help="old/new pairs per algorithm (default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny windows: checks the script, figures mean little")
    parser.add_argument("--new_extra", default="{}", help="JSON of extra keyword arguments for the new code's "
                        "runs only (e.g. an option under test)")
    parser.add_argument("--new_threads", type=int, default=1, help="torch threads of the new code's runs "
                        "(what --threads N of the command line sets; default 1, as the old runs)")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    parser.add_argument("--worker", choices=ALGOS, help=argparse.SUPPRESS)
    parser.add_argument("--result_file", help=argparse.SUPPRESS)
    parser.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.worker and not args.against:
        parser.error("--against REVISION is required (e.g. --against b737713)")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.new_threads < 1:
        parser.error("--new_threads must be at least 1")
    try:
        for text in (args.new_extra, args.extra):
            if not isinstance(json.loads(text), dict):
                raise ValueError
    except ValueError:
        parser.error("--new_extra takes a JSON object, e.g. '{\"threads\": 2}'")
    return args


def main():
    args = parse_args()
    if args.worker:
        worker(args.worker, args.quick, args.result_file, json.loads(args.extra))
        return 0
    info = machine_info()
    print(describe_machine(info))
    new_extra = json.loads(args.new_extra)
    rows = []
    with tempfile.TemporaryDirectory(prefix="compare_speed_") as tmp:
        old_tree = os.path.join(tmp, "old")
        os.makedirs(old_tree)
        old_commit = export_revision(args.against, old_tree)
        new_revision = current_revision()
        print(f"old: {args.against} ({old_commit[:10]}), new: this checkout ({new_revision})"
              + (f", new runs with {new_extra}" if new_extra else "")
              + (f", new runs with {args.new_threads} torch threads" if args.new_threads > 1 else "") + "\n")
        for repeat in range(args.repeats):
            for algo in args.algos:
                # Alternate which goes first, so a drift in the machine's speed hits both alike.
                order = ("old", "new") if repeat % 2 == 0 else ("new", "old")
                for code in order:
                    tree = old_tree if code == "old" else REPO_ROOT
                    extra = new_extra if code == "new" else {}
                    threads = args.new_threads if code == "new" else 1
                    result = run_once(algo, tree, args.quick, tmp, f"{algo}_{code}_{repeat}", extra, threads)
                    rows.append(dict(algo=algo, repeat=repeat, code=code, **result,
                                     load_average_1min=os.getloadavg()[0] if hasattr(os, "getloadavg") else None))
                    print(f"  repeat {repeat}  {algo:4s} {code}: {result['steps_per_s']:8.1f} env steps/s "
                          f"(cpu {result['cpu_steps_per_s']:.1f})", flush=True)
    summary = summarize(rows)
    print(f"\nnew ({new_revision}) / old ({args.against}), env steps per second, median over repetitions:")
    print_table(summary, float_format="{:.3f}".format)
    write_csv(pd.DataFrame(rows), results_path("compare_speed.csv", args.results_dir))
    write_csv(summary, results_path("compare_speed_summary.csv", args.results_dir))
    write_json(dict(info, against=args.against, against_commit=old_commit, new=new_revision,
                    repeats=args.repeats, quick=args.quick, new_extra=new_extra, new_threads=args.new_threads,
                    env=ENV_ID),
               results_path("compare_speed_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
