"""The MuJoCo benchmark grid: all six algorithms on HalfCheetah-v5, Hopper-v5 and Walker2d-v5, 3 seeds.

The plan (tasks, algorithms, seeds, epochs per algorithm and task, and why) is the committed file
``benchmarks/mujoco_grid.json``. Each (algo, env) is one command, launched as a researcher does,

    python -m spinup_lib.run ALGO --env ENV --seed 0 1 2 --epochs E --steps_per_epoch 4000 \\
        --exp_name ALGO_ENV --data_dir DIR --num_workers W

env by env, the algorithms in the plan's order; each run lands in ``DIR/ALGO_ENV/ALGO_ENV_s<seed>``.
The grid resumes: the same command again skips finished runs and continues the others from their
checkpoints, so it may span days on a small machine; runs committed as finished (below) are not run
again, so on a fresh machine it goes on from what the repository holds. Three modes:

* launch (default): run the commands, one after the other; ``--code REPO`` runs the library of
  another checkout (e.g. one frozen at a commit for the whole grid), ``--nice 19`` gives the runs
  only idle CPU. Each launch appends the code's git revision, the machine and the commands to
  ``DIR/mujoco_grid_launches.json``. ``--dry_run`` prints the commands; ``--record_only`` writes the
  launch record without running anything (for a grid started by hand with the same commands).
* ``--collect``: copy every run under ``DIR`` that logged an epoch (finished or not) into the
  repository, ``benchmarks/results/mujoco_grid/ALGO_ENV/s<seed>/`` (progress.txt as logged, config.json
  with every absolute path of the machine removed), add the folder's launch records to those committed
  (``launches.json``), then rebuild the
  tables and plots from those copies. A committed run is never replaced by a shorter one.
* ``--report``: rebuild the tables and plots from the committed copies only.

Usage::

    python benchmarks/mujoco_grid.py --data_dir ~/bench_data --num_workers 2      # the grid
    python benchmarks/mujoco_grid.py --collect --data_dir ~/bench_data            # into the repository
    python benchmarks/mujoco_grid.py --report

Writes to ``benchmarks/results/mujoco_grid/``: runs.csv (one row per run), status.csv (the plan:
finished, under way, not started), at_published_steps.csv and at_end.csv (against the original's
published curves, smoothed alike: see spinup_lib/notebook/bench.py), curves_<env>.png, and prints
an estimate of the time the grid still needs at the pace its runs have kept so far.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time


from common import (BENCHMARKS_DIR, REPO_ROOT, RESULTS_DIR, machine_info, main_guard, print_table, run_dir_of,
                    save_figure, shown_path, use_file_backend, write_csv)
from spinup_lib.errors import UserError
from spinup_lib.notebook.bench import (compare_at_end, compare_at_published_steps, grid_run_dir, grid_status,
                                       read_grid, read_reference)
from spinup_lib.notebook.bench_plots import plot_grid_figure

PLAN_FILE = osp.join(BENCHMARKS_DIR, "mujoco_grid.json")
GRID_RESULTS = osp.join(RESULTS_DIR, "mujoco_grid")
REFERENCE_DIR = osp.join(BENCHMARKS_DIR, "reference")
LAUNCHES = "mujoco_grid_launches.json"   # in the data folder
COLLECTED_LAUNCHES = "launches.json"     # its copy in the results folder
DATA_DIR_MARK = "<data_dir>"
PATH_REMOVED = "<path removed>"
# An absolute path inside a string: /x..., ~/..., C:\... or \\server..., at the start or after a space,
# quote, bracket, '=' or ','.
_ABSOLUTE = re.compile(r"""(?:^|(?<=[\s'"(\[=,]))(?:/|~[/\\]|[A-Za-z]:[\\/]|\\\\)[^\s'",;)\]]*""")


# ----------------------------------------------------------------------------------------------
# The plan and its commands
# ----------------------------------------------------------------------------------------------
def read_plan(path):
    """The grid's plan (see benchmarks/mujoco_grid.json), checked."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read the grid's plan {path}: {e}") from None
    for key in ("envs", "algos", "seeds", "steps_per_epoch", "epochs", "idle_minutes_per_run"):
        if key not in plan:
            raise UserError(f"the grid's plan {path} has no '{key}'")
    for algo in plan["algos"]:
        for env in plan["envs"]:
            if not isinstance(plan["epochs"].get(algo, {}).get(env), int):
                raise UserError(f"the grid's plan {path} gives no whole number of epochs for {algo} on {env}")
    return plan


def grid_commands(plan, data_dir, num_workers, python="python", skip=frozenset()):
    """(algo, env, command) of every command of the grid, in the order they run.

    ``skip``: (algo, env, seed) of runs to leave out (those committed as finished); a command whose
    seeds are all skipped is left out.
    """
    commands = []
    for env in plan["envs"]:
        for algo in plan["algos"]:
            name = f"{algo}_{env}"
            seeds = [seed for seed in plan["seeds"] if (algo, env, seed) not in skip]
            if not seeds:
                continue
            command = [python, "-m", "spinup_lib.run", algo, "--env", env, "--seed", *map(str, seeds),
                       "--epochs", str(plan["epochs"][algo][env]), "--steps_per_epoch", str(plan["steps_per_epoch"]),
                       "--exp_name", name, "--data_dir", data_dir, "--num_workers", str(num_workers)]
            commands.append((algo, env, command))
    return commands


def code_revision(code_dir):
    """(git revision, whether spinup_lib/ has uncommitted changes) of the checkout that runs; Nones if unknown."""
    try:
        head = subprocess.run(["git", "-C", code_dir, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "-C", code_dir, "status", "--porcelain", "--", "spinup_lib"],
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head.stdout.strip(), bool(status.stdout.strip())


def record_launch(plan, data_dir, code_dir, num_workers, nice, record_only):
    """Append this launch (revision, machine, commands with the data folder as <data_dir>) to the data folder."""
    revision, dirty = code_revision(code_dir)
    launch = dict(date=time.strftime("%Y-%m-%d %H:%M:%S"), revision=revision, uncommitted_changes=dirty,
                  recorded_only=record_only, num_workers=num_workers, nice=nice,
                  machine={key: value for key, value in machine_info().items() if key != "date"},
                  commands=[" ".join(command) for _, _, command in grid_commands(plan, DATA_DIR_MARK, num_workers)])
    path = osp.join(data_dir, LAUNCHES)
    launches = _read_json(path, default=[])
    launches.append(launch)
    os.makedirs(data_dir, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(launches, f, indent=2)
        f.write("\n")
    print(f"recorded this launch (revision {revision}{', with uncommitted changes' if dirty else ''}) "
          f"in {shown_path(path)}")


def launch(plan, args):
    data_dir, code_dir = osp.abspath(args.data_dir), osp.abspath(args.code)
    if not osp.isdir(osp.join(code_dir, "spinup_lib")):
        raise UserError(f"--code {args.code}: no spinup_lib/ there; give the root of a checkout of this repository")
    # A run committed as finished is a result already: on a fresh machine (an empty --data_dir) the
    # grid goes on from the committed runs instead of training them again.
    committed = read_grid(args.results_dir)[0] if osp.isdir(args.results_dir) else None
    skip = (frozenset() if committed is None else
            frozenset(zip(committed.algo[committed.finished], committed.env[committed.finished],
                          committed.seed[committed.finished])))
    commands = grid_commands(plan, data_dir, args.num_workers, python=sys.executable, skip=skip)
    if skip:
        print(f"{len(skip)} run(s) committed as finished in {shown_path(args.results_dir)}: not run again")
    if args.dry_run:
        for _, _, command in commands:
            print(" ".join(["python"] + command[1:]))
        return 0
    record_launch(plan, data_dir, code_dir, args.num_workers, args.nice, args.record_only)
    if args.record_only:
        return 0
    env = dict(os.environ, SPINUP_TORCH_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(p for p in (code_dir, os.environ.get("PYTHONPATH")) if p))
    lower_priority = (lambda: os.nice(args.nice)) if args.nice else None
    failed = []
    for algo, env_id, command in commands:
        print(f"\n=== {algo} on {env_id}: {' '.join(command[1:])}", flush=True)
        if subprocess.run(command, cwd=code_dir, env=env, preexec_fn=lower_priority).returncode != 0:
            print(f"GRID FAILED: {algo} {env_id}", flush=True)
            failed.append(f"{algo} {env_id}")
    print("\nGRID DONE" + (f", with failures: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


# ----------------------------------------------------------------------------------------------
# Collecting runs into the repository
# ----------------------------------------------------------------------------------------------
def _read_json(path, default=None):
    if not osp.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def remove_machine_paths(value, data_dir):
    """``value`` (JSON data) with the data folder written as <data_dir> and any other absolute path removed."""
    if isinstance(value, dict):
        return {remove_machine_paths(k, data_dir): remove_machine_paths(v, data_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [remove_machine_paths(v, data_dir) for v in value]
    if isinstance(value, str):
        value = value.replace(data_dir, DATA_DIR_MARK)
        return _ABSOLUTE.sub(PATH_REMOVED, value)
    return value


def complete_lines(path):
    """The lines of a progress.txt that the logger has finished writing (a running run may be mid-line)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    return [line for line in lines if line.endswith("\n")]


def collect(plan, data_dir, results_dir):
    """Copy every run of the plan found under ``data_dir`` into ``results_dir``; returns how many changed."""
    data_dir = osp.abspath(data_dir)
    if not osp.isdir(data_dir):
        raise UserError(f"--data_dir {data_dir}: no such folder; give the folder the grid writes its runs to")
    changed = 0
    for env in plan["envs"]:
        for algo in plan["algos"]:
            for seed in plan["seeds"]:
                source = run_dir_of(f"{algo}_{env}", seed, data_dir)
                progress_path, config_path = osp.join(source, "progress.txt"), osp.join(source, "config.json")
                if not (osp.isfile(progress_path) and osp.isfile(config_path)):
                    continue
                lines = complete_lines(progress_path)
                if len(lines) < 2:  # a header and no epoch yet
                    continue
                target = grid_run_dir(results_dir, algo, env, seed)
                kept_path = osp.join(target, "progress.txt")
                if osp.exists(kept_path):
                    kept = complete_lines(kept_path)
                    if kept == lines:
                        continue
                    if kept[0] != lines[0] or len(kept) > len(lines):
                        print(f"kept {shown_path(kept_path)} ({len(kept) - 1} epochs): the run in {source} "
                              f"has {len(lines) - 1} epochs{' and other columns' if kept[0] != lines[0] else ''}; "
                              "remove the committed copy first to replace it")
                        continue
                os.makedirs(target, exist_ok=True)
                with open(kept_path, "w", encoding="utf-8") as f:
                    f.writelines(lines)
                config = remove_machine_paths(_read_json(config_path), data_dir)
                with open(osp.join(target, "config.json"), "w", encoding="utf-8") as f:
                    json.dump(config, f, indent=4, sort_keys=True)
                    f.write("\n")
                print(f"collected {algo} {env} seed {seed}: {len(lines) - 1} epochs")
                changed += 1
    launches = _read_json(osp.join(data_dir, LAUNCHES))
    if launches is not None:
        # Added to the records already committed, never in their place: a grid that moved to another
        # machine (a fresh data folder) keeps the record of the launches that made its earlier runs.
        path = osp.join(results_dir, COLLECTED_LAUNCHES)
        records = _read_json(path, default=[])
        records += [r for r in remove_machine_paths(launches, data_dir) if r not in records]
        os.makedirs(results_dir, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=2)
            f.write("\n")
    else:
        print(f"note: {data_dir} has no {LAUNCHES} (no launch of this script recorded its code revision)")
    print(f"{changed} run(s) collected or updated in {shown_path(results_dir)}")
    return changed


# ----------------------------------------------------------------------------------------------
# Tables and plots, from the committed copies only
# ----------------------------------------------------------------------------------------------
def remaining_seconds(plan, runs):
    """Seconds of training the grid still needs: (at the pace its runs kept, by algo and env, else the same
    algorithm on another env; at the plan's idle-machine estimate for algorithms with no run yet).

    The pace is each run's ``Time`` per epoch, so it includes whatever else slowed the machine down.
    """
    pace = runs.assign(per_epoch=runs.train_s / runs.epochs)
    measured = estimated = 0.0
    for env in plan["envs"]:
        for algo in plan["algos"]:
            epochs = plan["epochs"][algo][env]
            per_epoch = None
            for candidates in ((pace.algo == algo) & (pace.env == env), pace.algo == algo):
                if candidates.any():
                    per_epoch = pace[candidates].per_epoch.mean()
                    break
            for seed in plan["seeds"]:
                mine = runs[(runs.algo == algo) & (runs.env == env) & (runs.seed == seed)]
                left = epochs - (int(mine.epochs.iloc[0]) if len(mine) else 0)
                if left <= 0:
                    continue
                if per_epoch is not None:
                    measured += left * per_epoch
                else:
                    estimated += left / epochs * plan["idle_minutes_per_run"][algo] * 60
    return measured, estimated


def report(plan, results_dir, reference_dir=REFERENCE_DIR):
    """Rebuild the tables and plots in ``results_dir`` from the runs committed there."""
    use_file_backend()
    import matplotlib.pyplot as plt

    runs, curves = read_grid(results_dir)
    if runs.empty:
        raise UserError(f"no run in {results_dir}: collect some first (--collect --data_dir DIR)")
    reference_curves, reference_std, _ = read_reference(reference_dir)
    status = grid_status(runs, plan)
    at_steps = compare_at_published_steps(runs, curves, reference_curves, reference_std)
    at_end = compare_at_end(runs, curves, reference_curves)
    print("\nThe grid (seeds finished, under way, not started):")
    print_table(status)
    print("\nAgainst the original at its published steps (both smoothed over its 11-epoch window):")
    print_table(at_steps, float_format="{:.2f}".format)
    write_csv(runs, osp.join(results_dir, "runs.csv"))
    write_csv(status, osp.join(results_dir, "status.csv"))
    write_csv(at_steps, osp.join(results_dir, "at_published_steps.csv"))
    write_csv(at_end, osp.join(results_dir, "at_end.csv"))
    for env in plan["envs"]:
        fig = plot_grid_figure(runs, curves, reference_curves, env, reference_std)
        if fig is not None:
            save_figure(fig, osp.join(results_dir, f"curves_{env}.png"))
            plt.close(fig)
    measured, estimated = remaining_seconds(plan, runs)
    print(f"\nThe grid still needs about {measured / 3600:.1f} h of training at the pace its runs kept so far "
          "(on this machine, under its load)"
          + (f", plus {estimated / 3600:.1f} h for the algorithms not started yet at the plan's idle-machine "
             "estimate" if estimated else "") + "; Python start-up and saving come on top.")


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--collect", action="store_true",
                      help="copy the runs under --data_dir into --results_dir, then rebuild tables and plots")
    mode.add_argument("--report", action="store_true", help="rebuild tables and plots from --results_dir only")
    mode.add_argument("--dry_run", action="store_true", help="print the grid's commands; run nothing")
    mode.add_argument("--record_only", action="store_true",
                      help="record a launch (revision, machine, commands) in --data_dir without running anything")
    parser.add_argument("--data_dir", help="the folder the grid's runs go to (launching, collecting)")
    parser.add_argument("--num_workers", type=int, default=1, help="runs at a time within each command (default 1)")
    parser.add_argument("--code", default=REPO_ROOT,
                        help="root of the checkout whose spinup_lib the runs use (default: this one)")
    parser.add_argument("--nice", type=int, default=0, help="run the grid at this niceness (e.g. 19: idle CPU only)")
    parser.add_argument("--plan", default=PLAN_FILE, help="the grid's plan (default benchmarks/mujoco_grid.json)")
    parser.add_argument("--results_dir", default=GRID_RESULTS,
                        help="where collected runs and results go (default benchmarks/results/mujoco_grid)")
    args = parser.parse_args(argv)
    if not args.report and not args.data_dir:
        parser.error("give --data_dir DIR (the folder of the grid's runs), or --report")
    if args.num_workers < 1:
        parser.error("--num_workers must be at least 1")
    if args.nice and not hasattr(os, "nice"):
        parser.error("--nice needs a POSIX system (Linux, macOS)")
    return args


def main():
    args = parse_args()
    plan = read_plan(args.plan)
    if args.collect:
        collect(plan, args.data_dir, args.results_dir)
        report(plan, args.results_dir)
        return 0
    if args.report:
        report(plan, args.results_dir)
        return 0
    return launch(plan, args)


if __name__ == "__main__":
    sys.exit(main_guard(main))
