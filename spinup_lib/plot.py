"""Learning curves from run directories: the mean over seeds with a band of one standard deviation.

Command line (also ``python -m spinup_lib.run plot ...``)::

    python -m spinup_lib.plot data/ppo_cartpole data/vpg_cartpole -s 5 --save curves.png

Each logdir is searched recursively for runs (a directory holding ``progress.txt`` and
``config.json``). A logdir that does not end in ``/`` is also a *prefix*: ``data/bench_algo``
plots ``data/bench_algo1``, ``data/bench_algo2``... Runs sharing an ``exp_name`` (the same
settings with different seeds) are averaged into one curve unless ``--count`` is given.

In a notebook, :func:`plot_runs` draws one curve set on a matplotlib Axes and returns it.

Where the figures go:

- with ``--save FILE`` (``.png``, ``.svg`` or ``.pdf``) they are written there; an existing
  file of that name is replaced, since naming it is an explicit choice (the message says so).
  Several ``--value`` columns make several files, ``FILE_<value>.ext``.
- without ``--save`` they open in a window, or, when matplotlib has no window system (no
  display, e.g. over ssh or in CI), they are saved as ``<value>.png`` in the current
  directory. An automatic name never replaces a file: ``<value>_1.png``, ``_2``... are used.
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings

import numpy as np
import pandas as pd

from spinup_lib.errors import UserError, exit_status

DEFAULT_XAXIS = "TotalEnvInteracts"
PERFORMANCE = "Performance"
# 'Performance' is the right score for each kind of run: off-policy algorithms log the return
# of deterministic test episodes, on-policy ones only the return of their training episodes.
PERFORMANCE_SOURCES = ("AverageTestEpRet", "AverageEpRet")
SAVE_EXTENSIONS = (".png", ".svg", ".pdf")
RUN_FILES = ("progress.txt", "config.json")
ESTIMATORS = ("mean", "median", "min", "max", "sum", "std", "var")


# ----------------------------------------------------------------------------------------------
# Finding and reading runs
# ----------------------------------------------------------------------------------------------
def _read_exp_name(config_path):
    """The run's ``exp_name`` from config.json, or None if it has none or cannot be read."""
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    name = config.get("exp_name") if isinstance(config, dict) else None
    return str(name) if name else None


def get_datasets(logdir, condition=None, units=None):
    """Read every run found under ``logdir`` into a list of DataFrames, one per run.

    Args:
        logdir: a directory, searched recursively for runs (directories holding both
            ``progress.txt`` and ``config.json``).
        condition: the curve name given to these runs; defaults to each run's ``exp_name``
            from config.json (``'exp'`` when it has none).
        units: a dict counting runs per condition, shared across calls so that runs of the
            same condition found under different logdirs get distinct unit numbers. A fresh
            count is used when None.

    Each DataFrame gets the columns of progress.txt plus ``Unit`` (the run's number within its
    condition), ``Condition1`` (the curve name), ``Condition2`` (``<Condition1>-<Unit>``, one
    curve per run) and ``Performance`` (``AverageTestEpRet`` if the run logged it, else
    ``AverageEpRet``; absent when neither was logged). Runs whose progress.txt is still empty
    are skipped with a warning.
    """
    units = {} if units is None else units
    datasets = []
    for root, dirs, files in os.walk(logdir):
        dirs.sort()  # walk in a stable order: unit numbers and colours do not change between calls
        if not all(name in files for name in RUN_FILES):
            continue
        name = condition or _read_exp_name(osp.join(root, "config.json")) or "exp"
        try:
            progress = pd.read_csv(osp.join(root, "progress.txt"), sep="\t")
        except pd.errors.EmptyDataError:
            warnings.warn(f"skipping {root}: its progress.txt is empty (no epoch finished yet)")
            continue
        unit = units.get(name, 0)
        units[name] = unit + 1
        progress["Unit"] = unit
        progress["Condition1"] = name
        progress["Condition2"] = f"{name}-{unit}"
        for source in PERFORMANCE_SOURCES:
            if source in progress.columns:
                progress[PERFORMANCE] = progress[source]
                break
        progress.attrs["logdir"] = root  # where it came from, for messages
        progress.attrs["condition"] = name
        datasets.append(progress)
    return datasets


def _expand_logdir(logdir):
    """The directories a logdir argument names: itself if it ends in a separator, else every
    sibling whose name starts with its last component (sorted)."""
    logdir = osp.expanduser(logdir)
    base, prefix = osp.split(logdir)
    if logdir.endswith(("/", os.sep)) or prefix in (".", ".."):
        return [logdir] if osp.isdir(logdir) else []
    base = base or "."
    if not osp.isdir(base):
        return []
    return [osp.join(base, entry) for entry in sorted(os.listdir(base))
            if entry.startswith(prefix) and osp.isdir(osp.join(base, entry))]


