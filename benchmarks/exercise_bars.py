"""Do the library's own algorithms clear the pass bars the exercises set, and how fast?

The exercises ask students to complete PPO and TD3 and check their code against a bar.
This script runs the library's algorithms with the exercises' settings, through the same
command line a student would use, and reports whether each bar is met and the wall time:

* Exercise 1.2 (PPO policy): PPO, hidden sizes (64,), 20 epochs of 4000 steps on
  InvertedPendulum-v5. Bar: the mean of the last 5 AverageEpRet is above 500, or one of
  them reaches 1000. Target wall time: under 3 minutes.
* Exercise 1.3 (TD3 losses): TD3, hidden sizes (128, 128), max_ep_len 150, 10 epochs of
  4000 steps. Bars: on HalfCheetah-v5 the final AverageTestEpRet is above 300; on
  InvertedPendulum-v5 AverageTestEpRet reaches 150 (every test episode lasts the 150 steps).

Runs go one after the other (wall times are the point, so they must not share cores) into
a new dated folder under benchmarks/results/runs/ (or --data_dir), never into an old one.

Usage::

    python benchmarks/exercise_bars.py                    # full: about 6-10 minutes per seed on 2 cores
    python benchmarks/exercise_bars.py --seeds 0 10 20
    python benchmarks/exercise_bars.py --quick            # tiny runs, to check the script works

Writes benchmarks/results/exercise_bars.csv, exercise_bars_machine.json and one learning-curve
plot per (exercise, env): exercise_bars_<algo>_<env>.png.
"""
import argparse
import os.path as osp
import sys

import pandas as pd

from common import (RUNS_DIR, child_environment, cli_command, describe_machine, fresh_run_dir,
                    machine_info, main_guard, print_table, read_progress, results_path, run_commands,
                    run_dir_of, save_figure, shown_path, use_file_backend, write_csv, write_json)

PENDULUM_MAX_150 = 150.0  # InvertedPendulum pays 1 per step: 150 is every step of a 150-step episode


def ppo_bar(progress):
    """Exercise 1.2: mean of the last 5 AverageEpRet > 500, or a 1000 among them."""
    last5 = progress["AverageEpRet"].tail(5)
    return bool(last5.mean() > 500 or (last5 >= 1000).any())


def final_above_300(progress):
    """Exercise 1.3 on HalfCheetah: the final AverageTestEpRet is above 300."""
    return bool(progress["AverageTestEpRet"].iloc[-1] > 300)


def reaches_150(progress):
    """Exercise 1.3 on InvertedPendulum: AverageTestEpRet reaches 150 in some epoch."""
    return bool(progress["AverageTestEpRet"].max() >= PENDULUM_MAX_150 - 1e-6)


TD3_FLAGS = dict(hid=[128, 128], max_ep_len=150, epochs=10, steps_per_epoch=4000)
EXERCISES = [
    dict(exercise="1.2", algo="ppo", env="InvertedPendulum-v5", column="AverageEpRet",
         flags=dict(hid=[64], epochs=20, steps_per_epoch=4000), check=ppo_bar, line=500,
         bar="mean(last 5 AverageEpRet) > 500 or a 1000 among them", target_wall_s=180),
    dict(exercise="1.3", algo="td3", env="HalfCheetah-v5", column="AverageTestEpRet",
         flags=TD3_FLAGS, check=final_above_300, line=300,
         bar="final AverageTestEpRet > 300", target_wall_s=None),
    dict(exercise="1.3", algo="td3", env="InvertedPendulum-v5", column="AverageTestEpRet",
         flags=TD3_FLAGS, check=reaches_150, line=PENDULUM_MAX_150,
         bar="AverageTestEpRet reaches 150", target_wall_s=None),
]

# --quick: a couple of tiny epochs, with TD3's updates starting at once so they are exercised too.
QUICK_FLAGS = dict(ppo=dict(epochs=2, steps_per_epoch=400),
                   td3=dict(epochs=2, steps_per_epoch=400, start_steps=200, update_after=200,
                            num_test_episodes=2))


def exp_name_of(spec):
    return f"ex{spec['exercise'].replace('.', '_')}_{spec['algo']}_{spec['env']}"


