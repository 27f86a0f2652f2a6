"""What the chapters do with training runs: train quietly, train several side by side, read back.

Every chapter that trains an agent does the same few things, and does them here, once:

* :func:`train`: one run in this kernel. The epoch tables the algorithm prints go to
  ``<run_dir>/output.log`` instead of burying the notebook; the algorithm's progress bar, and
  if asked a live learning curve (:class:`~spinup_lib.notebook.LiveCurve`), show the run; the run's
  ``progress.txt`` comes back as a DataFrame, with the agent the algorithm returned.
* :func:`train_variants`: several configurations and seeds, each in its own fresh process, two
  at a time by default (an :class:`~spinup_lib.run_utils.ExperimentGrid` per configuration, run
  by the grid's worker pool), with one progress bar and, if asked, live learning curves of every run
  (:class:`LiveCurves`); all the progress tables come back as one long DataFrame with ``variant``
  and ``seed`` columns, ready for seaborn.
* :func:`read_progress`, :func:`snapshot_epochs`, :func:`load_agent`: a finished run's table, the
  epochs of its saved snapshots, and the agent it saved at one of them.
* :func:`collect_episodes` and :func:`collect_batch`: experience from a fixed policy, as whole
  episodes (the simplest policy gradient) or as one epoch's :class:`~spinup_lib.core.OnPolicyBuffer`
  exactly as VPG, TRPO and PPO fill it.
* :func:`q_bias_over_training`: an off-policy critic's estimate against the true return, for every
  snapshot of a run (:func:`~spinup_lib.notebook.q_versus_monte_carlo` on each).
* :func:`output_to_file`: send what a block of code prints to a log file.

A chapter puts all its runs under its own :func:`~spinup_lib.notebook.chapter_data_dir`, so an
execution never writes into an earlier one. Chapters import these from ``spinup_lib.notebook``.
"""
import contextlib
import inspect
import os
import os.path as osp
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

from spinup_lib.errors import UserError

__all__ = ["LiveCurves", "TrainedRun", "VariantRuns", "collect_batch", "collect_episodes", "load_agent", "output_to_file",
           "q_bias_over_training", "read_progress", "snapshot_epochs", "train", "train_variants"]

#: The file, in a run's folder, that gets what the run printed (the grid's worker pool uses the same name).
LOG_FNAME = "output.log"