def find_logdirs(all_logdirs, select=None, exclude=None):
    """Expand logdir prefixes and apply the selection rules; return the matching directories.

    Args:
        all_logdirs: directories or prefixes (see the module docstring).
        select: keep only directories whose path contains every one of these substrings.
        exclude: drop directories whose path contains any of these substrings.
    """
    if isinstance(all_logdirs, (str, os.PathLike)):
        all_logdirs = [all_logdirs]
    logdirs = []
    for logdir in all_logdirs:
        for match in _expand_logdir(os.fspath(logdir)):
            if match not in logdirs:
                logdirs.append(match)
    if select:
        logdirs = [d for d in logdirs if all(s in d for s in select)]
    if exclude:
        logdirs = [d for d in logdirs if not any(x in d for x in exclude)]
    return logdirs


def get_all_datasets(all_logdirs, legend=None, select=None, exclude=None):
    """Read every run under the given logdirs into one list of DataFrames.

    Args:
        all_logdirs: directories or prefixes; a path not ending in ``/`` also matches every
            sibling directory whose name starts with it.
        legend: one curve name per matched directory (after select/exclude), replacing the
            ``exp_name`` of its runs. Its length must equal the number of matched directories.
        select: keep only directories whose path contains all of these substrings.
        exclude: drop directories whose path contains any of these substrings.

    Raises UserError when nothing matches, or when ``legend`` has the wrong length.
    """
    if isinstance(all_logdirs, (str, os.PathLike)):
        all_logdirs = [all_logdirs]
    logdirs = find_logdirs(all_logdirs, select, exclude)
    where = ", ".join(os.fspath(d) for d in all_logdirs)
    no_runs = (f"no runs found under {where}: each run directory needs progress.txt and config.json "
               "(check the path, and --select/--exclude)")
    if not logdirs:
        raise UserError(no_runs)
    if legend is not None and len(legend) != len(logdirs):
        raise UserError(f"{len(legend)} legend names for {len(logdirs)} matched directories "
                        f"({', '.join(logdirs)}): give one name per directory")

    units = {}
    datasets = []
    for i, logdir in enumerate(logdirs):
        datasets += get_datasets(logdir, condition=None if legend is None else legend[i], units=units)
    if not datasets:
        raise UserError(no_runs)
    return datasets


