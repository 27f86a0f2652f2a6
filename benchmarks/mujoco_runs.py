"""MuJoCo benchmark: SAC and TD3 on HalfCheetah, Hopper and Walker2d, PPO on HalfCheetah.

Every run is launched exactly as a researcher launches it,

    python -m spinup_lib.run ALGO --env ENV --seed S --epochs E --exp_name ALGO_ENV --data_dir DIR

in its own process, at most --jobs at a time (default: one per core), each with
--torch_threads torch threads (default 1, so parallel runs do not fight over cores). The
algorithms keep their default hyperparameters; only the number of epochs (of 4000 steps)
comes from the budget:

* ``--steps N``: N environment steps per run (rounded down to whole epochs);
* ``--minutes M``: about M minutes per run. A short calibration run of each (algo, env)
  first measures its training speed (policy acting and updates running from the start,
  so slightly pessimistic), which, scaled down when there are more runs than cores, turns
  M into a number of epochs.

Each invocation writes into a new dated folder under benchmarks/results/runs/ (or under
--data_dir), so no earlier run is touched; ``--collect FOLDER`` re-reads such a folder (a
finished or interrupted invocation) and rebuilds the table and plots without running anything.

The score of a run is its last epoch's AverageTestEpRet (the mean return of the deterministic
test episodes) for SAC and TD3, and its last epoch's AverageEpRet (training episodes) for PPO,
which has no test episodes. The table gives the mean and the sample standard deviation over seeds,
and the same for the mean of the last 5 epochs' scores, which one unlucky test epoch moves less
(Hopper and Walker2d test returns swing by hundreds from one epoch to the next).

Usage::

    python benchmarks/mujoco_runs.py --minutes 12 --jobs 2      # 21 runs; 2 h 26 min on 2 cores
    python benchmarks/mujoco_runs.py --steps 100000
    python benchmarks/mujoco_runs.py --quick                    # tiny runs, to check the script works
    python benchmarks/mujoco_runs.py --collect benchmarks/results/runs/mujoco_2026-11-24_10-00-00

Writes benchmarks/results/mujoco.csv (per algo and env), mujoco_runs.csv (per run),
mujoco_machine.json, mujoco_plan.json (every run's command) and one plot per env, mujoco_<env>.png.
"""
import argparse
import glob
import json
import math
import os.path as osp
import sys

import pandas as pd

from common import (RUNS_DIR, child_environment, cli_command, describe_machine, fresh_run_dir,
                    machine_info, main_guard, performance_column, print_table, read_progress,
                    results_path, run_commands, run_dir_of, save_figure, shown_path, usable_cores,
                    use_file_backend, write_csv, write_json)
from spinup_lib.errors import UserError

ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")
BENCHMARK = [(algo, env) for algo in ("sac", "td3") for env in ENVS] + [("ppo", "HalfCheetah-v5")]
ON_POLICY = ("vpg", "trpo", "ppo")
STEPS_PER_EPOCH = 4000

# --quick: tiny epochs and short episodes, with off-policy updates from the start.
QUICK_FLAGS = dict(off_policy=dict(steps_per_epoch=200, start_steps=100, update_after=100,
                                   num_test_episodes=1, max_ep_len=100),
                   on_policy=dict(steps_per_epoch=200, max_ep_len=100))
QUICK_EPOCHS = 2
# What plan.json records about an invocation, besides the machine and the commands.
INVOCATION_KEYS = ("quick", "budget_steps", "budget_minutes", "jobs", "torch_threads", "seeds",
                   "calibrated_steps_per_s")
# Calibration runs for --minutes: two epochs, the speed is read from the second.
CALIBRATION_FLAGS = dict(off_policy=dict(epochs=2, steps_per_epoch=1000, start_steps=0, update_after=100,
                                         num_test_episodes=3),
                         on_policy=dict(epochs=2, steps_per_epoch=STEPS_PER_EPOCH))


def kind(algo):
    return "on_policy" if algo in ON_POLICY else "off_policy"


def exp_name_of(algo, env):
    return f"{algo}_{env}"


