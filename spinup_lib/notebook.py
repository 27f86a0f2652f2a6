"""What the course notebooks reuse: the training budget, inline videos, a live learning curve.

Every chapter reads its training size from :func:`budget`, the one place that decides it:
CI (which sets the ``CI`` environment variable) runs each chapter small, a student runs the
same notebook unedited at full size. ``SPINUP_BUDGET=small`` or ``full`` overrides both.

Videos are recorded with :mod:`spinup_lib.test_policy` and embedded in the notebook, so they
survive when it is exported or shared. Like the rest of the library, these helpers never
replace a file silently: an existing video is kept unless ``force=True``.
"""
import os
import os.path as osp
import tempfile

from spinup_lib.errors import UserError

#: The environment variable that chooses the budget explicitly.
BUDGET_VARIABLE = "SPINUP_BUDGET"
BUDGET_MODES = ("small", "full")


# ----------------------------------------------------------------------------------------------
# The training budget
# ----------------------------------------------------------------------------------------------
def budget_mode():
    """The training budget in force: ``'small'`` or ``'full'``.

    ``SPINUP_BUDGET`` (``small`` or ``full``, any case) decides when set; otherwise a ``CI``
    variable with a true value (anything but empty, ``0`` or ``false``) means ``'small'``,
    and its absence ``'full'``.

    Raises:
        UserError: ``SPINUP_BUDGET`` holds something else.
    """
    mode = os.environ.get(BUDGET_VARIABLE, "").strip().lower()
    if mode in BUDGET_MODES:
        return mode
    if mode:
        raise UserError(f"{BUDGET_VARIABLE}={mode!r} is not understood: set it to 'small' or 'full', "
                        "or unset it")
    in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return "small" if in_ci else "full"


def budget(full, small):
    """Pick a training size: ``small`` under CI (or ``SPINUP_BUDGET=small``), else ``full``.

    Example: ``EPOCHS = budget(full=50, small=3)``.

    Args:
        full: the value a student's run uses (any object: a number, a tuple, a dict...).
        small: the value used when the notebook is checked quickly, in CI.
    """
    return small if budget_mode() == "small" else full


# ----------------------------------------------------------------------------------------------
# Where a chapter keeps its results
# ----------------------------------------------------------------------------------------------
def chapter_data_dir(chapter, root="data"):
    """A new folder for one execution of a chapter: ``<root>/<chapter>/<date>_<time>[_<n>]``.

    Chapters run from ``course/``, so their results land in ``course/data/`` (ignored by git) where
    a student can find them after the kernel is gone, and each execution gets its own folder, so
    running a chapter again never collides with, or overwrites, an earlier run.

    Args:
        chapter: the chapter's name, e.g. ``'04_vpg'``.
        root: the folder that holds every chapter's results (relative to the working directory).

    Returns:
        str: the path of the new, empty folder.
    """
    import time

    if not chapter or osp.basename(chapter) != chapter or chapter in (".", ".."):
        raise UserError(f"chapter_data_dir needs a plain folder name such as '04_vpg', not {chapter!r}")
    stem = osp.join(root, chapter, time.strftime("%Y-%m-%d_%H-%M-%S"))
    path, number = stem, 0
    while True:
        try:
            os.makedirs(path)
            return osp.abspath(path)
        except FileExistsError:  # two executions in the same second: take the next free name
            number += 1
            path = f"{stem}_{number}"


