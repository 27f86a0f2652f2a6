"""How often do correct solutions pass the learning checks of Exercises 1.2 and 1.3, on one seed?

The exercises' learning checks (the graded cells ``ex1_2_learning_check`` and ``ex1_3_learning_check``
in solutions/ps1/) train with the student's code at a budget written in the cell and compare a
score with a bar, on seed 0 and, only when seed 0 misses, on seed 1. A correct solution that draws
its random numbers in another order is, in effect, another seed, so the single-seed pass rate p
must be high for every correct solution: a correct student then fails the check with probability
(1 - p)^2 (the two seeds' runs are independent draws). Mistakes that stop learning must still fail.

This script runs a *submission* (the reference solution, or the reference with some answer cells
replaced: the correct alternatives and learning mistakes of ``tests/exercise_submissions.py``): it
executes the notebook's set-up, answer and given cells, then the definitions of the learning-check
cell (everything above its "# The check itself" line), and calls its training function and
``learning_score`` for each seed, one seed at a time. The bar is the cell's ``BAR``.

Runs go one after another in this process; the scores are deterministic per seed (the CPU times
are the figures to compare on a shared machine).

Usage::

    python benchmarks/exercise_pass_rates.py                        # both checks, reference, seeds 0-39
    python benchmarks/exercise_pass_rates.py --exercises 1.2 --submissions reference alt1 alt2 --seeds 0 1 2
    python benchmarks/exercise_pass_rates.py --submissions log_prob_sign --seeds 0 1 2 3
    python benchmarks/exercise_pass_rates.py --quick                # tiny budget: checks the script works
    python benchmarks/exercise_pass_rates.py --rescore              # no training: re-judge the saved scores
                                                                    # against the notebooks' current bars

Writes benchmarks/results/exercise_pass_rates_<exercise>.csv (one row per submission and seed: score,
pass, wall and CPU seconds, the per-epoch curve; rows of earlier calls for other exercises,
submissions or seeds are kept), exercise_pass_rates_<exercises>_machine.json and one plot per exercise,
exercise_pass_rates_<exercise>.png (every run's curve, the bar dashed).
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


CHECK_CELLS = {"1.2": "ex1_2_learning_check", "1.3": "ex1_3_learning_check"}
CHECK_MARK = "# The check itself"
SUBMISSIONS_FILE = osp.join(REPO_ROOT, "tests", "exercise_submissions.py")


def submissions(exercise):
    """{name: {grade_id: answer source}} of the crafted submissions to an exercise; reference = {}."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("exercise_submissions", SUBMISSIONS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    suffix = exercise.replace(".", "_")
    return dict(reference={}, **getattr(module, f"ALTERNATIVES_{suffix}"),
                **getattr(module, f"LEARNING_MISTAKES_{suffix}"), **getattr(module, f"STILL_LEARNING_{suffix}"))


def notebook_namespace(exercise, answers=None):
    """Run a solution notebook's set-up, answer and given cells (answers replaced by grade_id), then
    the definitions of its learning-check cell, in a fresh namespace; return the namespace."""
    import nbformat

    path = NOTEBOOKS[exercise]
    answers = dict(answers or {})
    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__main__"}  # as in a kernel: the check looks at where classes were defined
    check_source = None
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not nbgrader:
            continue  # the student's scratch cells (no nbgrader metadata)
        grade_id = nbgrader["grade_id"]
        if grade_id == CHECK_CELLS[exercise]:
            check_source = cell.source
        if nbgrader.get("grade"):
            continue  # tests
        source = answers.pop(grade_id, cell.source)
        exec(compile(source, f"{osp.basename(path)}:{grade_id}", "exec"), namespace)
    assert not answers, f"no such answer cells in {path}: {sorted(answers)}"
    assert check_source and CHECK_MARK in check_source, f"{path}: no learning-check cell with a {CHECK_MARK!r} line"
    definitions = check_source.split(CHECK_MARK)[0]
    exec(compile(definitions, f"{osp.basename(path)}:{CHECK_CELLS[exercise]}", "exec"), namespace)
    return namespace