def base_flags(algo, quick):
    """Flags every run of ``algo`` gets besides --epochs."""
    return dict(QUICK_FLAGS[kind(algo)]) if quick else dict(steps_per_epoch=STEPS_PER_EPOCH)


# ----------------------------------------------------------------------------------------------
# Budgets
# ----------------------------------------------------------------------------------------------
def calibrate(pairs, invocation_dir, torch_threads, quick):
    """Training speed (env steps per second) of each (algo, env), from one short run each, in series."""
    calibration_dir = osp.join(invocation_dir, "calibration")
    rates = {}
    print("Calibrating: one short run per (algo, env), one at a time")
    for algo, env in pairs:
        flags = dict(CALIBRATION_FLAGS[kind(algo)])
        if quick:
            flags.update(QUICK_FLAGS[kind(algo)])
        name = exp_name_of(algo, env)
        command = cli_command(algo, env, 0, name, calibration_dir, flags)
        outcome = run_commands([dict(name=f"calibrate {name}", command=command,
                                     log=osp.join(calibration_dir, "logs", name + ".log"))],
                               env=child_environment(torch_threads))[f"calibrate {name}"]
        if outcome["returncode"] != 0:
            raise UserError(f"the calibration run of {algo} on {env} failed: see {outcome['log']}")
        progress = read_progress(run_dir_of(name, 0, calibration_dir))
        second = progress.iloc[-1] - progress.iloc[-2]  # the second epoch alone: no start-up costs
        rates[(algo, env)] = second["TotalEnvInteracts"] / second["Time"]
        print(f"    {algo} on {env}: {rates[(algo, env)]:.0f} steps/s")
    return rates


def epochs_for_minutes(minutes, rate, steps_per_epoch, parallel_share):
    """Whole epochs that fit in ``minutes`` at ``rate`` steps/s times the share of a core each run gets."""
    return max(1, math.floor(minutes * 60 * rate * parallel_share / steps_per_epoch))


# ----------------------------------------------------------------------------------------------
# Collecting results
# ----------------------------------------------------------------------------------------------
def finished_seeds(invocation_dir, algo, env):
    """Seeds of the runs of (algo, env) in ``invocation_dir`` that finished an epoch, sorted."""
    name = exp_name_of(algo, env)
    pattern = osp.join(glob.escape(osp.join(invocation_dir, name)), glob.escape(name) + "_s*", "progress.txt")
    seeds = []
    for path in glob.glob(pattern):
        suffix = osp.basename(osp.dirname(path))[len(name) + 2:]
        if suffix.lstrip("-").isdigit():
            seeds.append(int(suffix))
    return sorted(seeds)


def collect(invocation_dir, pairs):
    """Per-run and per-(algo, env) tables from the runs found in ``invocation_dir``."""
    runs = []
    for algo, env in pairs:
        for seed in finished_seeds(invocation_dir, algo, env):
            run_dir = run_dir_of(exp_name_of(algo, env), seed, invocation_dir)
            progress = read_progress(run_dir)
            column = performance_column(progress)
            runs.append(dict(algo=algo, env=env, seed=seed, score_column=column,
                             final=progress[column].iloc[-1], last5=progress[column].iloc[-5:].mean(),
                             best=progress[column].max(), epochs=len(progress),
                             steps=int(progress["TotalEnvInteracts"].iloc[-1]),
                             train_s=progress["Time"].iloc[-1], run_dir=run_dir))
    runs = pd.DataFrame(runs)
    if runs.empty:
        return runs, runs
    summary = (runs.groupby(["algo", "env"], sort=False)
               .agg(seeds=("seed", "count"), steps=("steps", "min"), final_mean=("final", "mean"),
                    final_std=("final", "std"), final_min=("final", "min"), final_max=("final", "max"),
                    finals=("final", lambda s: ";".join(f"{v:.1f}" for v in s)),
                    last5_mean=("last5", "mean"), last5_std=("last5", "std"),
                    score_column=("score_column", "first"), train_s_mean=("train_s", "mean"))
               .reset_index())
    summary["runs_dir"] = invocation_dir
    return runs, summary


