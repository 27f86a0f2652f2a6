"""Reading the benchmark grid's committed runs, and setting them beside published curves.

``benchmarks/mujoco_grid.py --collect`` copies every run of the MuJoCo grid into the repository as

    benchmarks/results/mujoco_grid/<algo>_<env>/s<seed>/progress.txt   (as the logger wrote it)
    benchmarks/results/mujoco_grid/<algo>_<env>/s<seed>/config.json    (machine paths removed)

and chapter 13 and the script's own tables and plots are computed from those files with the
functions here, so that both say the same thing. The published curves they are compared with
(``benchmarks/reference/``) are smoothed the original's way: a centred moving average over 11
epochs, which span 40k steps end to end for the on-policy algorithms (epochs of 4000 steps) and 100k
steps for the off-policy ones (one test every 10k steps): half-windows of 20k and 50k steps.
:func:`smoothed_at` applies the same window, in steps, to our runs. The figures are drawn by
:mod:`spinup_lib.notebook.bench_plots`.
"""
import json
import os
import os.path as osp
import re

import numpy as np
import pandas as pd

from spinup_lib.errors import UserError

__all__ = ["ALGOS", "ON_POLICY", "OFF_POLICY", "ORIGINAL_SMOOTHING_EPOCHS", "ORIGINAL_EPOCH_STEPS",
           "READING_ERROR", "READING_ERROR_ELSEWHERE", "grid_run_dir", "find_grid_runs", "read_grid", "grid_status",
           "original_half_window", "smoothed_at", "smoothed_curve", "whole_window", "read_reference", "reference_at",
           "reference_shape", "bend_reading_error", "whole_window_points", "log_interval_of", "cut_window_shortfall",
           "untrained_score", "untrained_score_error", "welch_interval",
           "compare_at_published_steps", "compare_at_end", "last_episodes_mean"]

ON_POLICY = ("vpg", "trpo", "ppo")
OFF_POLICY = ("ddpg", "td3", "sac")
ALGOS = ON_POLICY + OFF_POLICY
#: The original's benchmark page: "Learning curves are smoothed by averaging over a window of 11 epochs".
ORIGINAL_SMOOTHING_EPOCHS = 11
#: Steps between two points of the original's curves: an on-policy epoch, an off-policy test.
ORIGINAL_EPOCH_STEPS = {"on_policy": 4000, "off_policy": 10000}
# The score of a run: deterministic test episodes where logged (off-policy), else training episodes.
SCORE_COLUMNS = ("AverageTestEpRet", "AverageEpRet")
_RUN_FOLDER = re.compile(r"^(?P<algo>[a-z0-9]+)_(?P<env>.+)$")
_SEED_FOLDER = re.compile(r"^s(?P<seed>-?\d+)$")


def _kind(algo):
    return "on_policy" if algo in ON_POLICY else "off_policy"


# ----------------------------------------------------------------------------------------------
# The committed runs
# ----------------------------------------------------------------------------------------------
def grid_run_dir(results_dir, algo, env, seed):
    """Where the grid's run of ``algo`` on ``env`` with ``seed`` is kept: ``<results_dir>/<algo>_<env>/s<seed>``."""
    return osp.join(results_dir, f"{algo}_{env}", f"s{seed}")


def find_grid_runs(results_dir):
    """(algo, env, seed, folder) of every committed run under ``results_dir`` with a progress.txt, sorted."""
    if not osp.isdir(results_dir):
        raise UserError(f"{results_dir} is not a folder: give the folder of the committed grid runs "
                        "(benchmarks/results/mujoco_grid)")
    found = []
    for name in sorted(os.listdir(results_dir)):
        match = _RUN_FOLDER.match(name)
        if not match or match["algo"] not in ALGOS or not osp.isdir(osp.join(results_dir, name)):
            continue
        for seed_name in sorted(os.listdir(osp.join(results_dir, name))):
            seed = _SEED_FOLDER.match(seed_name)
            folder = osp.join(results_dir, name, seed_name)
            if seed and osp.isfile(osp.join(folder, "progress.txt")):
                found.append((match["algo"], match["env"], int(seed["seed"]), folder))
    return sorted(found, key=lambda r: (r[1], ALGOS.index(r[0]), r[2]))