# ----------------------------------------------------------------------------------------------
# Printed output to a file
# ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def output_to_file(path):
    """Send everything printed inside the ``with`` block to ``path`` (appended), not to the notebook.

    Example::

        with output_to_file(DATA_DIR / "grid.log"):
            eg.run(ppo, data_dir=DATA_DIR, num_workers=2)

    Only standard output is redirected: warnings and errors still show in the notebook. The
    folder is created if needed.

    Yields:
        pathlib.Path: the log file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        yield path


# ----------------------------------------------------------------------------------------------
# Reading a run back
# ----------------------------------------------------------------------------------------------
def read_progress(run_dir):
    """A run's epoch table (``<run_dir>/progress.txt``) as a DataFrame, one row per epoch.

    Raises:
        UserError: the folder holds no progress.txt.
    """
    import pandas as pd

    path = Path(run_dir) / "progress.txt"
    if not path.is_file():
        raise UserError(f"no progress.txt in {run_dir}: give the folder of a run (it holds progress.txt)")
    return pd.read_table(path)


def snapshot_epochs(run_dir):
    """The epochs at which a run saved a snapshot of its agent (``pyt_save/model<N>.pt``), sorted.

    Which epochs these are depends on the run's ``save_freq`` (and the last epoch is always
    saved), so a chapter picks its snapshots from this list rather than computing their numbers.
    """
    from spinup_lib.test_policy import SAVE_FOLDER, snapshot_iterations

    return snapshot_iterations(osp.join(os.fspath(run_dir), SAVE_FOLDER))


def load_agent(run_dir, epoch="last"):
    """The actor-critic a run saved, rebuilt from its plain-data file (no code is unpickled).

    Args:
        run_dir: the run's folder (holding ``pyt_save/``).
        epoch: ``'last'`` for the latest agent (``model.pt``), or an epoch from
            :func:`snapshot_epochs` for the snapshot ``model<epoch>.pt``.

    Returns:
        torch.nn.Module: the agent (e.g. ``core.MLPActorCritic``) with the saved weights, in eval mode.

    Raises:
        UserError: no such snapshot (the message lists those there are), or the file is not a
            saved agent.
    """
    from spinup_lib.test_policy import load_actor_critic

    agent, env = load_actor_critic(os.fspath(run_dir), itr=epoch)
    env.close()
    return agent


# ----------------------------------------------------------------------------------------------
# One run in this kernel
# ----------------------------------------------------------------------------------------------
class TrainedRun(NamedTuple):
    """What :func:`train` gives back."""

    run_dir: Path       # the run's folder: progress.txt, config.json, pyt_save/, output.log...
    progress: object    # progress.txt as a pandas DataFrame, one row per epoch
    agent: object       # what the algorithm returned (the trained actor-critic)
    seconds: float      # wall-clock time of the run


def _epochs_asked(algo, kwargs):
    """The number of epochs a call of ``algo`` will run (None if it cannot be told)."""
    if isinstance(kwargs.get("epochs"), int):
        return kwargs["epochs"]
    try:
        default = inspect.signature(algo).parameters["epochs"].default
    except (TypeError, ValueError, KeyError):
        return None
    return default if isinstance(default, int) else None


def _env_kwargs(kwargs, what):
    """``kwargs`` with ``env_name`` (an env id) turned into the ``env_fn`` the algorithms take."""
    kwargs = dict(kwargs)
    if "env_name" in kwargs:
        if "env_fn" in kwargs:
            raise UserError(f"{what}: give env_name or env_fn, not both")
        from spinup_lib.envs import make_env_fn

        kwargs["env_fn"] = make_env_fn(kwargs.pop("env_name"))
    return kwargs


class _Callbacks:
    """Several epoch callbacks called as one (the logger takes one)."""

    def __init__(self, *callbacks):
        self.callbacks = [c for c in callbacks if c is not None]

    def __call__(self, row):
        for callback in self.callbacks:
            callback(row)


def train(algo, run_dir, live=None, quiet=True, **algo_kwargs):
    """Train one agent in this kernel, quietly, and read its results back.

    Example::

        main = train(vpg, DATA_DIR / "vpg", env_name="CartPole-v1", epochs=40, live="AverageEpRet")
        main.progress.AverageEpRet.max(), main.agent

    Args:
        algo: the algorithm (``vpg``, ``ppo``...) or any function that takes ``logger_kwargs``.
        run_dir: the run's folder, e.g. ``Path(DATA_DIR) / "main"``; it must not hold a run yet
            (the logger refuses to write into one).
        live: a :class:`~spinup_lib.notebook.LiveCurve`, or the name of the progress.txt column
            to draw as one (e.g. ``'AverageEpRet'``), for a learning curve that grows while the
            run trains; ``None`` for none (the algorithm's own progress bar of epochs still shows).
        quiet: send what the algorithm prints (its epoch tables) to ``<run_dir>/output.log``
            instead of the notebook.
        **algo_kwargs: the algorithm's arguments. ``env_name='CartPole-v1'`` stands for
            ``env_fn=make_env_fn('CartPole-v1')``, as in an ExperimentGrid; ``logger_kwargs``
            may add to the logger's arguments (not ``output_dir``, which is ``run_dir``).

    Returns:
        TrainedRun: ``run_dir``, ``progress`` (a DataFrame), ``agent`` (what ``algo`` returned)
        and ``seconds``.
    """
    from spinup_lib.notebook import LiveCurve

    run_dir = Path(run_dir)
    kwargs = _env_kwargs(algo_kwargs, "train")
    logger_kwargs = dict(kwargs.pop("logger_kwargs", None) or {})
    if "output_dir" in logger_kwargs:
        raise UserError("train: the run's folder is run_dir; leave output_dir out of logger_kwargs")
    if isinstance(live, str):
        live = LiveCurve(live, title=run_dir.name)
    if live is not None and not callable(live):
        raise UserError(f"train: live must be a LiveCurve or a progress.txt column name, got {live!r}")
    callback = _Callbacks(logger_kwargs.pop("epoch_callback", None), live)
    logger_kwargs.update(output_dir=str(run_dir), epoch_callback=callback)
    logger_kwargs.setdefault("exp_name", run_dir.name)

    start = time.perf_counter()
    with output_to_file(run_dir / LOG_FNAME) if quiet else contextlib.nullcontext():
        agent = algo(**kwargs, logger_kwargs=logger_kwargs)
    return TrainedRun(run_dir, read_progress(run_dir), agent, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# Several runs side by side, each in a fresh process
# ----------------------------------------------------------------------------------------------
class VariantRuns(NamedTuple):
    """What :func:`train_variants` gives back."""

    progress: object    # every run's progress.txt in one DataFrame, with columns variant and seed first
    run_dirs: dict      # (variant, seed) -> the run's folder (a Path)


def _plan(algo, data_dir, variants, seeds, common):
    """The grid runs of every (variant, seed), in order: one ExperimentGrid per variant."""
    from spinup_lib.grid_runner import plan_runs
    from spinup_lib.run_utils import ExperimentGrid, path_safe_name

    runs, keys, folders = [], [], {}
    for label, variant in variants.items():
        if not isinstance(label, str) or not label:
            raise UserError(f"train_variants: variant names must be non-empty strings, got {label!r}")
        thunk, changes = variant if isinstance(variant, tuple) and len(variant) == 2 else (algo, variant)
        if not isinstance(changes, dict):
            raise UserError(f"train_variants: variant {label!r} must be a dict of arguments, or a pair "
                            f"(algorithm, dict of arguments), got {variant!r}")
        if not callable(thunk):
            raise UserError(f"train_variants: variant {label!r} has no algorithm to run: pass algo "
                            "(e.g. ppo), or give the variant as a pair (algorithm, arguments)")
        folder = path_safe_name(label)
        if folder in folders:
            raise UserError(f"train_variants: variants {folders[folder]!r} and {label!r} would share the "
                            f"folder {folder!r}: name them more distinctly")
        folders[folder] = label
        settings = dict(common, **changes)
        if "seed" in settings:
            raise UserError("train_variants: give the seeds with seeds=[...], not as an argument")
        grid = ExperimentGrid(name=folder)
        for key, value in settings.items():
            grid.add(key, [value])  # one value each, whatever its type (a list is not a grid axis here)
        grid.add("seed", list(seeds))
        grid_runs = plan_runs(grid, thunk, data_dir=os.fspath(data_dir))
        runs += grid_runs
        keys += [(label, run.kwargs["seed"]) for run in grid_runs]
    return runs, keys


def _free_path(path):
    """``path`` if nothing is there, else ``<stem>_1<ext>``, ``<stem>_2<ext>``... whichever is free."""
    stem, ext = osp.splitext(path)
    candidate, number = path, 0
    while osp.exists(candidate):
        number += 1
        candidate = f"{stem}_{number}{ext}"
    return candidate


def _read_complete_rows(path):
    """A progress.txt being written, as a DataFrame of its complete rows (None: no row yet)."""
    import io

    import pandas as pd

    try:
        with open(path, encoding="utf-8") as f:
            content = f.read()
    except OSError:
        return None
    content = content[: content.rfind("\n") + 1]  # a half-written last row is left for later
    if content.count("\n") < 2:
        return None
    return pd.read_table(io.StringIO(content))


class LiveCurves:
    """Learning curves of several runs, redrawn in place while :func:`train_variants` trains them.

    One line per run: one colour per variant, the seeds of a variant in the same colour. Outside a
    Jupyter kernel nothing is drawn; the tables are only kept in ``tables``.

    Args:
        ylabel: the progress.txt column to follow.
        xlabel: the column for the x axis.
        title: the figure's title.
        figsize: the figure's size in inches.
    """

    def __init__(self, ylabel="AverageEpRet", xlabel="TotalEnvInteracts", title=None, figsize=(7, 3.5)):
        self.ylabel, self.xlabel, self.title, self.figsize = ylabel, xlabel, title, figsize
        self.tables = {}
        self._handle = None

    def update(self, tables):
        """Take ``{(variant, seed): progress DataFrame}`` (the rows so far) and redraw."""
        from spinup_lib.notebook import in_notebook

        self.tables = dict(tables)
        if in_notebook():
            self._redraw()

    def figure(self):
        """The curves so far as a matplotlib Figure (made without pyplot, so never shown twice)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize)
        ax = fig.subplots()
        variants = list(dict.fromkeys(variant for variant, _ in self.tables))
        colours = {variant: f"C{i % 10}" for i, variant in enumerate(variants)}
        labelled = set()
        for (variant, seed), table in self.tables.items():
            if table is None or self.ylabel not in table or self.xlabel not in table:
                continue
            label = None if variant in labelled else variant
            labelled.add(variant)
            ax.plot(table[self.xlabel], table[self.ylabel], marker="o", markersize=2.5, lw=1.2, alpha=0.85,
                    color=colours[variant], label=label)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        if self.title:
            ax.set_title(self.title)
        if labelled:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def _redraw(self):
        import io

        from IPython.display import Image, display

        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", dpi=90)
        image = Image(data=buffer.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)