def plot_env(env, pairs, invocation_dir, results_dir, title_note):
    """Learning curves of every algorithm on ``env``: mean over seeds with a one-std band."""
    import matplotlib.pyplot as plt

    from spinup_lib.plot import plot_runs

    exp_dirs = [osp.join(invocation_dir, exp_name_of(algo, e)) + "/" for algo, e in pairs if e == env]
    exp_dirs = [d for d in exp_dirs if osp.isdir(d)]
    if not exp_dirs:
        return
    ax = plot_runs(exp_dirs, value="Performance", xaxis="TotalEnvInteracts")
    ax.set_title(f"{env}{title_note}")
    ax.set_ylabel("return (SAC, TD3: test; PPO: training)")
    save_figure(ax.figure, results_path(f"mujoco_{env}.png", results_dir))
    plt.close(ax.figure)


def report(invocation_dir, pairs, results_dir, info, extra):
    """Print the table; write the CSVs, the machine description and the plots."""
    use_file_backend()
    runs, summary = collect(invocation_dir, pairs)
    if runs.empty:
        raise UserError(f"no finished run (progress.txt) under {invocation_dir}: nothing to report")
    print("\nFinal score per (algo, env), over seeds:")
    print_table(summary[["algo", "env", "seeds", "steps", "final_mean", "final_std", "finals",
                         "last5_mean", "last5_std", "score_column"]],
                float_format="{:.1f}".format)
    print()
    write_csv(summary, results_path("mujoco.csv", results_dir))
    write_csv(runs, results_path("mujoco_runs.csv", results_dir))
    machine_path = results_path("mujoco_machine.json", results_dir)
    record = dict(info, runs=invocation_dir, **extra)
    if extra.get("collected_only") and osp.exists(machine_path):
        # Re-collecting the same folder keeps what its own invocation recorded (its budget, say).
        with open(machine_path, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier.get("runs") == invocation_dir:
            record = dict(earlier, **record)
    write_json(record, machine_path)
    plan_path = osp.join(invocation_dir, "plan.json")
    if osp.exists(plan_path):  # every run's exact command, beside the results
        with open(plan_path, encoding="utf-8") as f:
            write_json(json.load(f)["plan"], results_path("mujoco_plan.json", results_dir))
    for env in dict.fromkeys(env for _, env in pairs):
        budgets = summary[summary["env"] == env]
        note = " (" + ", ".join(f"{row.algo} {row.steps / 1000:,.0f}k" for row in budgets.itertuples()) + " steps)"
        plot_env(env, pairs, invocation_dir, results_dir, note)


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="environment steps per run (rounded down to whole epochs)")
    budget.add_argument("--minutes", type=float, help="about this many minutes per run (measured first)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds (default: 0 1 2; --collect finds the seeds itself)")
    parser.add_argument("--jobs", type=int, default=usable_cores(),
                        help="runs at the same time (default: one per usable core, %(default)s here)")
    parser.add_argument("--torch_threads", type=int, default=1,
                        help="torch threads per run (default %(default)s)")
    parser.add_argument("--algos", nargs="+", choices=["sac", "td3", "ppo"], default=["sac", "td3", "ppo"],
                        help="restrict to these algorithms")
    parser.add_argument("--envs", nargs="+", choices=ENVS, default=list(ENVS), help="restrict to these envs")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} tiny epochs per run (unless --steps/--minutes): checks the "
                             "script works, the scores mean nothing")
    parser.add_argument("--data_dir", default=RUNS_DIR,
                        help="parent of this invocation's new dated run folder (default benchmarks/results/runs)")
    parser.add_argument("--collect", metavar="FOLDER",
                        help="only read the runs of an earlier invocation's folder and rebuild table and plots")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.steps is None and args.minutes is None and not (args.quick or args.collect):
        parser.error("give a budget per run: --steps N or --minutes M (or --quick, or --collect FOLDER)")
    if args.steps is not None and args.steps < 1 or args.minutes is not None and args.minutes <= 0:
        parser.error("the budget must be positive")
    if args.jobs < 1 or args.torch_threads < 1:
        parser.error("--jobs and --torch_threads must be at least 1")
    return args