# ----------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------
def smooth_values(values, window):
    """Moving average over ``window`` points, centred, correct at the edges.

    Each point becomes the mean of the points of its window that exist: near the ends the
    window is cut and the mean is taken over fewer points (instead of padding with zeros,
    which would drag the curve's ends towards 0). Missing values (NaN) are left out likewise.
    """
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    kernel = np.ones(int(window))
    present = np.isfinite(values)
    sums = np.convolve(np.where(present, values, 0.0), kernel, mode="same")
    counts = np.convolve(present.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def resolve_estimator(estimator):
    """A numpy reduction from its name ('mean', 'max'...), or a callable returned unchanged.

    Names are looked up in a fixed list; nothing is evaluated.
    """
    if callable(estimator):
        return estimator
    if estimator not in ESTIMATORS:
        raise UserError(f"unknown estimator {estimator!r}: use one of {', '.join(ESTIMATORS)}")
    return getattr(np, estimator)


def _check_columns(datasets, columns):
    """UserError naming the first requested column a run lacks, with the columns all runs have."""
    for column in columns:
        missing = [d.attrs.get("logdir", "?") for d in datasets if column not in d.columns]
        if not missing:
            continue
        shared = [c for c in datasets[0].columns if all(c in d.columns for d in datasets)]
        shared = [c for c in shared if c not in ("Unit", "Condition1", "Condition2")]
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        what = (f"'{PERFORMANCE}' needs AverageTestEpRet or AverageEpRet, which"
                if column == PERFORMANCE else f"column '{column}'")
        raise UserError(f"{what} is not in progress.txt of {missing[0]}{others}; "
                        f"available columns: {', '.join(shared)}")


def plot_data(data, xaxis="Epoch", value="AverageEpRet", condition="Condition1", smooth=1,
              estimator="mean", ax=None, **kwargs):
    """Draw ``value`` against ``xaxis``, one line per ``condition``, with a +-1 std band.

    Args:
        data: a DataFrame or a list of DataFrames (one per run, as from get_all_datasets).
        xaxis: column for the x axis.
        value: column for the y axis.
        condition: column naming the curves: ``'Condition1'`` averages the runs of each
            experiment, ``'Condition2'`` draws every run on its own.
        smooth: moving-average window applied to each run before averaging (1 = none).
        estimator: how runs are combined at each x: a name from ESTIMATORS or a callable.
        ax: the matplotlib Axes to draw on (the current one when None).
        **kwargs: passed on to ``seaborn.lineplot``.

    Returns the Axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    datasets = [data] if isinstance(data, pd.DataFrame) else list(data)
    if smooth > 1:
        datasets = [d.assign(**{value: smooth_values(d[value], smooth)}) for d in datasets]
    frame = pd.concat(datasets, ignore_index=True)
    ax = ax if ax is not None else plt.gca()
    sns.lineplot(data=frame, x=xaxis, y=value, hue=condition, estimator=resolve_estimator(estimator),
                 errorbar="sd", ax=ax, **kwargs)
    if ax.get_legend() is not None:
        # The hue column's name ('Condition1') means nothing to a reader: drop the title.
        sns.move_legend(ax, "best", title=None)
        ax.get_legend().set_draggable(True)
    # Environment interactions run to millions: 1e6 reads better than 1000000.
    x_values = frame[xaxis].to_numpy(dtype=float)
    if np.isfinite(x_values).any() and np.nanmax(np.abs(x_values)) > 5e3:
        ax.ticklabel_format(style="sci", axis="x", scilimits=(0, 0))
    return ax


def _style(font_scale):
    """Seaborn's look, applied only inside a ``with`` block (global settings are left alone)."""
    import contextlib

    import seaborn as sns

    stack = contextlib.ExitStack()
    stack.enter_context(sns.axes_style("darkgrid"))
    stack.enter_context(sns.plotting_context("notebook", font_scale=font_scale))
    return stack


def plot_runs(logdirs, legend=None, xaxis=DEFAULT_XAXIS, value=PERFORMANCE, count=False, smooth=1,
              select=None, exclude=None, estimator="mean", font_scale=1.0, ax=None):
    """Draw the learning curves of the runs under ``logdirs``; for notebooks.

    Args:
        logdirs: a directory or prefix, or a list of them (see the module docstring).
        legend: curve names, one per matched directory.
        xaxis: the progress.txt column for x (default TotalEnvInteracts).
        value: the column for y; 'Performance' means AverageTestEpRet when logged, else
            AverageEpRet.
        count: one curve per run instead of the mean over runs of the same experiment.
        smooth: moving-average window (1 = no smoothing).
        select, exclude: substrings a directory's path must all contain / must not contain.
        estimator: how runs are combined at each x ('mean', 'median', 'max'...).
        font_scale: seaborn font scale.
        ax: the Axes to draw on; a new figure is made when None.

    Returns the matplotlib Axes.
    """
    datasets = get_all_datasets(logdirs, legend, select, exclude)
    _check_columns(datasets, [xaxis, value])
    resolve_estimator(estimator)  # a bad name fails before any figure is made
    import matplotlib.pyplot as plt

    with _style(font_scale):
        if ax is None:
            _, ax = plt.subplots()
        plot_data(datasets, xaxis=xaxis, value=value, condition="Condition2" if count else "Condition1",
                  smooth=smooth, estimator=estimator, ax=ax)
        ax.figure.tight_layout()
    return ax


# ----------------------------------------------------------------------------------------------
# Figures for the command line
# ----------------------------------------------------------------------------------------------
def can_show_windows():
    """Whether matplotlib can display figures (an interactive or notebook backend)."""
    import matplotlib
    from matplotlib.backends import BackendFilter, backend_registry

    backend = matplotlib.get_backend().lower()
    if "inline" in backend or "ipympl" in backend or "widget" in backend:
        return True
    return backend in backend_registry.list_builtin(BackendFilter.INTERACTIVE)


def _check_save_path(save):
    extension = osp.splitext(save)[1].lower()
    if extension not in SAVE_EXTENSIONS:
        raise UserError(f"cannot save a plot as '{save}': use a file name ending in "
                        f"{', '.join(SAVE_EXTENSIONS)}")
    folder = osp.dirname(osp.abspath(save))
    if not osp.isdir(folder):
        raise UserError(f"cannot save a plot as '{save}': the folder {folder} does not exist")


def _safe_file_stem(value):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value) or "plot"


def _save_new_file(fig, stem):
    """Save ``fig`` as ``<stem>.png`` in the working directory, or ``<stem>_<n>.png`` with the
    first free n: the file is created exclusively, so nothing existing is ever replaced."""
    n = 0
    while True:
        path = f"{stem}.png" if n == 0 else f"{stem}_{n}.png"
        try:
            with open(path, "xb") as f:
                fig.savefig(f, format="png")
            return path
        except FileExistsError:
            n += 1