def _follow(runs, keys, bar, curves, stop, every=0.5, redraw_every=3.0):
    """Until ``stop`` is set: advance ``bar`` to the epochs the runs logged, redraw ``curves`` on news."""
    from spinup_lib.grid_runner import epochs_logged

    paths = [osp.join(run.output_dir, "progress.txt") for run in runs]
    seen, last_draw = None, 0.0

    def poll(final=False):
        nonlocal seen, last_draw
        counts = [epochs_logged(path) for path in paths]
        bar.n = sum(counts)
        bar.refresh()
        if curves is not None and counts != seen and (final or time.monotonic() - last_draw >= redraw_every):
            curves.update({key: _read_complete_rows(path) for key, path in zip(keys, paths)})
            seen, last_draw = counts, time.monotonic()

    while not stop.wait(every):
        poll()
    poll(final=True)


def train_variants(algo, data_dir, variants=None, seeds=(0,), num_workers=2, live=None, **common):
    """Train several configurations and seeds side by side, and get all their progress tables.

    Each run is a fresh process (as a grid's runs are), ``num_workers`` at a time, so two runs
    on a two-core machine take about the time of one. What the runs print goes to the
    ``output.log`` in each run's folder, and the grid's summary lines to ``<data_dir>/grid.log``;
    the notebook shows one progress bar of epochs over all the runs. The same seed gives the
    same numbers as :func:`train` would, whichever way the runs are spread.

    Example::

        runs = train_variants(vpg, DATA_DIR, variants={"lam=0": dict(lam=0.0), "lam=0.97": dict(lam=0.97)},
                              seeds=[0, 1], env_name="CartPole-v1", epochs=25)
        sns.lineplot(data=runs.progress, x="TotalEnvInteracts", y="AverageEpRet", hue="variant")

    Args:
        algo: the algorithm every variant runs, unless a variant gives its own (below).
            It is sent to the runs' processes by value (cloudpickle), so a function defined in
            the notebook works too.
        data_dir: the folder for the runs: a variant called ``label`` with seed ``s`` trains in
            ``<data_dir>/<label>/<label>_s<s>`` (the label made safe for a folder name).
        variants: ``{label: {argument: value}}``, what each configuration changes from ``common``;
            a pair ``{label: (algorithm, {argument: value})}`` runs another algorithm (e.g.
            ``{"TD3": {}, "DDPG": (ddpg, {})}``); ``None`` for one configuration named after ``algo``.
        seeds: the seeds every variant runs with.
        num_workers: runs at once.
        live: a :class:`LiveCurves`, or the name of a progress.txt column to draw as one (e.g.
            ``'AverageEpRet'``, against ``TotalEnvInteracts``): learning curves of every run that
            grow while they train (redrawn every few seconds). None: only the progress bar.
        **common: arguments of every run (``env_name='CartPole-v1'`` or ``env_fn=...``, ``epochs``...).

    Returns:
        VariantRuns: ``progress``, one DataFrame of every run's epochs with the columns
        ``variant`` and ``seed`` first; ``run_dirs``, ``{(variant, seed): run folder}``.

    Raises:
        UserError: a mistake in the arguments, or a run folder that already holds another run.
        spinup_lib.grid_runner.GridFailed: some runs failed (the others ran to the end); the
            reasons and log files are printed first.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from spinup_lib.grid_runner import run_pool

    if variants is None:
        variants = {getattr(algo, "__name__", "run"): {}}
    if not isinstance(variants, dict) or not variants:
        raise UserError(f"train_variants: variants must be a dict {{label: {{argument: value}}}}, got {variants!r}")
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise UserError(f"train_variants: seeds must be a list of ints, got {seeds!r}")
    os.makedirs(data_dir, exist_ok=True)
    if isinstance(live, str):
        live = LiveCurves(live)
    if live is not None and not isinstance(live, LiveCurves):
        raise UserError(f"train_variants: live must be a LiveCurves or a progress.txt column name, got {live!r}")
    runs, keys = _plan(algo, data_dir, variants, seeds, common)

    total = sum(run.epochs_total or 0 for run in runs) or None
    bar = tqdm(total=total, unit="epoch", desc=f"{len(runs)} runs, {min(num_workers, len(runs))} at a time")
    stop = threading.Event()
    follower = threading.Thread(target=_follow, args=(runs, keys, bar, live, stop), daemon=True)
    follower.start()
    log_path = _free_path(osp.join(os.fspath(data_dir), "grid.log"))
    try:
        with output_to_file(log_path):
            run_pool(runs, num_workers, grid_name=osp.basename(osp.normpath(os.fspath(data_dir))))
    except Exception:
        for run in runs:
            if run.outcome == "failed":
                print(f"run {run.output_dir} failed: {run.reason}\n  its output: "
                      f"{osp.join(run.output_dir, LOG_FNAME)}", file=sys.stderr)
        raise
    finally:
        stop.set()
        follower.join()
        bar.close()

    run_dirs, tables = {}, []
    for (label, seed), run in zip(keys, runs):
        run_dirs[(label, seed)] = Path(run.output_dir)
        table = read_progress(run.output_dir)
        table.insert(0, "seed", seed)
        table.insert(0, "variant", label)
        tables.append(table)
    return VariantRuns(pd.concat(tables, ignore_index=True), run_dirs)


# ----------------------------------------------------------------------------------------------
# Experience from a fixed policy
# ----------------------------------------------------------------------------------------------
def collect_episodes(env, policy, min_steps, seed=None):
    """Play whole episodes with ``policy`` until at least ``min_steps`` steps are collected.

    Every episode is played to its end (termination or the env's time limit), never cut, as the
    simplest policy gradient needs the return of whole trajectories.

    Args:
        env: a gymnasium env.
        policy: an actor with ``distribution(obs)`` (e.g. ``core.MLPCategoricalActor``), whose
            sampled action is played; or any function ``obs -> action``.
        min_steps: keep playing episodes until the batch holds at least this many steps.
        seed: if given, seeds the first reset (the start of a run); later episodes continue
            the env's random stream.

    Returns:
        list of dicts, one per episode: ``obs`` (T, obs_dim) float32, ``act`` (T, ...), ``rew``
        (T,) float64, ``last_obs`` (the observation after the last step) and ``terminated``
        (True if the episode ended, False if the time limit cut it).
    """
    import numpy as np
    import torch

    def act(obs):
        if not hasattr(policy, "distribution"):
            return policy(obs)
        with torch.inference_mode():  # acting needs no gradients, and this is the hot loop
            action = policy.distribution(torch.as_tensor(obs, dtype=torch.float32)).sample()
        return action.item() if action.ndim == 0 else action.numpy()

    episodes, steps = [], 0
    while steps < min_steps:
        obs, _ = env.reset(seed=seed)
        seed = None  # seed only the first reset
        observations, actions, rewards = [], [], []
        while True:
            action = act(obs)
            observations.append(obs)
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        episodes.append(dict(obs=np.array(observations, dtype=np.float32), act=np.array(actions),
                             rew=np.array(rewards, dtype=np.float64), last_obs=obs, terminated=terminated))
        steps += len(rewards)
    return episodes


def collect_batch(agent, env, num_steps, gamma=0.99, lam=0.97, max_ep_len=1000, seed=None):
    """One epoch of experience from a fixed agent, exactly as VPG, TRPO and PPO collect it.

    Plays ``num_steps`` steps with ``agent.step`` (a sampled action, V(s) and log pi(a|s)) into an
    :class:`~spinup_lib.core.OnPolicyBuffer`, closing every trajectory the way the library's epoch
    loop does: with 0 after a termination, bootstrapped with V of the last state after a time
    limit, ``max_ep_len`` or the end of the batch; the env is reset after each.

    Args:
        agent: an on-policy actor-critic (``core.MLPActorCritic``), e.g. from :func:`load_agent`.
        env: a gymnasium env (reused: pass the same env to get independent batches in turn).
        num_steps: steps in the batch.
        gamma, lam: the discount and the GAE lambda of the advantages. ``lam`` may also be a
            list or tuple of lambdas: then one buffer per lambda is filled from the same steps.
        max_ep_len: cut episodes after this many steps, as the algorithms' ``max_ep_len`` does.
        seed: seeds the first reset (None: continue the env's random stream).

    Returns:
        OnPolicyBuffer, full (its ``get()`` gives the batch with normalised advantages, as the
        update sees it; ``adv_buf`` and ``ret_buf`` hold them before normalisation); or
        ``{lam: OnPolicyBuffer}`` when ``lam`` is a list or tuple.
    """
    import torch

    from spinup_lib.core import OnPolicyBuffer

    lams = tuple(lam) if isinstance(lam, (list, tuple)) else (lam,)
    shape = env.observation_space.shape, env.action_space.shape
    buffers = {one: OnPolicyBuffer(*shape, num_steps, gamma, one) for one in lams}
    obs, _ = env.reset(seed=seed)
    ep_len = 0
    for t in range(num_steps):
        action, value, logp = agent.step(torch.as_tensor(obs, dtype=torch.float32))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        ep_len += 1
        for buf in buffers.values():
            buf.store(obs, action, reward, value, logp)
        obs = next_obs
        if terminated or truncated or ep_len == max_ep_len or t == num_steps - 1:
            last_v = 0.0 if terminated else agent.step(torch.as_tensor(obs, dtype=torch.float32))[1]
            for buf in buffers.values():
                buf.finish_path(last_v)
            obs, _ = env.reset()
            ep_len = 0
    return buffers if isinstance(lam, (list, tuple)) else buffers[lam]


# ----------------------------------------------------------------------------------------------
# An off-policy critic against the truth, over training
# ----------------------------------------------------------------------------------------------
def q_bias_over_training(run_dir, env_fn, gamma, q_column="q", epochs=None, **mc_kwargs):
    """How far an off-policy agent's Q estimate is from the true return, at every saved snapshot.

    For each snapshot (:func:`snapshot_epochs`), rebuilds the agent and compares its critic's
    ``Q(s, mu(s))`` with the Monte Carlo return of its deterministic policy over the states it
    visits (:func:`~spinup_lib.notebook.q_versus_monte_carlo`).

    Args:
        run_dir: a DDPG, TD3 or SAC run that saved snapshots.
        env_fn: builds the env (``make_env_fn(env_id)``).
        gamma: the discount the agent was trained with.
        q_column: the critic to score: ``'q'`` (DDPG), ``'q1'`` or ``'q2'`` (TD3, SAC).
        epochs: the snapshots to score (default: all of them).
        **mc_kwargs: ``num_episodes``, ``episode_len``, ``tail_tol``, ``seed`` of ``q_versus_monte_carlo``.

    Returns:
        pandas.DataFrame, one row per snapshot: ``epoch``, ``steps`` (TotalEnvInteracts at that
        epoch), ``q`` and ``mc_return`` (means over the scored states) and ``bias`` = q - mc_return.
    """
    import pandas as pd

    from spinup_lib.notebook import q_versus_monte_carlo

    progress = read_progress(run_dir).set_index("Epoch")
    rows = []
    for epoch in snapshot_epochs(run_dir) if epochs is None else epochs:
        table = q_versus_monte_carlo(load_agent(run_dir, epoch), env_fn, gamma, **mc_kwargs)
        if q_column not in table:
            raise UserError(f"q_bias_over_training: the agent of {run_dir} has no critic {q_column!r} "
                            f"(it has {', '.join(c for c in table.columns if c.startswith('q'))})")
        rows.append(dict(epoch=epoch, steps=int(progress.loc[epoch, "TotalEnvInteracts"]),
                         q=table[q_column].mean(), mc_return=table.mc_return.mean()))
    bias = pd.DataFrame(rows)
    bias["bias"] = bias.q - bias.mc_return
    return bias
