"""How often does the reference solution pass the learning checks of Exercises 1.2 and 1.3?

The exercises' learning checks (a graded test cell in solutions/ps1/exercise1_2_*.ipynb and
exercise1_3_*.ipynb) train with the student's code at a fixed budget and compare a score with a
bar. A correct solution that draws its random numbers in another order is, in effect, another
seed, so the bar must hold on (almost) every seed. This script runs the *reference solution's own
notebook code* (its set-up, answer and given cells, not its test cells) for many seeds, calls the
notebook's ``learning_check(seed)`` and ``learning_score(...)``, and reports the pass rate against
the notebook's ``CHECK['bar']`` at the full budget (``SPINUP_BUDGET=full``).

Runs go one after another in this process (wall times are reported, so they must not share the
cores: run it under ``flock /tmp/spinup_heavy.lock`` on a shared machine).

Usage::

    python benchmarks/exercise_pass_rates.py                        # both checks, seeds 0-19
    python benchmarks/exercise_pass_rates.py --exercises 1.2 --seeds 0 1 2
    python benchmarks/exercise_pass_rates.py --quick                # small budget: checks the script works
    python benchmarks/exercise_pass_rates.py --rescore              # no training: re-judge the saved scores
                                                                    # against the notebooks' current bars

Writes benchmarks/results/exercise_pass_rates.csv (one row per exercise and seed: score, pass,
wall and CPU seconds, the per-epoch curve), exercise_pass_rates_machine.json and one plot per
exercise, exercise_pass_rates_<exercise>.png (every seed's curve, the bar dashed).
"""
import argparse
import os
import os.path as osp
import sys
import time

import pandas as pd

from common import (REPO_ROOT, describe_machine, machine_info, main_guard, print_table, results_path,
                    save_figure, use_file_backend, write_csv, write_json)

NOTEBOOKS = {
    "1.2": osp.join(REPO_ROOT, "solutions", "ps1", "exercise1_2_ppo_gaussian_policy.ipynb"),
    "1.3": osp.join(REPO_ROOT, "solutions", "ps1", "exercise1_3_td3_losses.ipynb"),
}


def notebook_namespace(path):
    """Execute a solution notebook's code cells, except its test cells, in a fresh namespace."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__exercise__"}
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or nbgrader.get("grade") or not nbgrader:
            continue  # tests (graded) and the student's scratch cells (no nbgrader metadata)
        exec(compile(cell.source, f"{osp.basename(path)}:{nbgrader['grade_id']}", "exec"), namespace)
    return namespace


def curve_of(result):
    """The per-epoch numbers a learning check returns (PPO: a progress table; TD3: a list)."""
    if isinstance(result, pd.DataFrame):
        return [round(float(x), 1) for x in result["AverageEpRet"]]
    return [round(float(x), 1) for x in result]


def plot_curves(exercise, rows, bar, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for row in rows:
        ax.plot(range(1, len(row["curve"]) + 1), row["curve"], color="tab:green" if row["passed"] else "tab:red",
                alpha=0.6, linewidth=1)
    if bar is not None:
        ax.axhline(bar, color="black", linestyle="--", linewidth=1, label=f"bar {bar:g}")
        ax.legend(loc="upper left")
    passed = sum(r["passed"] for r in rows)
    ax.set(title=f"Exercise {exercise} learning check, reference solution: {passed}/{len(rows)} seeds pass",
           xlabel="epoch", ylabel="AverageEpRet" if exercise == "1.2" else "average test return")
    save_figure(fig, path)
    plt.close(fig)


def summarise(table, quick):
    print("\nResults" + (" (QUICK: small budget, no bar)" if quick else "") + ":")
    print_table(table[["exercise", "seed", "score", "bar", "passed", "wall_s", "cpu_s"]])
    for exercise, group in table.groupby("exercise"):
        print(f"Exercise {exercise}: {int(group.passed.sum())}/{len(group)} seeds pass; score min "
              f"{group.score.min():.1f}, median {group.score.median():.1f}; per run {group.wall_s.mean():.0f} s wall, "
              f"{group.cpu_s.mean():.0f} s CPU on average")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exercises", nargs="+", choices=sorted(NOTEBOOKS), default=sorted(NOTEBOOKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(20)))
    parser.add_argument("--quick", action="store_true", help="the small (CI) budget: checks that the script works")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    parser.add_argument("--rescore", action="store_true",
                        help="train nothing: read the saved CSV and judge its scores against the notebooks' "
                             "current bars (same budget; the scores are deterministic per seed)")
    return parser.parse_args(argv)


def bar_of(exercise):
    """The notebook's current learning-check bar at the full budget."""
    return notebook_namespace(NOTEBOOKS[exercise])["CHECK"]["bar"]


def rescore(args):
    import ast

    path = results_path("exercise_pass_rates.csv", args.results_dir)
    table = pd.read_csv(path, dtype={"exercise": str})
    table["curve"] = table["curve"].apply(ast.literal_eval)
    for exercise in table.exercise.unique():
        bar = bar_of(exercise)
        rows = table.exercise == exercise
        table.loc[rows, "bar"] = bar
        table.loc[rows, "passed"] = table.loc[rows, "score"] >= bar
        plot_curves(exercise, table[rows].to_dict("records"), bar,
                    results_path(f"exercise_pass_rates_{exercise.replace('.', '_')}.png", args.results_dir))
    return table


def main():
    args = parse_args()
    # The notebooks read their budget when their cells run: set it first.
    os.environ["SPINUP_BUDGET"] = "small" if args.quick else "full"
    use_file_backend()
    if args.rescore:
        table = rescore(args)
        summarise(table, args.quick)
        write_csv(table, results_path("exercise_pass_rates.csv", args.results_dir))
        return 0
    info = machine_info()
    print(describe_machine(info))

    rows = []
    for exercise in args.exercises:
        namespace = notebook_namespace(NOTEBOOKS[exercise])
        check, bar = namespace["CHECK"], namespace["CHECK"]["bar"]
        print(f"\nExercise {exercise}: {check}")
        exercise_rows = []
        for seed in args.seeds:
            wall, cpu = time.time(), time.process_time()
            result = namespace["learning_check"](seed=seed)
            wall, cpu = time.time() - wall, time.process_time() - cpu
            score = namespace["learning_score"](result)
            passed = bool(bar is None or score >= bar)
            row = dict(exercise=exercise, seed=seed, score=round(score, 2), bar=bar, passed=passed,
                       wall_s=round(wall, 1), cpu_s=round(cpu, 1), budget=str({k: v for k, v in check.items() if k != "bar"}),
                       curve=curve_of(result))
            print(f"  seed {seed}: score {score:.1f} ({'pass' if passed else 'FAIL'}), {wall:.0f} s wall, {cpu:.0f} s CPU")
            exercise_rows.append(row)
        plot_curves(exercise, exercise_rows, bar,
                    results_path(f"exercise_pass_rates_{exercise.replace('.', '_')}.png", args.results_dir))
        rows += exercise_rows

    table = pd.DataFrame(rows)
    summarise(table, args.quick)
    table["quick"] = args.quick
    write_csv(table, results_path("exercise_pass_rates.csv", args.results_dir))
    write_json(dict(info, quick=args.quick, seeds=args.seeds), results_path("exercise_pass_rates_machine.json",
                                                                             args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
