"""Run the ps2 solution notebooks at their full budget, as a student does, and keep what they save.

Exercises 2.1 (TRPO on Hopper-v5 with and without value fitting) and 2.2 (DDPG on HalfCheetah-v5
with the library's and the notebook's actor-critic) each train six runs (3 seeds x 2 settings).
This script executes a copy of each source notebook in a temporary folder with
``SPINUP_BUDGET=full`` (and no ``CI``), one after another, then keeps the small result tables the
training cell saves (``results/<experiment>/<date>_<time>/progress.csv`` and ``run.json``: what a
student hands in), the notebook's plot, its wall time and the CPU time of its kernel. The rubrics of
the written answers quote these figures ("what a grader should expect").

Usage::

    python benchmarks/ps2_full_runs.py                         # both exercises (about 25 min of CPU)
    python benchmarks/ps2_full_runs.py --exercises 2.1

Writes benchmarks/results/ps2_full_runs/<experiment>/ (progress.csv, run.json, plot.png) and
ps2_full_runs.csv (one row per exercise: wall and kernel CPU seconds, last-epoch returns per setting).
"""
import argparse
import base64
import os
import os.path as osp
import resource
import shutil
import sys
import tempfile
import time

import pandas as pd

from common import REPO_ROOT, describe_machine, machine_info, main_guard, print_table, results_path, write_csv, write_json

NOTEBOOKS = {"2.1": ("exercise2_1_trpo_value_fitting", "ex2_1", "train_v_iters", "AverageEpRet"),
             "2.2": ("exercise2_2_ddpg_silent_bug", "ex2_2", "actor_critic", "AverageTestEpRet")}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_notebook(name, folder):
    """Execute solutions/ps2/<name>.ipynb in folder at the full budget; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    shutil.copy(osp.join(REPO_ROOT, "solutions", "ps2", name + ".ipynb"), folder)
    nb = nbformat.read(osp.join(folder, name + ".ipynb"), as_version=4)
    saved = {k: os.environ.get(k) for k in ("CI", "SPINUP_BUDGET", "NBGRADER_EXECUTION", "PYTHONPATH")}
    os.environ.pop("CI", None)
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ["SPINUP_BUDGET"] = "full"
    os.environ["PYTHONPATH"] = os.pathsep.join([REPO_ROOT] + ([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else []))
    try:   # the kernel inherits this environment
        NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb


def plot_of(nb, grade_id):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            for out in cell.get("outputs", []):
                if "image/png" in out.get("data", {}):
                    return base64.b64decode(out["data"]["image/png"])
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", nargs="+", choices=sorted(NOTEBOOKS), default=sorted(NOTEBOOKS))
    parser.add_argument("--results_dir", default=None)
    return parser.parse_args(argv)


def main():
    args = parse_args()
    info = machine_info()
    print(describe_machine(info))
    rows = []
    for exercise in args.exercises:
        name, experiment, setting, column = NOTEBOOKS[exercise]
        with tempfile.TemporaryDirectory() as folder:
            wall, cpu = time.time(), children_cpu_seconds()
            nb = run_notebook(name, folder)
            wall, cpu = time.time() - wall, children_cpu_seconds() - cpu
            (run,) = [osp.join(folder, "results", experiment, d) for d in os.listdir(osp.join(folder, "results", experiment))]
            keep = results_path(osp.join("ps2_full_runs", experiment), args.results_dir)
            if osp.exists(keep):
                shutil.rmtree(keep)
                print(f"replaced {keep}")
            shutil.copytree(run, keep)
            png = plot_of(nb, experiment + "_plot")
            if png:
                with open(osp.join(keep, "plot.png"), "wb") as f:
                    f.write(png)
        table = pd.read_csv(osp.join(keep, "progress.csv"))
        last = table.groupby([setting, "seed"])[column].last().unstack()
        print(f"\nExercise {exercise}: {column} of the last epoch\n{last.round(1)}")
        rows.append(dict(exercise=exercise, wall_s=round(wall), kernel_cpu_s=round(cpu),
                         **{f"last_{column}_{k}": " / ".join(f"{v:.0f}" for v in last.loc[k]) for k in last.index}))
    table = pd.DataFrame(rows)
    print_table(table)
    write_csv(table, results_path("ps2_full_runs.csv", args.results_dir))
    write_json(info, results_path("ps2_full_runs_machine.json", args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