def read_grid(results_dir):
    """Every committed run of the grid: one row per run, and one row per epoch of every run.

    Returns:
        (runs, curves): ``runs`` has algo, env, seed, epochs (logged), epochs_asked (its
        config.json's ``epochs``), finished (all asked epochs logged), steps (its last
        TotalEnvInteracts), final (its last epoch's score), score_column and train_s (its last
        ``Time``: training seconds, on whatever else the machine was doing). ``curves`` has algo,
        env, seed, epoch, steps, score and ep_len (the average training episode length of the epoch).
    """
    runs, curves = [], []
    for algo, env, seed, folder in find_grid_runs(results_dir):
        progress = pd.read_table(osp.join(folder, "progress.txt"))
        if progress.empty:
            continue
        column = next((c for c in SCORE_COLUMNS if c in progress.columns), None)
        if column is None:
            raise UserError(f"{folder}/progress.txt has none of the columns {', '.join(SCORE_COLUMNS)}")
        with open(osp.join(folder, "config.json"), encoding="utf-8") as f:
            epochs_asked = int(json.load(f)["epochs"])
        runs.append(dict(algo=algo, env=env, seed=seed, epochs=len(progress), epochs_asked=epochs_asked,
                         finished=len(progress) >= epochs_asked,
                         steps=int(progress["TotalEnvInteracts"].iloc[-1]), final=float(progress[column].iloc[-1]),
                         score_column=column, train_s=float(progress["Time"].iloc[-1])))
        curves.append(pd.DataFrame(dict(algo=algo, env=env, seed=seed, epoch=progress["Epoch"],
                                        steps=progress["TotalEnvInteracts"], score=progress[column],
                                        ep_len=progress.get("EpLen", np.nan))))
    run_columns = ["algo", "env", "seed", "epochs", "epochs_asked", "finished", "steps", "final",
                   "score_column", "train_s"]
    curve_columns = ["algo", "env", "seed", "epoch", "steps", "score", "ep_len"]
    # Typed even when empty, so that ``runs[runs.finished]`` filters rows rather than selecting columns.
    return (pd.DataFrame(runs, columns=run_columns).astype({"finished": bool}),
            pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=curve_columns))


def grid_status(runs, budgets):
    """Which runs of the planned grid are finished, under way, or not started.

    Args:
        runs: the first table of :func:`read_grid`.
        budgets: the grid's plan (``benchmarks/mujoco_grid.json``): ``envs``, ``algos``, ``seeds``,
            ``epochs[algo][env]``.

    Returns:
        A DataFrame, one row per planned (algo, env): seeds finished, under way (partial) and not
        started, epochs asked, and the steps each finished run took.
    """
    rows = []
    for env in budgets["envs"]:
        for algo in budgets["algos"]:
            mine = runs[(runs.algo == algo) & (runs.env == env)]
            done = mine[mine.finished]
            partial = mine[~mine.finished]
            rows.append(dict(env=env, algo=algo, epochs_asked=budgets["epochs"][algo][env],
                             steps_asked=budgets["epochs"][algo][env] * budgets["steps_per_epoch"],
                             finished=" ".join(str(s) for s in done.seed),
                             under_way=" ".join(f"{s} ({e}/{a} epochs)" for s, e, a in
                                                zip(partial.seed, partial.epochs, partial.epochs_asked)),
                             not_started=" ".join(str(s) for s in budgets["seeds"] if s not in set(mine.seed))))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Smoothing the original's way
# ----------------------------------------------------------------------------------------------
def original_half_window(algo):
    """Half the width, in env steps, of the original's 11-epoch centred smoothing window for ``algo``."""
    return (ORIGINAL_SMOOTHING_EPOCHS - 1) // 2 * ORIGINAL_EPOCH_STEPS[_kind(algo)]


def _reaches(last_step, end, log_interval):
    """Whether a run that logged up to ``last_step`` every ``log_interval`` steps has logged every step it ever
    could up to ``end``: its next log would fall beyond ``end``. Without ``log_interval``, ``last_step >= end``."""
    return last_step + log_interval > end if log_interval else last_step >= end


def log_interval_of(steps):
    """The steps between a run's logs (its epoch length): the smallest gap between logged steps, None for fewer
    than two."""
    steps = np.unique(np.asarray(steps, dtype=float))
    return float(np.diff(steps).min()) if len(steps) > 1 else None