def main():
    args = parse_args()
    pairs = [(algo, env) for algo, env in BENCHMARK if algo in args.algos and env in args.envs]
    if not pairs:
        raise UserError("no (algo, env) pair left: PPO runs on HalfCheetah-v5 only, SAC and TD3 on all three envs")
    info = machine_info()
    print(describe_machine(info))

    if args.collect:
        if not osp.isdir(args.collect):
            raise UserError(f"--collect {args.collect}: no such folder; give a folder made by an earlier invocation")
        # The machine that ran the runs, and the invocation's budget, are in the folder's
        # plan.json (when it got that far); the table and plots are rebuilt from progress.txt.
        extra = dict(collected_only=True)
        plan_path = osp.join(args.collect, "plan.json")
        if osp.exists(plan_path):
            with open(plan_path, encoding="utf-8") as f:
                plan = json.load(f)
            info = plan.get("machine", info)
            extra.update({key: plan[key] for key in INVOCATION_KEYS if key in plan})
        report(osp.abspath(args.collect), pairs, args.results_dir, info, extra)
        return 0

    invocation_dir = fresh_run_dir(osp.abspath(args.data_dir), "mujoco" + ("_quick" if args.quick else ""))
    print(f"runs go to {shown_path(invocation_dir)}\n")
    n_runs = len(pairs) * len(args.seeds)
    parallel = min(args.jobs, n_runs)
    # Share of a core each run gets when more threads run than there are cores.
    share = min(1.0, usable_cores() / (parallel * args.torch_threads))

    rates = calibrate(pairs, invocation_dir, args.torch_threads, args.quick) if args.minutes else {}
    jobs, plan = [], []
    for seed in args.seeds:  # seed-major order: every (algo, env) gets its first seed early
        for algo, env in pairs:
            flags = base_flags(algo, args.quick)
            if args.minutes:
                flags["epochs"] = epochs_for_minutes(args.minutes, rates[(algo, env)], flags["steps_per_epoch"], share)
            elif args.steps:
                flags["epochs"] = max(1, args.steps // flags["steps_per_epoch"])
            else:
                flags["epochs"] = QUICK_EPOCHS
            name = exp_name_of(algo, env)
            command = cli_command(algo, env, seed, name, invocation_dir, flags)
            jobs.append(dict(name=f"{name}_s{seed}", command=command,
                             log=osp.join(invocation_dir, "logs", f"{name}_s{seed}.log")))
            plan.append(dict(algo=algo, env=env, seed=seed, epochs=flags["epochs"],
                             steps=flags["epochs"] * flags["steps_per_epoch"], command=" ".join(command[1:])))
    rates_by_name = {f"{algo} {env}": rate for (algo, env), rate in rates.items()}
    invocation = dict(quick=args.quick, budget_steps=args.steps, budget_minutes=args.minutes, jobs=parallel,
                      torch_threads=args.torch_threads, seeds=args.seeds, calibrated_steps_per_s=rates_by_name)
    write_json(dict(machine=info, plan=plan, **invocation), osp.join(invocation_dir, "plan.json"))
    print(f"\n{n_runs} runs, {parallel} at a time, {args.torch_threads} torch thread(s) each:")
    for entry in plan:
        print(f"    {entry['algo']:>4} {entry['env']:<15} seed {entry['seed']}: {entry['epochs']} epochs "
              f"({entry['steps']:,} steps)")
    print()
    outcomes = run_commands(jobs, max_parallel=parallel, env=child_environment(args.torch_threads))
    failed = [name for name, outcome in outcomes.items() if outcome["returncode"] != 0]
    if failed:
        print(f"\n{len(failed)} run(s) failed: {', '.join(failed)} (their logs are in {invocation_dir}/logs)")
    report(invocation_dir, pairs, args.results_dir, info, invocation)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