def run_once(exercise, namespace, seed, quick):
    """One training run of the check on one seed; returns its result (a table or a list)."""
    if exercise == "1.2":
        small = dict(epochs=2, steps_per_epoch=300) if quick else {}
        return namespace["ppo_with_your_policy"](seed, **small)
    small = dict(epochs=2, steps_per_epoch=300, start_steps=200, update_after=100, num_test_episodes=2) if quick else {}
    return namespace["run_td3"](seed=seed, **small)


def curve_of(result):
    """The per-epoch numbers a learning check returns (PPO: a progress table; TD3: a list)."""
    if isinstance(result, pd.DataFrame):
        return [round(float(x), 1) for x in result["AverageEpRet"]]
    return [round(float(x), 1) for x in result]


def plot_curves(exercise, rows, bar, path):
    """Every run's curve, one panel per submission; green passes the bar, red misses it."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(row["submission"] for row in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.8), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        mine = [row for row in rows if row["submission"] == name]
        for row in mine:
            ax.plot(range(1, len(row["curve"]) + 1), row["curve"], color="tab:green" if row["passed"] else "tab:red",
                    alpha=0.5, linewidth=1)
        if bar is not None:
            ax.axhline(bar, color="black", linestyle="--", linewidth=1, label=f"bar {bar:g}")
            ax.legend(loc="upper left")
        passed = sum(bool(r["passed"]) for r in mine)
        ax.set(title=f"{name}: {passed}/{len(mine)} seeds pass", xlabel="epoch")
    axes[0][0].set_ylabel("AverageEpRet" if exercise == "1.2" else "average test return")
    fig.suptitle(f"Exercise {exercise} learning check, one seed per run")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def miss_rate_upper_bound(misses, runs, confidence=0.95):
    """One-sided upper confidence bound (Clopper-Pearson) of a miss rate seen `misses` times in `runs`."""
    from scipy.stats import beta

    return 1.0 if misses >= runs else float(beta.ppf(confidence, misses + 1, runs - misses))


def summarise(table, quick):
    """Per exercise and submission: the single-seed pass rate p, and (1 - p)^2, the rate at which the
    two-seed check (seed 1 only when seed 0 misses) fails it; for the correct solutions pooled too.
    The 95% upper bounds say how far 40 seeds pin these rates down."""
    print("\nResults" + (" (QUICK: tiny budget)" if quick else "") + ":")
    correct = ["reference", *[name for name in table.submission.unique() if name.startswith("alt")]]
    groups = list(table.groupby(["exercise", "submission"], sort=False))
    groups += [((exercise, "correct solutions pooled"), group[group.submission.isin(correct)])
               for exercise, group in table.groupby("exercise", sort=False)]
    for (exercise, name), group in groups:
        runs, passes = len(group), int(group.passed.sum())
        p, q_high = passes / runs, miss_rate_upper_bound(runs - passes, runs)
        print(f"Exercise {exercise}, {name}: {passes}/{runs} seeds pass (p = {p:.3f}; the two-seed check "
              f"fails it with (1 - p)^2 = {(1 - p) ** 2:.4f}, 95% upper bound {q_high ** 2:.4f}); score min "
              f"{group.score.min():.1f}, median {group.score.median():.1f}, max {group.score.max():.1f}; per run "
              f"{group.wall_s.mean():.0f} s wall, {group.cpu_s.mean():.0f} s CPU on average")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exercises", nargs="+", choices=sorted(NOTEBOOKS), default=sorted(NOTEBOOKS))
    parser.add_argument("--submissions", nargs="+", default=["reference"],
                        help="reference, or names from tests/exercise_submissions.py (alt1, alt2, log_prob_sign...)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(40)))
    parser.add_argument("--quick", action="store_true", help="a tiny budget: checks that the script works")
    parser.add_argument("--results_dir", default=None, help="where to write results (default benchmarks/results)")
    parser.add_argument("--rescore", action="store_true",
                        help="train nothing: read the saved CSV and judge its scores against the notebooks' "
                             "current bars (same budget; the scores are deterministic per seed)")
    return parser.parse_args(argv)


def bar_of(exercise):
    """The bar written in the notebook's learning-check cell."""
    return notebook_namespace(exercise)["BAR"]


