"""Chapter 13's figures of the benchmark grid: our runs, smoothed the original's way, beside the original's
published points (the reading and comparing is in :mod:`spinup_lib.notebook.bench`)."""
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from spinup_lib.notebook.bench import (OFF_POLICY, ON_POLICY, _env_name, _reference_curve, _seed_values,
                                       log_interval_of, original_half_window, reference_at, smoothed_curve,
                                       whole_window, whole_window_points)

__all__ = ["ALGO_COLORS", "plot_grid_env", "plot_grid_figure", "steps_label"]

#: One colour per algorithm, the same in every figure.
ALGO_COLORS = {"vpg": "tab:purple", "trpo": "tab:brown", "ppo": "tab:blue",
               "ddpg": "tab:orange", "td3": "tab:red", "sac": "tab:green"}


def steps_label(steps, _position=None):
    """A number of environment steps as a tick label: 0, 50k, 1M, 1.5M."""
    if steps >= 1e6:
        return f"{steps / 1e6:g}M"
    return f"{steps / 1e3:g}k" if steps else "0"


def _smoothed_seeds(runs, curves, algo, env):
    """Each run's curve smoothed the original's way, as columns of one table indexed by steps."""
    smoothed = []
    for seed in runs.seed:
        curve = curves[(curves.algo == algo) & (curves.env == env) & (curves.seed == seed)]
        smoothed.append(pd.Series(smoothed_curve(curve.steps, curve.score, original_half_window(algo)),
                                  index=curve.steps.to_numpy(), name=seed))
    return pd.concat(smoothed, axis=1)


def plot_grid_env(ax, runs, curves, reference_curves, env, algos, max_steps=None, reference_std=None):
    """Our runs of ``algos`` on ``env`` beside the original's published curves, on one Axes.

    Ours: each run smoothed the original's way (:func:`smoothed_curve`); the finished runs' mean
    over seeds, solid where the smoothing window is whole and faded dots where it is cut
    (:func:`whole_window`), with a band of one standard deviation and, thin and pale, their
    unsmoothed mean; filled diamonds at the original's published points where our window is whole
    (:func:`whole_window_points`: the values the comparison uses); runs still under way unsmoothed,
    as thin dash-dotted lines. The original: its published points only, as open circles (it is read
    nowhere else), with its one-standard-deviation bar where ``reference_std`` has one (set a little
    to the side of its circle, by algorithm, so that bars at one step stay apart), up to the first
    point beyond our longest run. Returns the algorithms drawn.
    """
    drawn = []
    for algo in algos:
        mine = runs[(runs.algo == algo) & (runs.env == env)]
        if mine.empty:
            continue
        color = ALGO_COLORS[algo]
        done, under_way = mine[mine.finished], mine[~mine.finished]
        if len(done):
            table = _smoothed_seeds(done, curves, algo, env).dropna()  # the steps every seed logged
            mean, std = table.mean(axis=1), table.std(axis=1)
            raw = curves[(curves.algo == algo) & (curves.env == env) & curves.seed.isin(done.seed)]
            raw = raw.groupby("steps").score.mean()
            ax.plot(raw.index, raw.to_numpy(), color=color, lw=0.7, alpha=0.4)  # unsmoothed, for reference
            seeds = f"{len(done)} seed{'s' if len(done) > 1 else ''}"
            interval = log_interval_of(table.index)
            whole = whole_window(table.index, done.steps.min(), original_half_window(algo), interval)
            points = whole_window_points(reference_curves, env, algo, done.steps.min(), interval)
            where = ("window cut everywhere" if not points else
                     "window whole only at " + ", ".join(f"{p // 1000}k" for p in points))
            # Solid where the window is whole; faded dots where it is cut (the first and last half-window).
            solid = whole.sum() > 1      # a solid stretch of one point would not show
            ax.plot(table.index, mean, ":", color=color, lw=1.8, alpha=0.6,
                    label=None if solid else f"ours {algo.upper()} ({seeds}), {where}")
            ax.plot(table.index[whole], mean[whole], color=color, lw=1.8,
                    label=f"ours {algo.upper()} ({seeds})" if solid else None)
            if points:      # the values compared with the original's points
                values = [_seed_values(curves, runs, algo, env, p)[0].mean() for p in points]
                ax.plot(points, values, "D", color=color, ms=5, linestyle="none")
            if len(done) > 1:
                ax.fill_between(table.index, mean - std, mean + std, color=color, alpha=0.2, lw=0)
        for i, r in enumerate(under_way.itertuples()):
            curve = curves[(curves.algo == algo) & (curves.env == env) & (curves.seed == r.seed)]
            ax.plot(curve.steps, curve.score, "-.", color=color, lw=0.8, alpha=0.6,
                    label=f"ours {algo.upper()}, under way (unsmoothed)" if i == 0 else None)
        x, y = _reference_curve(reference_curves, env, algo)
        # Up to the first published point beyond our longest run.
        keep = np.arange(len(x)) <= np.searchsorted(x, max_steps or mine.steps.max())
        if keep.any():
            ax.plot(x[keep], y[keep], "o", color=color, mfc="white", mew=1.5, ms=6, linestyle="none",
                    label=f"original {algo.upper()} (10 seeds, read only at its points)")
            if reference_std is not None:
                bars = reference_std[(reference_std.env == _env_name(env)) & (reference_std.algo == algo)
                                     & reference_std.steps.isin(x[keep])]
                if len(bars):   # set a little apart per algorithm, so that bars at one step do not hide each other
                    dodge = (list(algos).index(algo) - (len(algos) - 1) / 2) * 0.012 * (max_steps or x.max())
                    ax.errorbar(bars.steps + dodge, [reference_at(reference_curves, env, algo, n) for n in bars.steps],
                                yerr=bars["std"], fmt="none", ecolor=color, elinewidth=1, capsize=3)
        drawn.append(algo)
    ax.set(title=env, xlabel="environment steps", ylabel="return")
    if max_steps:
        ax.set_xlim(0, max_steps * 1.03)
    ax.xaxis.set_major_formatter(FuncFormatter(steps_label))
    if drawn:
        ax.legend(fontsize=7, loc="best")
    return drawn


def plot_grid_figure(runs, curves, reference_curves, env, reference_std=None):
    """One figure for ``env``: a panel for the off-policy algorithms (test returns, up to their longest
    run) and one for the on-policy algorithms (training returns), each only if it has runs;
    ``reference_std`` (optional) adds the original's one-standard-deviation bars where they were read.

    Returns the figure, or None when ``env`` has no run.
    """
    import matplotlib.pyplot as plt

    panels = [(algos, title) for algos, title in ((OFF_POLICY, "off-policy: deterministic test returns"),
                                                  (ON_POLICY, "on-policy: training returns"))
              if ((runs.env == env) & runs.algo.isin(algos)).any()]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (algos, title) in zip(axes[0], panels):
        longest = runs[(runs.env == env) & runs.algo.isin(algos)].steps.max()
        plot_grid_env(ax, runs, curves, reference_curves, env, algos, max_steps=int(longest),
                      reference_std=reference_std)
        ax.set_title(f"{env}, {title}", fontsize=10)
    fig.tight_layout()
    return fig
