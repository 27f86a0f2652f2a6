"""Does a change that alters floating-point rounding leave learning the same? Old code against new.

A speed change can make the same seed give other numbers (a fused optimizer step rounds
differently); a run is then another sample of the same random process, not the same run. This
script compares the learning curves of runs of the old and the new code, same seeds, same
settings, at equal env steps: per epoch the mean and the range over seeds of each, and whether
the new mean lies inside the old code's range of seeds (and the other way round). Over the whole
curve it reports the share of epochs where it does, and the mean of the last 10 epochs with its
spread.

The runs are ordinary run folders, ``<runs>/<algo>_old/<algo>_old_s<seed>/progress.txt`` and the
same with ``_new`` (what ``python -m spinup_lib.run ALGO ... --exp_name ALGO_old --seed 0 1 2``
makes). ``--collect`` first copies their progress.txt files into the results folder (without any
path of the machine), so the comparison is recomputed from the repository alone.

Usage::

    python benchmarks/learning_comparison.py --collect /path/to/runs --algos sac td3
    python benchmarks/learning_comparison.py                     # from the committed copies

Writes benchmarks/results/learning_comparison/{<algo>_<code>/s<seed>/progress.txt, summary.csv,
per_epoch.csv, <algo>.png}.
"""
import argparse
import glob
import os
import os.path as osp
import re
import shutil
import sys

import numpy as np
import pandas as pd

from common import RESULTS_DIR, main_guard, print_table, save_figure, use_file_backend, write_csv
from spinup_lib.errors import UserError

OUT = osp.join(RESULTS_DIR, "learning_comparison")
CODES = ("old", "new")
SCORE = "AverageTestEpRet"


def collect(runs_dir, algos, out):
    """Copy every run's progress.txt into ``out/<algo>_<code>/s<seed>/``; return how many."""
    copied = 0
    for algo in algos:
        for code in CODES:
            name = f"{algo}_{code}"
            for path in glob.glob(osp.join(glob.escape(runs_dir), name, f"{name}_s*", "progress.txt")):
                seed = re.search(r"_s(\d+)$", osp.dirname(path)).group(1)
                target = osp.join(out, name, f"s{seed}")
                os.makedirs(target, exist_ok=True)
                shutil.copyfile(path, osp.join(target, "progress.txt"))
                copied += 1
    if not copied:
        raise UserError(f"no run folders like {runs_dir}/<algo>_old/<algo>_old_s<seed>/progress.txt: "
                        "give the --data_dir the runs were made in")
    return copied


def load(out, algo):
    """All runs of one algorithm as one DataFrame: code, seed, steps, score."""
    frames = []
    for code in CODES:
        for path in sorted(glob.glob(osp.join(out, f"{algo}_{code}", "s*", "progress.txt"))):
            table = pd.read_table(path)
            frames.append(pd.DataFrame(dict(code=code, seed=int(osp.basename(osp.dirname(path))[1:]),
                                            steps=table["TotalEnvInteracts"], score=table[SCORE])))
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["code"])
    missing = [code for code in CODES if code not in set(runs["code"])]
    if missing:
        raise UserError(f"no runs of {algo}'s {' and '.join(missing)} code under {out}: "
                        "collect them first (--collect RUNS_DIR)")
    return runs


def compare(runs):
    """Per epoch (equal steps, only those every run reached): mean, min, max over seeds of each code."""
    reached = runs.groupby(["code", "seed"])["steps"].max().min()
    runs = runs[runs["steps"] <= reached]
    stats = runs.groupby(["steps", "code"])["score"].agg(["mean", "min", "max", "count"]).unstack("code")
    per_epoch = pd.DataFrame({
        "steps": stats.index,
        **{f"{stat}_{code}": stats[(stat, code)].to_numpy() for stat in ("mean", "min", "max") for code in CODES},
    })
    per_epoch["new_inside_old_range"] = per_epoch["mean_new"].between(per_epoch["min_old"], per_epoch["max_old"])
    per_epoch["old_inside_new_range"] = per_epoch["mean_old"].between(per_epoch["min_new"], per_epoch["max_new"])
    last = runs[runs["steps"] > reached - 10 * (runs["steps"].diff().abs().median() or 1)]
    by_seed = last.groupby(["code", "seed"])["score"].mean()
    summary = dict(
        seeds_old=int(runs[runs.code == "old"]["seed"].nunique()),
        seeds_new=int(runs[runs.code == "new"]["seed"].nunique()),
        steps=int(reached),
        last10_mean_old=by_seed["old"].mean(), last10_std_old=by_seed["old"].std(),
        last10_mean_new=by_seed["new"].mean(), last10_std_new=by_seed["new"].std(),
        share_new_inside_old_range=per_epoch["new_inside_old_range"].mean(),
        share_old_inside_new_range=per_epoch["old_inside_new_range"].mean(),
    )
    return per_epoch, summary


def plot(per_epoch, algo, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for code, color in zip(CODES, ("tab:gray", "tab:blue")):
        ax.plot(per_epoch["steps"], per_epoch[f"mean_{code}"], color=color, label=f"{code} code (mean)")
        ax.fill_between(per_epoch["steps"], per_epoch[f"min_{code}"], per_epoch[f"max_{code}"], color=color,
                        alpha=0.2, label=f"{code} code (range of seeds)")
    ax.set_xlabel("env steps")
    ax.set_ylabel(SCORE)
    ax.set_title(f"{algo.upper()}: old and new code, same seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collect", metavar="RUNS_DIR", help="copy the runs' progress.txt files in first")
    parser.add_argument("--algos", nargs="+", default=["sac", "td3"])
    parser.add_argument("--out", default=OUT, help="results folder (default benchmarks/results/learning_comparison)")
    args = parser.parse_args()
    if args.collect:
        print(f"copied {collect(args.collect, args.algos, args.out)} progress files into {args.out}")
    use_file_backend()
    summaries, per_epochs = [], []
    for algo in args.algos:
        per_epoch, summary = compare(load(args.out, algo))
        summaries.append(dict(algo=algo, **summary))
        per_epochs.append(per_epoch.assign(algo=algo))
        plot(per_epoch, algo, osp.join(args.out, f"{algo}.png"))
    summary = pd.DataFrame(summaries)
    print_table(summary, float_format="{:.3f}".format)
    write_csv(summary, osp.join(args.out, "summary.csv"))
    write_csv(pd.concat(per_epochs, ignore_index=True), osp.join(args.out, "per_epoch.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main_guard(main))