def rescore(args):
    tables = []
    for exercise in args.exercises:
        table = read_results(csv_of(exercise, args.results_dir))
        bar = bar_of(exercise)
        table["bar"] = bar
        table["passed"] = table["score"] >= bar
        plot_curves(exercise, table.to_dict("records"), bar,
                    results_path(f"exercise_pass_rates_{exercise.replace('.', '_')}.png", args.results_dir))
        write_csv(table, csv_of(exercise, args.results_dir))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def read_results(path):
    import ast

    table = pd.read_csv(path, dtype={"exercise": str})
    table["curve"] = table["curve"].apply(ast.literal_eval)
    return table


def main():
    args = parse_args()
    use_file_backend()
    if args.rescore:
        summarise(rescore(args), args.quick)
        return 0
    info = machine_info()
    print(describe_machine(info))
    for exercise in args.exercises:
        csv_path = csv_of(exercise, args.results_dir)
        rows = []
        known = submissions(exercise)
        for name in args.submissions:
            if name not in known:
                print(f"Exercise {exercise}: no submission {name!r} (known: {', '.join(known)}); skipped")
                continue
            namespace = notebook_namespace(exercise, known[name])
            bar = namespace["BAR"]
            print(f"\nExercise {exercise}, {name}: bar {bar}")
            for seed in args.seeds:
                wall, cpu = time.time(), time.process_time()
                result = run_once(exercise, namespace, seed, args.quick)
                wall, cpu = time.time() - wall, time.process_time() - cpu
                score = namespace["learning_score"](result)
                passed = bool(score >= bar)
                rows.append(dict(exercise=exercise, submission=name, seed=seed, score=round(score, 2), bar=bar,
                                 passed=passed, wall_s=round(wall, 1), cpu_s=round(cpu, 1), quick=args.quick,
                                 curve=curve_of(result)))
                print(f"  seed {seed}: score {score:.1f} ({'pass' if passed else 'FAIL'}), {wall:.0f} s wall, "
                      f"{cpu:.0f} s CPU")
                # after every run, so that a long measurement interrupted keeps what it measured
                write_csv(merged(csv_path, rows), csv_path)

        table = merged(csv_path, rows)
        summarise(table, args.quick)
        plot_curves(exercise, table.to_dict("records"), table.bar.iloc[-1],
                    results_path(f"exercise_pass_rates_{exercise.replace('.', '_')}.png", args.results_dir))
    write_json(dict(info, quick=args.quick, seeds=args.seeds, submissions=args.submissions),
               results_path(f"exercise_pass_rates_{'_'.join(e.replace('.', '_') for e in args.exercises)}_machine.json",
                            args.results_dir))
    return 0


def csv_of(exercise, results_dir):
    """One results file per exercise, so that two exercises can be measured by two processes at once."""
    return results_path(f"exercise_pass_rates_{exercise.replace('.', '_')}.csv", results_dir)


def merged(csv_path, rows):
    """The saved rows of other (exercise, submission, seed) runs, then this call's rows."""
    new = pd.DataFrame(rows)
    if not osp.exists(csv_path):
        return new
    old = read_results(csv_path)
    if "submission" not in old.columns:  # rows of the earlier version of this script: not comparable
        return new
    if new.empty:
        return old
    keys = set(zip(new.exercise, new.submission, new.seed))
    old = old[[key not in keys for key in zip(old.exercise, old.submission, old.seed)]]
    return pd.concat([old, new], ignore_index=True)


if __name__ == "__main__":
    sys.exit(main_guard(main))