def make_plots(all_logdirs, legend=None, xaxis=None, values=None, count=False, font_scale=1.5, smooth=1,
               select=None, exclude=None, estimator="mean", save=None, show=None):
    """Make one figure per value column; save or show them. What the command line runs.

    Args:
        all_logdirs: directories or prefixes (see the module docstring).
        legend: curve names, one per matched directory.
        xaxis: x column (default TotalEnvInteracts).
        values: y column or list of columns (default ['Performance']); one figure each.
        count: one curve per run instead of one per experiment.
        font_scale: seaborn font scale.
        smooth: moving-average window (1 = none).
        select, exclude: substrings a directory's path must all contain / must not contain.
        estimator: how runs are combined at each x ('mean', 'median', 'max'...).
        save: file to write (.png, .svg or .pdf); replaced if it exists. With several values,
            ``<stem>_<value><ext>`` for each.
        show: open windows (True) or save to automatic file names (False); by default, show
            when matplotlib has a window system.

    Returns the list of files written (empty when the figures were shown in windows).
    """
    xaxis = xaxis or DEFAULT_XAXIS
    values = [values] if isinstance(values, str) else list(values or [PERFORMANCE])
    if int(smooth) < 1:
        raise UserError(f"--smooth must be a window of at least 1 point, got {smooth}")
    if save is not None:
        _check_save_path(save)
    resolve_estimator(estimator)
    datasets = get_all_datasets(all_logdirs, legend, select, exclude)
    _check_columns(datasets, [xaxis, *values])
    print("Plotting from:\n" + "\n".join(
        f"  {d.attrs.get('logdir')}  ({d.attrs.get('condition')})" for d in datasets))
    show = can_show_windows() if show is None else show
    import matplotlib.pyplot as plt  # only now: a mistake in the arguments is reported at once

    written, figures = [], []
    for value in values:
        with _style(font_scale):
            fig, ax = plt.subplots()
            plot_data(datasets, xaxis=xaxis, value=value, condition="Condition2" if count else "Condition1",
                      smooth=int(smooth), estimator=estimator, ax=ax)
            fig.tight_layout()
        if save is not None:
            stem, extension = osp.splitext(save)
            path = save if len(values) == 1 else f"{stem}_{_safe_file_stem(value)}{extension}"
            existed = osp.exists(path)
            fig.savefig(path)
            print(f"Saved {value} plot to {path}" + (" (replaced the existing file)" if existed else ""))
            written.append(path)
        elif not show:
            path = _save_new_file(fig, _safe_file_stem(value))
            print(f"No display to show the plot: saved {value} plot to {path} (choose a name with --save FILE)")
            written.append(path)
        figures.append(fig)

    if show and save is None:
        plt.show()
    for fig in figures:
        plt.close(fig)
    return written


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog or "python -m spinup_lib.run plot",
        description="Plot learning curves (mean over seeds, +-1 std band) from run directories.")
    parser.add_argument("logdir", nargs="+",
                        help="run directories or prefixes (a path not ending in / also matches every "
                             "sibling starting with it); searched recursively")
    parser.add_argument("--legend", "-l", nargs="*", help="one curve name per matched directory")
    parser.add_argument("--xaxis", "-x", default=DEFAULT_XAXIS, help="x column (default %(default)s)")
    parser.add_argument("--value", "-y", nargs="*", default=[PERFORMANCE],
                        help="y column(s), one figure each (default Performance: AverageTestEpRet if "
                             "logged, else AverageEpRet)")
    parser.add_argument("--count", action="store_true", help="one curve per run instead of the mean")
    parser.add_argument("--smooth", "-s", type=int, default=1, help="moving-average window (default 1)")
    parser.add_argument("--select", nargs="*", help="keep directories containing all of these")
    parser.add_argument("--exclude", nargs="*", help="drop directories containing any of these")
    parser.add_argument("--est", default="mean", choices=ESTIMATORS,
                        help="how runs are combined at each x (default mean)")
    parser.add_argument("--save", metavar="FILE",
                        help="write the figure to FILE (.png, .svg or .pdf; replaced if it exists) "
                             "instead of showing it")
    return parser


def main(argv=None, prog=None):
    """Command-line entry point: ``main(['data/ppo', '-s', '5'])``. Returns the exit status, 0.

    Raises UserError for a mistake in the arguments (the caller prints it and exits 2).
    """
    args = build_parser(prog).parse_args(argv)
    make_plots(args.logdir, legend=args.legend, xaxis=args.xaxis, values=args.value or [PERFORMANCE],
                      count=args.count, smooth=args.smooth, select=args.select, exclude=args.exclude,
                      estimator=args.est, save=args.save)
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, prog="python -m spinup_lib.plot"))