# ----------------------------------------------------------------------------------------------
# Where rich output can go
# ----------------------------------------------------------------------------------------------
def in_notebook():
    """True when running in a Jupyter kernel, where figures and videos can be displayed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


# ----------------------------------------------------------------------------------------------
# Videos
# ----------------------------------------------------------------------------------------------
def show_video(path, width=480):
    """Display an mp4 inline in a notebook, embedded so that it survives export.

    Args:
        path: the .mp4 file.
        width: width of the player, in pixels.

    Returns:
        IPython.display.Video: the last expression of a cell shows it.
    """
    from IPython.display import Video

    if not osp.isfile(path):
        raise UserError(f"no video file {path}: record one first (e.g. video_of_run(run_dir))")
    return Video(os.fspath(path), embed=True, width=width, html_attributes="controls loop autoplay muted")


def _first_free_path(path):
    """``path`` if nothing is there, else ``<stem>_1<ext>``, ``<stem>_2<ext>``... whichever is free."""
    stem, ext = osp.splitext(path)
    candidate, number = path, 0
    while osp.exists(candidate):
        number += 1
        candidate = f"{stem}_{number}{ext}"
    return candidate


def video_of_agent(env_fn, get_action, path=None, num_episodes=1, max_ep_len=None, seed=0, force=False,
                   width=480, **video_options):
    """Record ``get_action`` playing in a fresh env and show the video inline.

    Args:
        env_fn: builds the env; called as ``env_fn(render_mode='rgb_array')``
            (``spinup_lib.envs.make_env_fn(env_id)`` and ``functools.partial(gym.make, id)`` do).
        get_action: ``obs -> action``, e.g. from ``load_policy_and_env`` or your own policy.
        path: the .mp4 file to write; default a new file in a fresh temporary folder.
        num_episodes: episodes to record, one after the other.
        max_ep_len: cut episodes after this many steps (None: the env's own time limit).
        seed: seeds the first reset and torch's sampling, so the same agent gives the same
            video; None leaves them random.
        force: replace ``path`` if it exists (refused otherwise).
        width: width of the player, in pixels.
        **video_options: ``fps``, ``frame_size``, ``camera``, ``progress`` of
            :func:`spinup_lib.test_policy.record_episodes` (by default MuJoCo agents are
            followed by their tracking camera, filmed in real time at up to 30 fps).

    Returns:
        IPython.display.Video of the recording (its file is ``.filename``).

    Raises:
        UserError: ``path`` exists and ``force`` is False, or does not end in .mp4.
    """
    from spinup_lib.test_policy import check_video_path, record_episodes

    if path is None:
        path = osp.join(tempfile.mkdtemp(prefix="spinup_video_"), "agent.mp4")
    check_video_path(path, force)  # before building anything
    env = env_fn(render_mode="rgb_array")
    try:
        record_episodes(env, get_action, path, num_episodes=num_episodes, max_ep_len=max_ep_len,
                        seed=seed, force=force, **video_options)
    finally:
        env.close()
    return show_video(path, width=width)


def video_of_run(run_dir, path=None, itr="last", num_episodes=1, deterministic=True, seed=0, force=False,
                 width=480, **video_options):
    """Record the agent a run saved and show the video inline.

    Args:
        run_dir: the run's output directory (holding ``pyt_save/model.pt``).
        path: the .mp4 file to write; default ``<run_dir>/videos/agent.mp4``, or
            ``agent_1.mp4``, ``agent_2.mp4``... when that exists (an earlier video is never replaced).
        itr: 'last' for the latest agent, or an epoch N for the snapshot ``model<N>.pt``.
        num_episodes: episodes to record, one after the other.
        deterministic: take the most likely action rather than sampling one.
        seed: seeds the first reset and torch's sampling (None: random).
        force: replace an explicit ``path`` if it exists (refused otherwise).
        width: width of the player, in pixels.
        **video_options: ``fps``, ``frame_size``, ``camera``, ``progress`` of
            :func:`spinup_lib.test_policy.record_episodes`.

    Returns:
        IPython.display.Video of the recording (its file is ``.filename``).
    """
    from spinup_lib.test_policy import check_video_path, load_policy_and_env, record_episodes

    if path is None:
        path = _first_free_path(osp.join(run_dir, "videos", "agent.mp4"))
    check_video_path(path, force)
    env, get_action = load_policy_and_env(run_dir, itr=itr, deterministic=deterministic, render_mode="rgb_array")
    try:
        record_episodes(env, get_action, path, num_episodes=num_episodes, seed=seed, force=force,
                        **video_options)
    finally:
        env.close()
    return show_video(path, width=width)


# ----------------------------------------------------------------------------------------------
# A learning curve that redraws while training runs
# ----------------------------------------------------------------------------------------------
class LiveCurve:
    """A learning curve that redraws in place while a notebook cell trains.

    Pass it as the logger's ``epoch_callback``, and the curve grows by one point per epoch::

        curve = LiveCurve('AverageEpRet')
        ppo(env_fn, logger_kwargs=dict(output_dir=run_dir, epoch_callback=curve))

    or feed it yourself with ``curve.update(epoch, value)``. When the column is an
    ``Average<X>`` and the row also holds ``Std<X>`` (as EpochLogger writes them), a band of
    one standard deviation is drawn around the curve. Outside a Jupyter kernel (a script,
    a test) nothing is drawn: the points are only recorded in ``xs``, ``ys`` and ``stds``.

    Args:
        ylabel: the progress.txt column to follow (the y axis).
        xlabel: the column for the x axis (``'Epoch'`` or ``'TotalEnvInteracts'``); a row
            without it gets the number of points so far.
        title: the figure's title.
        band: draw the standard-deviation band when the row has one.
        figsize: the figure's size in inches.
    """

    def __init__(self, ylabel="AverageEpRet", xlabel="Epoch", title=None, band=True, figsize=(6, 3.5)):
        self.xs, self.ys, self.stds = [], [], []
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.band = band
        self.figsize = figsize
        self._handle = None

    @property
    def std_key(self):
        """The column holding the spread of ``ylabel`` (``AverageEpRet`` -> ``StdEpRet``), or None."""
        if self.band and self.ylabel.startswith("Average"):
            return "Std" + self.ylabel[len("Average"):]
        return None

    def update(self, x, y, std=None):
        """Add the point ``(x, y)`` (with an optional standard deviation) and redraw."""
        self.xs.append(x)
        self.ys.append(float(y))
        self.stds.append(float("nan") if std is None else float(std))
        if in_notebook():
            self._redraw()

    def __call__(self, row):
        """Use the curve as the logger's ``epoch_callback``: add ``row[ylabel]`` against ``row[xlabel]``.

        Rows without ``ylabel`` are ignored, so one callback can follow any algorithm.
        """
        if self.ylabel not in row:
            return
        x = row.get(self.xlabel, len(self.xs))
        std = row.get(self.std_key) if self.std_key else None
        self.update(x, row[self.ylabel], std)

    def figure(self):
        """The curve so far as a matplotlib Figure (made without pyplot, so never shown twice)."""
        import numpy as np
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=self.figsize)
        ax = fig.subplots()
        xs, ys, stds = (np.asarray(v, dtype=float) for v in (self.xs, self.ys, self.stds))
        ax.plot(xs, ys, marker="o", markersize=3)
        if np.isfinite(stds).any():
            ax.fill_between(xs, ys - stds, ys + stds, alpha=0.25, linewidth=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and step counts are whole numbers
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        if self.title:
            ax.set_title(self.title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def _redraw(self):
        import io

        from IPython.display import Image, display

        # A PNG of our own figure: works whatever matplotlib backend the kernel uses,
        # and the same output slot is replaced each epoch instead of stacking figures.
        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", dpi=90)
        image = Image(data=buffer.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)


# ----------------------------------------------------------------------------------------------
# Equation beside code: show the library's own lines, read from the source file at run time
# ----------------------------------------------------------------------------------------------
#: Comment lines that mark a region of a library file a chapter can show:
#:     # region: ppo-clipped-objective
#:     ...lines...
#:     # endregion
REGION_START = "# region:"
REGION_END = "# endregion"


class SourceRegion:
    """Lines of a ``spinup_lib`` source file, shown in a notebook with their file and line numbers.

    Attributes:
        path: the file, relative to the repository root (``spinup_lib/algos/ppo.py``).
        start, end: the first and last line number shown (1-based, inclusive).
        text: the lines themselves, dedented (region marker comments left out).
    """

    def __init__(self, path, start, end, lines, answers=None):
        import textwrap

        self.path, self.start, self.end = path, start, end
        self.text = textwrap.dedent("".join(lines)).rstrip("\n")
        self.answers = answers

    def __str__(self):
        return self.text

    def _fold_notice(self):
        return (f"These lines answer {self.answers}: try the exercise first, "
                f"then open them ({self.path}, lines {self.start}-{self.end}).")

    def __repr__(self):
        if self.answers:  # plain text cannot fold: say where the lines are instead of printing them
            return self._fold_notice()
        return f"{self.path}, lines {self.start}-{self.end}:\n{self.text}"

    def _repr_html_(self):
        html = self._code_html()
        if self.answers:
            # <details> folds in JupyterLab and in nbconvert's HTML alike; closed until clicked.
            from html import escape

            return (f'<details><summary style="cursor:pointer;color:#8a4b00">'
                    f'{escape(self._fold_notice())}</summary>{html}</details>')
        return html

    def _code_html(self):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        # Inline styles, so the colours survive export to HTML and need no stylesheet.
        formatter = HtmlFormatter(noclasses=True, linenos="inline", linenostart=self.start, nobackground=True)
        code = highlight(self.text, PythonLexer(), formatter)
        header = (f'<div style="font-family:monospace;font-size:85%;color:#555;margin-bottom:2px">'
                  f'{self.path}, lines {self.start}&ndash;{self.end}</div>')
        return f'<div style="border-left:3px solid #4a90d9;padding-left:8px">{header}{code}</div>'

    def _repr_markdown_(self):
        if self.answers:
            return (f"<details><summary>{self._fold_notice()}</summary>\n\n"
                    f"```python\n{self.text}\n```\n</details>")
        return f"`{self.path}`, lines {self.start}-{self.end}:\n```python\n{self.text}\n```"


def _library_source_file(module):
    """The source file of a ``spinup_lib`` module, given as a dotted name (checked, never arbitrary)."""
    import importlib.util

    if not isinstance(module, str) or not (module == "spinup_lib" or module.startswith("spinup_lib.")):
        raise UserError(f"show_source reads spinup_lib's own files only, not {module!r}: "
                        "give a module such as 'spinup_lib.algos.ppo'")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise UserError(f"no source file for module {module!r}: check the name (e.g. 'spinup_lib.algos.ppo')")
    return spec.origin


def _find_definitions(tree, name):
    """Every function or class definition called ``name`` (``a.b`` for ``b`` defined inside ``a``)."""
    import ast

    parts = name.split(".")
    found = []

    def walk(node, path):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                child_path = path + [child.name]
                if child_path[-len(parts):] == parts:
                    found.append(child)
                walk(child, child_path)
            else:
                walk(child, path)

    walk(tree, [])
    return found


def source_region(module, name):
    """Find a named piece of a ``spinup_lib`` file: a marked region, or a function or class.

    A *marked region* is the lines between ``# region: NAME`` and the next ``# endregion`` (the
    marker lines themselves are left out). Otherwise ``NAME`` is a function or class defined
    anywhere in the file, inner functions included (``compute_loss_pi``); ``outer.inner``
    picks one of several definitions with the same name.

    Args:
        module: the dotted module name, e.g. ``'spinup_lib.algos.ppo'``.
        name: the region's or the definition's name.

    Returns:
        SourceRegion

    Raises:
        UserError: the module is not part of spinup_lib, or holds no such region (a chapter whose
            region was renamed fails loudly instead of showing stale code).
    """
    import ast

    path = _library_source_file(module)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    package_root = osp.dirname(osp.dirname(osp.abspath(__import__("spinup_lib").__file__)))
    shown_path = osp.relpath(path, package_root).replace(os.sep, "/")

    # A marked region first: it names exactly the lines a chapter wants.
    starts = [i for i, line in enumerate(lines) if line.strip() == f"{REGION_START} {name}"]
    if len(starts) > 1:
        raise UserError(f"region {name!r} is marked {len(starts)} times in {shown_path}: give each region one name")
    if starts:
        first = starts[0] + 1
        for last in range(first, len(lines)):
            if lines[last].strip().startswith(REGION_END):
                break
        else:
            raise UserError(f"region {name!r} in {shown_path} has no '{REGION_END}' line after it")
        body = [line for line in lines[first:last] if not line.strip().startswith(REGION_START)]
        return SourceRegion(shown_path, first + 1, last, body)

    definitions = _find_definitions(ast.parse("".join(lines)), name)
    if not definitions:
        raise UserError(f"{shown_path} has no region or definition named {name!r}: "
                        f"mark one with '{REGION_START} {name}' ... '{REGION_END}', or fix the name")
    if len(definitions) > 1:
        raise UserError(f"{shown_path} defines {name!r} {len(definitions)} times: "
                        "qualify it with the enclosing function, e.g. 'outer.inner'")
    node = definitions[0]
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    body = [line for line in lines[first - 1:node.end_lineno]
            if not line.strip().startswith((REGION_START, REGION_END))]
    return SourceRegion(shown_path, first, node.end_lineno, body)


def show_source(module, name, answers=None):
    """Show a piece of the library beside the equation it computes, read from the file now.

    ``show_source('spinup_lib.algos.ppo', 'compute_loss_pi')`` displays that inner function with its
    file and line numbers; ``show_source('spinup_lib.algos.td3', 'td3-target')`` a marked region
    (see :func:`source_region`). Since the lines are read when the cell runs, what the chapter
    shows is always what the library runs.

    Args:
        module, name: as for :func:`source_region`.
        answers (str): the exercise these lines answer (e.g. ``"Exercise 1.3"``): they are then
            shown folded, behind a line that says so and asks to try the exercise first.

    Returns:
        SourceRegion, displayed as highlighted code when it is a cell's last expression.
    """
    region = source_region(module, name)
    region.answers = answers
    return region


# ----------------------------------------------------------------------------------------------
# Documentation generated from a function's own docstring
# ----------------------------------------------------------------------------------------------
def docstring_args(fn):
    """The ``Args:`` section of a Google-style docstring, as ``{name: description}`` in order."""
    import inspect
    import re

    doc = inspect.getdoc(fn) or ""
    args, current, in_args = {}, None, False
    for line in doc.splitlines():
        if line.strip() == "Args:":
            in_args = True
            continue
        if not in_args:
            continue
        if line and not line.startswith(" "):  # the next section (Returns:, Raises:...) ends Args
            break
        match = re.match(r"^    (\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$", line)
        if match:
            current = match.group(1).lstrip("*")
            args[current] = match.group(3).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return args


def hyperparameter_table(fn):
    """A table of a function's parameters: name, default and the docstring's description.

    Generated from the function itself (``inspect.signature`` and its ``Args:`` section), so the
    chapter's documentation can never disagree with the code. Parameters the docstring does not
    describe are listed with an empty description, so a missing line shows.

    Returns:
        pandas.DataFrame with columns ``parameter``, ``default``, ``description``.
    """
    import inspect

    import pandas as pd

    described = docstring_args(fn)
    rows = []
    for param in inspect.signature(fn).parameters.values():
        if param.default is inspect.Parameter.empty:
            default = "(required)"
        elif callable(param.default) and hasattr(param.default, "__name__"):
            default = f"{param.default.__module__}.{param.default.__qualname__}"
        else:
            default = repr(param.default)
        rows.append(dict(parameter=param.name, default=default, description=described.get(param.name, "")))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# How far a learned Q function is from the truth: Q(s, mu(s)) against Monte Carlo returns
# ----------------------------------------------------------------------------------------------
def q_versus_monte_carlo(ac, env_fn, gamma, num_episodes=5, episode_len=None, tail_tol=0.01, seed=0,
                         target_noise=0.0, noise_clip=0.5):
    """Compare an agent's Q estimates with the discounted returns its policy really earns.

    Plays ``num_episodes`` episodes with the deterministic policy (``ac.act(obs,
    deterministic=True)``). For each of the first ``episode_len`` states ``s_t`` visited, it records
    the agent's estimate ``Q(s_t, mu(s_t))`` of every Q network it has (``q``; or ``q1`` and ``q2``)
    and the true discounted return of the same policy from that state,
    ``G_t = sum_k gamma^k r_{t+k}``. Since the Q functions are trained to bootstrap through time
    limits (they estimate the return of a task that goes on), each episode is played on past
    ``episode_len`` for as many extra steps as it takes for ``gamma^k`` to fall below ``tail_tol``
    (or until the env terminates), so that ``G_t`` misses at most that fraction of the future.
    With a deterministic env and policy one playthrough gives the exact return of each state.

    TD3's critic does not value ``mu`` itself: its target takes the next action from the
    *smoothed* policy ``clip(mu(s) + clip(eps, -c, c), low, high)``. With ``target_noise`` > 0
    every action of the playthrough gets that noise (in half-widths of the action box, as
    ``td3`` draws it), each Q is evaluated at the action really taken, and ``mc_return`` is one
    sample of that policy's return: unbiased, so averages over many states compare with Q.

    Args:
        ac: an actor-critic (``DDPGActorCritic``, ``TD3ActorCritic``...) with ``act`` and ``q`` or ``q1``/``q2``.
        env_fn: builds the env; called as ``env_fn(max_episode_steps=N)`` (``make_env_fn(env_id)`` does).
        gamma (float): the discount factor the agent was trained with, in (0, 1).
        num_episodes (int): episodes played (each from a fresh reset, seeded ``seed``, ``seed + 1``...).
        episode_len (int): states scored per episode; default the env's own time limit.
        tail_tol (float): how small ``gamma^k`` must get before a playthrough may stop.
        seed (int): seed of the first reset (and of the smoothing noise).
        target_noise (float): standard deviation of the smoothing noise, as a fraction of the
            action box's half-width; 0 (the default) plays ``mu`` itself.
        noise_clip (float): the noise is clipped to [-noise_clip, noise_clip] (same units).

    Returns:
        pandas.DataFrame with one row per scored state: ``episode``, ``t``, ``mc_return`` and one
        column per Q network (``q``, or ``q1`` and ``q2``), each at the action taken in that state.

    Raises:
        UserError: gamma is not in (0, 1), the noise is negative, or the agent has no Q network.
    """
    import math

    import numpy as np
    import pandas as pd
    import torch

    if not 0 < gamma < 1:
        raise UserError(f"gamma={gamma!r} must be between 0 and 1 (exclusive) for discounted returns")
    if not (target_noise >= 0 and noise_clip >= 0):
        raise UserError(f"target_noise ({target_noise!r}) and noise_clip ({noise_clip!r}) must be >= 0")
    q_names = [name for name in ("q", "q1", "q2") if isinstance(getattr(ac, name, None), torch.nn.Module)]
    if not q_names:
        raise UserError(f"{type(ac).__name__} has no Q network (q, or q1 and q2): give an off-policy actor-critic")
    if episode_len is None:
        probe = env_fn()
        episode_len = probe.spec.max_episode_steps if probe.spec is not None else None
        probe.close()
        if episode_len is None:
            raise UserError("the env has no time limit: pass episode_len, the number of states to score")
    tail_len = math.ceil(math.log(tail_tol) / math.log(gamma))
    env = env_fn(max_episode_steps=episode_len + tail_len)
    low, high = env.action_space.low, env.action_space.high
    noise_rng = np.random.default_rng(seed)

    frames = []
    try:
        for episode in range(num_episodes):
            obs, _ = env.reset(seed=seed + episode)
            observations, actions, rewards = [], [], []
            for _ in range(episode_len + tail_len):
                act = ac.act(torch.as_tensor(obs, dtype=torch.float32), deterministic=True)
                if target_noise > 0:
                    epsilon = np.clip(target_noise * noise_rng.standard_normal(act.shape), -noise_clip, noise_clip)
                    act = np.clip(act + epsilon * (high - low) / 2, low, high).astype(act.dtype)
                observations.append(obs)
                actions.append(act)
                obs, reward, terminated, truncated, _ = env.step(act)
                rewards.append(reward)
                if terminated or truncated:
                    break
            # G_t = r_t + gamma G_{t+1}, from the end backwards (G after a termination is 0).
            returns = np.zeros(len(rewards))
            running = 0.0
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                returns[t] = running
            scored = min(episode_len, len(rewards))
            obs_batch = torch.as_tensor(np.array(observations[:scored]), dtype=torch.float32)
            act_batch = torch.as_tensor(np.array(actions[:scored]), dtype=torch.float32)
            frame = dict(episode=episode, t=np.arange(scored), mc_return=returns[:scored])
            with torch.no_grad():
                for name in q_names:
                    frame[name] = getattr(ac, name)(obs_batch, act_batch).numpy()
            frames.append(pd.DataFrame(frame))
    finally:
        env.close()
    return pd.concat(frames, ignore_index=True)


from spinup_lib.notebook_runs import *  # noqa: E402,F401,F403  train, train_variants, load_agent... (one place for chapters)