def summarise(spec, seed, run_dir, outcome):
    """One CSV row: the run's scores, whether the bar is met, and its times."""
    row = dict(exercise=spec["exercise"], algo=spec["algo"], env=spec["env"], seed=seed,
               bar=spec["bar"], returncode=outcome["returncode"], wall_s=outcome["wall_s"],
               target_wall_s=spec["target_wall_s"], run_dir=run_dir)
    row.update({k: str(v) if isinstance(v, list) else v for k, v in spec["flags"].items()})
    if outcome["returncode"] != 0 or not osp.exists(osp.join(run_dir, "progress.txt")):
        return dict(row, met=False)
    progress = read_progress(run_dir)
    scores = progress[spec["column"]]
    row.update(
        score_column=spec["column"], epochs_done=len(progress), final=scores.iloc[-1], best=scores.max(),
        last5_mean=scores.tail(5).mean(), train_s=progress["Time"].iloc[-1], met=spec["check"](progress))
    if spec["target_wall_s"] is not None:
        row["within_target_time"] = bool(outcome["wall_s"] <= spec["target_wall_s"])
    return row


def plot_exercise(spec, exp_dir, results_dir, quick):
    """Learning curve (mean over seeds, one std band) with the bar as a dashed line."""
    import matplotlib.pyplot as plt

    from spinup_lib.plot import plot_runs

    ax = plot_runs(exp_dir + "/", value=spec["column"], xaxis="TotalEnvInteracts")
    ax.axhline(spec["line"], color="black", linestyle="--", linewidth=1, label=f"bar: {spec['bar']}")
    ax.set_title(f"Exercise {spec['exercise']}: {spec['algo'].upper()} on {spec['env']}"
                 + (" (quick)" if quick else ""))
    ax.legend(loc="best", fontsize="small")
    save_figure(ax.figure, results_path(f"exercise_bars_{spec['algo']}_{spec['env']}.png", results_dir))
    plt.close(ax.figure)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds to run (default: 0)")
    parser.add_argument("--algos", nargs="+", choices=["ppo", "td3"], default=["ppo", "td3"],
                        help="which exercises' algorithms to run (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="two tiny epochs per run: checks the script works, the bars will not be met")
    parser.add_argument("--torch_threads", type=int, default=None,
                        help="torch threads per run (SPINUP_TORCH_THREADS and OMP_NUM_THREADS); "
                             "default: leave the environment as it is, as a student would")
    parser.add_argument("--data_dir", default=RUNS_DIR,
                        help="parent of this invocation's new dated run folder (default benchmarks/results/runs)")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    return parser.parse_args(argv)


def main():
    args = parse_args()
    use_file_backend()
    info = machine_info()
    print(describe_machine(info))
    invocation_dir = fresh_run_dir(osp.abspath(args.data_dir), "exercise_bars" + ("_quick" if args.quick else ""))
    print(f"runs go to {shown_path(invocation_dir)}\n")

    specs = [spec for spec in EXERCISES if spec["algo"] in args.algos]
    rows = []
    for spec in specs:
        if args.quick:
            spec = dict(spec, flags=dict(spec["flags"], **QUICK_FLAGS[spec["algo"]]))
        exp_name = exp_name_of(spec)
        for seed in args.seeds:
            print(f"Exercise {spec['exercise']}: {spec['algo']} on {spec['env']}, seed {seed}")
            command = cli_command(spec["algo"], spec["env"], seed, exp_name, invocation_dir, spec["flags"])
            print("  " + " ".join(command[1:]))
            name = f"{exp_name}_s{seed}"
            outcome = run_commands([dict(name=name, command=command,
                                         log=osp.join(invocation_dir, "logs", name + ".log"))],
                                   env=child_environment(args.torch_threads))[name]
            rows.append(summarise(spec, seed, run_dir_of(exp_name, seed, invocation_dir), outcome))
        if any(osp.exists(osp.join(run_dir_of(exp_name, s, invocation_dir), "progress.txt")) for s in args.seeds):
            plot_exercise(spec, osp.join(invocation_dir, exp_name), args.results_dir, args.quick)

    table = pd.DataFrame(rows)
    table["quick"] = args.quick
    table["torch_threads"] = args.torch_threads if args.torch_threads else "default"
    print("\nResults" + (" (QUICK: tiny runs, the bars are not expected to be met)" if args.quick else "") + ":")
    shown = [c for c in ["exercise", "algo", "env", "seed", "final", "best", "last5_mean", "met",
                         "wall_s", "train_s", "within_target_time"] if c in table.columns]
    print_table(table[shown])
    for (exercise, env), group in table.groupby(["exercise", "env"], sort=False):
        print(f"Exercise {exercise} on {env}: bar met in {int(group['met'].sum())}/{len(group)} seeds; "
              f"wall time {group['wall_s'].mean():.0f} s on average")
    print()
    write_csv(table, results_path("exercise_bars.csv", args.results_dir))
    write_json(dict(info, quick=args.quick, seeds=args.seeds, runs=invocation_dir),
               results_path("exercise_bars_machine.json", args.results_dir))
    failed = table[table["returncode"] != 0]
    return 1 if len(failed) else 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