def smoothed_at(steps, scores, at, half_window, log_interval="infer"):
    """The mean of the scores logged within ``half_window`` steps of ``at``, and whether the run
    reaches the window's right end.

    A centred moving average cut at the run's ends, like the original's plots (whose edges are
    cut the same way): at a run's last epoch only the left half of the window exists, and the
    value is then a trailing mean, lower than a centred one while the curve still rises.

    Args:
        log_interval: the steps between the run's logs; "infer" (default) takes it from ``steps``
            (:func:`log_interval_of`), None treats any step as one the run could have logged.

    Returns:
        (value, full): ``value`` is NaN when no score lies in the window; ``full`` is True when
        the run logged every step it could up to ``at + half_window``: a run logged every 4000
        steps that ends at 148k has its whole window at 100k (its next log, 152k, lies beyond 150k).
    """
    steps = np.asarray(steps, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if isinstance(log_interval, str):
        log_interval = log_interval_of(steps)
    inside = (np.abs(steps - at) <= half_window) & np.isfinite(scores)
    value = float(scores[inside].mean()) if inside.any() else float("nan")
    return value, bool(len(steps) and _reaches(steps.max(), at + half_window, log_interval))


def smoothed_curve(steps, scores, half_window):
    """:func:`smoothed_at` at every logged step: the whole curve smoothed the original's way."""
    # Only the values: no log interval to infer at every step for a completeness flag nobody reads here.
    return np.array([smoothed_at(steps, scores, at, half_window, log_interval=None)[0]
                     for at in np.asarray(steps, dtype=float)])


def whole_window(steps, last_step, half_window, log_interval=None):
    """Where the centred window of :func:`smoothed_at` lies whole inside a run that logged up to ``last_step``
    every ``log_interval`` steps: True at each of ``steps`` with ``step >= half_window`` whose window's right end
    the run reaches (``step + half_window < last_step + log_interval``; without ``log_interval``,
    ``step <= last_step - half_window``). Elsewhere the window is cut (a leading mean near the start, a trailing
    one near the end), and a rising curve reads too high at the start and too low at the end."""
    steps = np.asarray(steps, dtype=float)
    return (steps >= half_window) & _reaches(last_step, steps + half_window, log_interval)


# ----------------------------------------------------------------------------------------------
# The published references
# ----------------------------------------------------------------------------------------------
def read_reference(reference_dir):
    """The published figures in ``benchmarks/reference/``: (curves, std, cleanrl) DataFrames."""
    return tuple(pd.read_csv(osp.join(reference_dir, name)) for name in
                 ("spinningup_pytorch_curves.csv", "spinningup_pytorch_std.csv", "cleanrl_v4_1m.csv"))


def _env_name(env):
    """'Hopper-v5' -> 'Hopper': the references name tasks without their version."""
    return env.split("-")[0]


def _reference_curve(curves, env, algo):
    curve = curves[(curves.env == _env_name(env)) & (curves.algo == algo)].sort_values("steps")
    return curve.steps.to_numpy(dtype=float), curve["return"].to_numpy(dtype=float)


def reference_at(curves, env, algo, steps):
    """The original's published mean return at ``steps``, by straight lines between its published
    points (NaN where it published no curve for ``algo`` on ``env``, e.g. TRPO in PyTorch)."""
    x, y = _reference_curve(curves, env, algo)
    return float(np.interp(steps, x, y)) if len(x) else float("nan")


#: How far off the published points were read, in return (benchmarks/reference/README.md: "reading error up to
#: ~15 on HalfCheetah, ~3 elsewhere").
READING_ERROR = {"HalfCheetah": 15.0}
READING_ERROR_ELSEWHERE = 3.0


def bend_reading_error(reading_error, k):
    """How far off the departure D = y2 - (1 + k) y1 + k y0 of a stretch's end from the line of the stretch
    before can be read, when each of the three points is read to within ``reading_error`` independently and
    ``k`` is the ratio of the two stretches' lengths: the root-sum-square ``e * sqrt(1 + (1 + k)**2 + k**2)``."""
    return reading_error * float(np.sqrt(1 + (1 + k) ** 2 + k ** 2))


def reference_shape(curves, env, algo, steps, reading_error=0.0):
    """Whether the published curve bends up or down around the stretch that holds ``steps``.

    Returns 'published' when ``steps`` is one of the published points (nothing is interpolated),
    'convex' when the stretch between the two published points around ``steps`` is steeper than
    the stretch before it (the curve bends up at the stretch's start: a straight line between the
    points probably lies above it, so an interpolated value is too high), 'concave' when it is less
    steep (too low), 'undetermined' when the stretch's end departs from the line of the stretch
    before by no more than the error of that departure when each point is read to within
    ``reading_error`` (:func:`bend_reading_error`: a tie, or a bend within the error of reading the
    three points off a plot), and '' when there is no curve or no stretch before.
    """
    x, y = _reference_curve(curves, env, algo)
    if not len(x):
        return ""
    if np.isclose(x, steps).any():
        return "published"
    right = int(np.searchsorted(x, steps))
    if right < 2 or right >= len(x):
        return ""
    slope = (y[right] - y[right - 1]) / (x[right] - x[right - 1])
    before = (y[right - 1] - y[right - 2]) / (x[right - 1] - x[right - 2])
    k = (x[right] - x[right - 1]) / (x[right - 1] - x[right - 2])
    if abs(slope - before) * (x[right] - x[right - 1]) <= bend_reading_error(reading_error, k):
        return "undetermined"
    return "convex" if slope > before else "concave"


def whole_window_points(curves, env, algo, steps, log_interval=None):
    """The original's published points for ``algo`` on ``env`` that a run of ``steps`` steps, logged every
    ``log_interval`` steps, can be compared at with a whole smoothing window (:func:`whole_window`), as a list of
    ints (empty if none or no curve)."""
    x, _ = _reference_curve(curves, env, algo)
    return [int(at) for at in x[whole_window(x, steps, original_half_window(algo), log_interval)]]


def cut_window_shortfall(curves, env, algo, at, end, log_interval=None):
    """How much lower than its value at ``at`` the original's own curve would read if its smoothing window were
    cut where a run that ends at ``end`` cuts ours: the published value at ``at`` minus the mean of the published
    curve (straight lines between its points) over ``[at - h, end]``. 0 when the window is whole
    (the run, logged every ``log_interval`` steps, reaches ``at + h``: see :func:`whole_window`), NaN without a
    curve. On a curve that rises at slope r, r * (at + h - end) / 2. It reads the original between its published
    points, on straight lines: an approximation, which errs where the curve bends (see :func:`reference_shape`)."""
    h = original_half_window(algo)
    if _reaches(end, at + h, log_interval):
        return 0.0
    x, y = _reference_curve(curves, env, algo)
    if not len(x):
        return float("nan")
    grid = np.linspace(max(at - h, 0), end, 201)
    return float(np.interp(at, x, y) - np.interp(grid, x, y).mean())


def welch_interval(mean_a, std_a, n_a, mean_b, std_b, n_b, confidence=0.95):
    """Welch's confidence interval for the difference of two means, mean_a - mean_b, from each sample's mean,
    standard deviation (ddof=1) and size; it does not assume the two spreads are equal.

    Returns:
        (low, high, df): the interval and the Welch-Satterthwaite degrees of freedom (NaN when either sample
        has fewer than two members or no standard deviation).
    """
    from scipy import stats

    if n_a < 2 or n_b < 2 or not (np.isfinite(std_a) and np.isfinite(std_b)):
        return float("nan"), float("nan"), float("nan")
    va, vb = std_a ** 2 / n_a, std_b ** 2 / n_b
    se = np.sqrt(va + vb)
    if se == 0:
        return float(mean_a - mean_b), float(mean_a - mean_b), float("inf")
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return float(mean_a - mean_b - half), float(mean_a - mean_b + half), float(df)


def _reference_std(std, env, algo, steps):
    match = std[(std.env == _env_name(env)) & (std.algo == algo) & np.isclose(std.steps, steps)]
    return float(match["std"].iloc[0]) if len(match) else float("nan")


def _seed_values(curves, runs, algo, env, at):
    """Each finished seed's score smoothed the original's way at ``at``, and whether every window was full."""
    values, full = [], True
    for seed in runs[(runs.algo == algo) & (runs.env == env) & runs.finished].seed:
        curve = curves[(curves.algo == algo) & (curves.env == env) & (curves.seed == seed)]
        value, whole = smoothed_at(curve.steps, curve.score, at, original_half_window(algo))
        values.append(value)
        full = full and whole
    return np.array(values), full


def _first_scores(runs, curves, algo, env):
    """The first epoch's score of each finished run of ``algo`` on ``env``."""
    seeds = runs[(runs.algo == algo) & (runs.env == env) & runs.finished].seed
    mine = curves[(curves.algo == algo) & (curves.env == env) & curves.seed.isin(seeds)]
    return mine.sort_values("steps").groupby("seed").score.first()


def untrained_score(runs, curves, algo, env):
    """R0: the mean over the finished runs of ``algo`` on ``env`` of their first epoch's score, what a barely
    trained policy scores (NaN without a finished run)."""
    first = _first_scores(runs, curves, algo, env)
    return float(first.mean()) if len(first) else float("nan")


def untrained_score_error(runs, curves, algo, env):
    """The standard error of R0 (:func:`untrained_score`) over its seeds (0 with one seed: unknown, not small)."""
    first = _first_scores(runs, curves, algo, env)
    return float(first.std(ddof=1) / np.sqrt(len(first))) if len(first) > 1 else 0.0


def compare_at_published_steps(runs, curves, reference_curves, reference_std):
    """Our finished runs against the original at every published step they reach.

    Both sides are smoothed the same way (the original's window, in steps); no interpolation is
    needed since the steps are the original's own points. One row per (algo, env, published step
    <= the shortest finished run's last step): ours (mean over seeds), ours_std (sample std, NaN for
    one seed), seeds, full_window (every seed's window complete; False means a trailing window at
    the run's end), original, original_std (where the band's width was read, else NaN), difference
    (ours - original), ratio (ours / original, where the original is positive), untrained (R0, see
    :func:`untrained_score`) and gain_ratio ((ours - R0) / (original - R0): the share of the original's gain
    over R0 that ours made, where that gain is larger than the error of reading the original's point off its
    plot, :data:`READING_ERROR`, plus twice R0's standard error over seeds; NaN elsewhere, where it would divide
    by noise).
    """
    rows = []
    for (algo, env), group in runs[runs.finished].groupby(["algo", "env"], sort=False):
        x, _ = _reference_curve(reference_curves, env, algo)
        r0 = untrained_score(runs, curves, algo, env)
        noise = READING_ERROR.get(_env_name(env), READING_ERROR_ELSEWHERE) + 2 * untrained_score_error(
            runs, curves, algo, env)     # a smaller gain over R0 may be only the errors of its two ends
        for at in x[x <= group.steps.min()]:
            values, full = _seed_values(curves, runs, algo, env, at)
            original = reference_at(reference_curves, env, algo, at)
            rows.append(dict(algo=algo, env=env, steps=int(at), seeds=len(values), ours=values.mean(),
                             ours_std=values.std(ddof=1) if len(values) > 1 else float("nan"),
                             full_window=full, original=original,
                             original_std=_reference_std(reference_std, env, algo, at),
                             difference=values.mean() - original,
                             ratio=values.mean() / original if original > 0 else float("nan"),
                             untrained=r0, gain_ratio=(values.mean() - r0) / (original - r0)
                             if original - r0 > noise else float("nan")))
    return pd.DataFrame(rows, columns=["algo", "env", "steps", "seeds", "ours", "ours_std", "full_window",
                                       "original", "original_std", "difference", "ratio", "untrained",
                                       "gain_ratio"]).astype({"full_window": bool})


def compare_at_end(runs, curves, reference_curves):
    """Our finished runs at their last step against the original interpolated there.

    One row per (algo, env): steps (the shortest finished run's last step), seeds, final (the last
    epoch's score, mean over seeds), ours (smoothed the original's way: a trailing window there),
    original (interpolated), shape (:func:`reference_shape`: which way the interpolation errs) and
    ratio (ours / original).
    """
    rows = []
    for (algo, env), group in runs[runs.finished].groupby(["algo", "env"], sort=False):
        at = int(group.steps.min())
        values, _ = _seed_values(curves, runs, algo, env, at)
        original = reference_at(reference_curves, env, algo, at)
        rows.append(dict(algo=algo, env=env, steps=at, seeds=len(values), final=group.final.mean(), ours=values.mean(),
                         original=original, shape=reference_shape(reference_curves, env, algo, at),
                         ratio=values.mean() / original if original > 0 else float("nan")))
    return pd.DataFrame(rows, columns=["algo", "env", "steps", "seeds", "final", "ours", "original", "shape", "ratio"])


def last_episodes_mean(curve, episodes=100, steps_per_epoch=4000):
    """The mean return of about the last ``episodes`` training episodes of an on-policy run.

    CleanRL's tables report this; progress.txt holds each epoch's mean return and mean episode
    length, so an epoch counts for ``steps_per_epoch / ep_len`` episodes (the episode cut at the
    epoch's end is not logged, hence "about"). Epochs are taken from the last backwards until
    ``episodes`` are covered, each weighted by its episode count.
    """
    counts = steps_per_epoch / curve["ep_len"].to_numpy(dtype=float)
    scores = curve["score"].to_numpy(dtype=float)
    covered = np.cumsum(counts[::-1])
    take = int(np.searchsorted(covered, episodes)) + 1
    weights, values = counts[::-1][:take], scores[::-1][:take]
    return float(np.average(values, weights=weights))
