"""Launching experiments: where results go, grids of hyperparameters, one fresh process per run.

* :func:`setup_logger_kwargs` decides a run's output directory from its name, seed and date.
* :func:`call_experiment` runs one function call (an algorithm and its arguments) in a new
  Python process, so that nothing (RNG state, torch threads, MPI) leaks between experiments.
* :class:`ExperimentGrid` runs every combination of a set of hyperparameter values (in series,
  several at once, or on a Ray cluster: :mod:`spinup_lib.grid_runner`), naming each run after
  the values that differ; run again, a grid goes on where it stopped.
* :func:`parse_value` turns command-line text into Python values without ``eval``.
* :func:`resume_experiment` continues a run from its ``checkpoint.pt``.

Settings, read each time they are used (so a test or a notebook can change them):

``DEFAULT_DATA_DIR``
    ``$SPINUP_DATA_DIR`` if set, else ``./data`` under the current working directory.
    Assign ``spinup_lib.run_utils.DEFAULT_DATA_DIR = path`` to override both
    (``del spinup_lib.run_utils.DEFAULT_DATA_DIR`` undoes it).
``FORCE_DATESTAMP``
    When True every output directory gets a date and time, as if ``datestamp=True``.
``DEFAULT_SHORTHAND``
    When True a grid parameter without a shorthand gets one made from its name.
``WAIT_BEFORE_LAUNCH``
    Seconds :meth:`ExperimentGrid.run` waits after listing the runs, so a mistake can be
    stopped with Ctrl-C: ``$SPINUP_WAIT_BEFORE_LAUNCH``, else 0. Assign to override.
"""
import ast
import contextlib
import difflib
import importlib
import inspect
import itertools
import json
import numbers
import os
import os.path as osp
import pickle
import re
import shlex
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time

from spinup_lib.errors import UserError

FORCE_DATESTAMP = False
DEFAULT_SHORTHAND = True

# The algorithms `python -m spinup_lib.run` knows, each `spinup_lib.algos.<name>.<name>`,
# and the ones written to run data-parallel on several MPI processes.
ALGORITHM_NAMES = ("vpg", "trpo", "ppo", "ddpg", "td3", "sac")
MPI_ALGORITHM_NAMES = ("vpg", "trpo", "ppo")

DIV_LINE_WIDTH = 80


# ----------------------------------------------------------------------------------------------
# Settings read at call time
# ----------------------------------------------------------------------------------------------
def __getattr__(name):
    # Module attributes computed when read: `run_utils.DEFAULT_DATA_DIR` follows the environment
    # variable at the moment it is used, unless a value was assigned to the module.
    if name == "DEFAULT_DATA_DIR":
        return default_data_dir()
    if name == "WAIT_BEFORE_LAUNCH":
        return wait_before_launch()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_data_dir():
    """Where results go when no ``data_dir`` is given (see the module docstring)."""
    assigned = globals().get("DEFAULT_DATA_DIR")
    if assigned is not None:
        return assigned
    from_env = os.environ.get("SPINUP_DATA_DIR")
    if from_env:
        return osp.expanduser(from_env)
    return osp.abspath("data")


def wait_before_launch():
    """Seconds to wait before a grid launches (see the module docstring)."""
    assigned = globals().get("WAIT_BEFORE_LAUNCH")
    if assigned is not None:
        return float(assigned)
    text = os.environ.get("SPINUP_WAIT_BEFORE_LAUNCH", "").strip()
    if not text:
        return 0.0
    try:
        return max(0.0, float(text))
    except ValueError:
        raise UserError(f"SPINUP_WAIT_BEFORE_LAUNCH={text!r} is not a number of seconds") from None


def colorize(text, color="green", bold=False):
    """Wrap text in ANSI colour codes, only when printing to a terminal."""
    if not sys.stdout.isatty():
        return text
    codes = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36}
    attributes = [str(codes[color])] + (["1"] if bold else [])
    return f"\x1b[{';'.join(attributes)}m{text}\x1b[0m"


# ----------------------------------------------------------------------------------------------
# Output directories
# ----------------------------------------------------------------------------------------------
def setup_logger_kwargs(exp_name, seed=None, data_dir=None, datestamp=False):
    """Choose a run's output directory; return ``dict(output_dir=..., exp_name=...)`` for the logger.

    * no seed, no datestamp: ``data_dir/exp_name``
    * a seed: ``data_dir/exp_name/exp_name_s<seed>``
    * datestamp: ``data_dir/YYYY-MM-DD_exp_name/YYYY-MM-DD_HH-MM-SS-exp_name_s<seed>``
      (and ``data_dir/YYYY-MM-DD_exp_name`` without a seed)

    Args:
        exp_name (str): name of the experiment; runs that differ only by seed share it.
        seed (int): the run's random seed, or None to leave it out of the path.
        data_dir (str): folder that holds all experiments; default :func:`default_data_dir`.
        datestamp (bool): put the date (and time) in the names; forced by ``FORCE_DATESTAMP``.
    """
    check_exp_name(exp_name)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise UserError(f"seed must be an int, got {seed!r}")
    datestamp = datestamp or FORCE_DATESTAMP
    now = time.localtime()  # one clock reading, so the outer and inner stamps agree
    relpath = (time.strftime("%Y-%m-%d_", now) if datestamp else "") + exp_name
    if seed is not None:
        subfolder = f"{exp_name}_s{seed}"
        if datestamp:
            subfolder = time.strftime("%Y-%m-%d_%H-%M-%S-", now) + subfolder
        relpath = osp.join(relpath, subfolder)
    data_dir = data_dir or default_data_dir()
    return dict(output_dir=osp.join(str(data_dir), relpath), exp_name=exp_name)


# A run's folder is '<date>-<time>-<exp_name>_s<seed>': 200 characters leave room for the rest
# within the 255 bytes file systems allow in one name.
MAX_EXP_NAME_LENGTH = 200
_SEPARATORS = "/\\:"  # ':' too: on Windows 'C:name' is a path on drive C


def check_exp_name(exp_name):
    """Raise UserError unless ``exp_name`` names one folder inside the data directory.

    Refused: empty names, '.' and '..', path separators (so no absolute paths and no way
    out of the data directory), control characters, and names over 200 characters.
    """
    if not isinstance(exp_name, str) or not exp_name.strip():
        raise UserError(f"the experiment name (--exp_name) must be a non-empty string, got {exp_name!r}")
    shown = exp_name if len(exp_name) <= 40 else exp_name[:37] + "..."
    if exp_name in (".", ".."):
        raise UserError(f"the experiment name (--exp_name) '{exp_name}' is a folder reference, not a name: "
                        "use letters, digits, '-' and '_' (results go in data_dir/NAME)")
    bad = sorted({c for c in exp_name if c in _SEPARATORS or ord(c) < 32 or ord(c) == 127})
    if bad:
        raise UserError(f"the experiment name (--exp_name) {shown!r} contains {', '.join(map(repr, bad))}: "
                        "a name is one folder inside the data directory (choose the directory with "
                        "--data_dir / data_dir=), so use letters, digits, '-', '_' and '.'")
    if len(exp_name.encode("utf-8")) > MAX_EXP_NAME_LENGTH:
        raise UserError(f"the experiment name (--exp_name) {shown!r} is {len(exp_name)} characters long: "
                        f"use at most {MAX_EXP_NAME_LENGTH} (shorter names or grid shorthands)")


def check_run_dir_is_free(output_dir):
    """Raise UserError if ``output_dir`` already holds a run.

    A run is recognised by its progress.txt, and also by its config.json, checkpoints or saved
    agents (so a run whose progress.txt was deleted is not overwritten either).
    """
    from spinup_lib.logx import existing_run_files

    found = existing_run_files(output_dir)
    if "progress.txt" in found:
        raise UserError(
            f"{output_dir} already holds a run (progress.txt): choose another --exp_name or "
            "--data_dir, add --dt for a dated folder, or continue it with "
            f"`python -m spinup_lib.run resume {shlex.quote(str(output_dir))}`")
    if found:
        raise UserError(
            f"{output_dir} holds files of a run ({', '.join(found)}) but no progress.txt: it is not "
            "written into; choose another --exp_name or --data_dir, or move those files away")


# ----------------------------------------------------------------------------------------------
# Running one experiment in a fresh process
# ----------------------------------------------------------------------------------------------
class ExperimentFailed(subprocess.CalledProcessError):
    """The process running an experiment stopped with an error, or was killed.

    ``failure`` is the error the experiment reported (``'ValueError: ...'``, its traceback
    printed above), or None when it ended without reporting one (killed by a signal, or the
    interpreter itself failed): the message then says how it ended instead.
    """

    def __init__(self, returncode, cmd, exp_name, failure=None):
        super().__init__(returncode, cmd)
        self.exp_name = exp_name
        self.failure = failure

    def __str__(self):
        from spinup_lib.lifecycle import exit_status_text, signal_name

        if self.failure:
            return f"experiment '{self.exp_name}' failed with {self.failure} (its traceback is above)"
        how = exit_status_text(self.returncode)
        if self.returncode is not None and self.returncode > 128:
            # A shell, or mpirun for a rank, reports death by signal N as status 128 + N.
            how += f", as after {signal_name(self.returncode - 128)}"
        hint = " (out of memory? the system kills the largest process)" if "SIGKILL" in how else ""
        return f"experiment '{self.exp_name}' stopped without reporting an error: {how}{hint}"


# More MPI processes than this per CPU only slow a run down (and a typo such as --cpu 1000
# would start a thousand Python processes).
MAX_PROCS_PER_CPU = 4


def resolve_num_cpu(num_cpu):
    """``num_cpu`` as an int from 1 to 4 per CPU of this machine; 'auto' means one per CPU."""
    cpus = os.cpu_count() or 1
    if num_cpu == "auto":
        return cpus
    if isinstance(num_cpu, bool) or not isinstance(num_cpu, int) or num_cpu < 1:
        raise UserError(f"num_cpu (--cpu) must be a positive int or 'auto', got {num_cpu!r}")
    if num_cpu > MAX_PROCS_PER_CPU * cpus:
        raise UserError(f"num_cpu (--cpu) is {num_cpu}, more than {MAX_PROCS_PER_CPU} processes per CPU of "
                        f"this machine ({cpus} CPUs): use at most {MAX_PROCS_PER_CPU * cpus}, or 'auto' "
                        "for one per CPU")
    return num_cpu


def run_in_fresh_process(thunk, kwargs, num_cpu=1, exp_name="experiment"):
    """Call ``thunk(**kwargs)`` in a new Python process (``num_cpu`` MPI processes); wait for it.

    The call is serialised with cloudpickle into a temporary file that
    ``python -m spinup_lib.run_entrypoint`` reads; functions from importable modules travel
    by reference (the child gets this process's ``sys.path``), functions defined in
    ``__main__`` or a notebook travel by value.

    The child never outlives this process: SIGINT, SIGTERM and SIGHUP received while waiting
    are passed on to it (and through it to mpirun and the ranks), and if this process is
    killed outright the child notices and stops (see :mod:`spinup_lib.lifecycle`). Temporary
    folders left by launchers that were killed are removed.

    Raises:
        UserError: the experiment stopped on a user mistake (its message is passed on).
        ExperimentFailed: it stopped on any other error, or was killed.
        KeyboardInterrupt: it was interrupted (Ctrl-C, SIGINT).
        SystemExit: this process received SIGTERM or SIGHUP (after the child stopped).
    """
    import cloudpickle

    from spinup_lib.lifecycle import wait_passing_on_signals

    num_cpu = resolve_num_cpu(num_cpu)
    _remove_stale_call_folders()
    workdir = tempfile.mkdtemp(prefix=f"spinup_call_{os.getpid()}_")
    try:
        payload_path = osp.join(workdir, "call.pkl")
        error_path = osp.join(workdir, "user_error.txt")
        failure_path = osp.join(workdir, "failure.txt")
        payload = dict(
            num_cpu=num_cpu,
            sys_path=[p for p in sys.path if p],
            error_file=error_path,
            failure_file=failure_path,
            parent_pid=os.getpid(),
            call=cloudpickle.dumps((thunk, kwargs)),
        )
        with open(payload_path, "wb") as f:
            pickle.dump(payload, f)
        cmd = [sys.executable or "python", "-m", "spinup_lib.run_entrypoint", payload_path]
        process = subprocess.Popen(cmd, env=os.environ.copy())
        returncode, signum = wait_passing_on_signals(process)
        if signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + int(signum))
        if osp.exists(error_path):
            with open(error_path, encoding="utf-8") as f:
                message = f.read().strip()
            if message:
                raise UserError(message)
        if returncode in (130, -2):
            raise KeyboardInterrupt
        if returncode != 0:
            failure = None
            if osp.exists(failure_path):
                with open(failure_path, encoding="utf-8") as f:
                    failure = f.read().strip() or None
            raise ExperimentFailed(returncode, cmd, exp_name, failure)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _remove_stale_call_folders():
    """Remove the temporary folders of run_in_fresh_process whose launcher was killed."""
    from spinup_lib.lifecycle import process_is_alive

    folder = tempfile.gettempdir()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = re.match(r"^spinup_call_(\d+)_", name)
        if match and not process_is_alive(int(match.group(1))):
            shutil.rmtree(osp.join(folder, name), ignore_errors=True)


def call_experiment(exp_name, thunk, seed=0, num_cpu=1, data_dir=None, datestamp=False, **kwargs):
    """Run ``thunk(seed=seed, logger_kwargs=..., **kwargs)`` in a fresh Python process.

    Prints the configuration, chooses the output directory with :func:`setup_logger_kwargs`
    (unless ``logger_kwargs`` is given), refuses a directory that already holds a run, runs the
    call (under MPI when ``num_cpu`` > 1) and then prints the commands that plot the results
    and replay the agent. A fresh process per experiment keeps runs independent.

    Args:
        exp_name (str): name of the experiment (the output directory is named after it).
        thunk (callable): the function to run, usually an algorithm such as ``vpg``.
        seed (int): random seed, passed to ``thunk`` as ``seed``.
        num_cpu (int or 'auto'): number of MPI processes; 'auto' uses every CPU.
        data_dir (str): folder for results; default :func:`default_data_dir`.
        datestamp (bool): put date and time in the directory names.
        **kwargs: everything else ``thunk`` takes. ``env_name='CartPole-v1'`` is a shortcut:
            ``thunk`` gets ``env_fn=spinup_lib.envs.make_env_fn('CartPole-v1')`` instead.

    Returns:
        str: the output directory of the run.

    Raises:
        UserError: a bad argument, an occupied output directory, or a user mistake met by the run.
        ExperimentFailed: the run crashed (its traceback was printed by the child process).
    """
    if not callable(thunk):
        raise UserError(f"the experiment's thunk must be callable, got {thunk!r}")
    num_cpu = resolve_num_cpu(num_cpu)
    kwargs["seed"] = seed

    print(colorize("Running experiment:\n", color="cyan", bold=True))
    print(exp_name + "\n")
    print(colorize("with kwargs:\n", color="cyan", bold=True))
    print(_config_as_json(kwargs) + "\n")

    if "logger_kwargs" in kwargs:
        print("Note: logger_kwargs was given, so call_experiment does not choose the output directory.\n")
    else:
        kwargs["logger_kwargs"] = setup_logger_kwargs(exp_name, seed, data_dir, datestamp)
    output_dir = kwargs["logger_kwargs"].get("output_dir")
    if output_dir and not kwargs["logger_kwargs"].get("resume"):
        check_run_dir_is_free(output_dir)

    if "env_name" in kwargs:
        # The thunk takes a picklable env_fn; the id itself is not one of its arguments.
        if "env_fn" in kwargs:
            raise UserError("give env_name or env_fn, not both")
        from spinup_lib.envs import make_env_fn

        kwargs["env_fn"] = make_env_fn(kwargs.pop("env_name"))

    try:
        run_in_fresh_process(thunk, kwargs, num_cpu=num_cpu, exp_name=exp_name)
    except ExperimentFailed as failed:
        print("\n" + "=" * DIV_LINE_WIDTH)
        print(f"The {str(failed)[0].upper()}{str(failed)[1:]}.")
        print("=" * DIV_LINE_WIDTH + "\n")
        raise

    if output_dir:
        print_end_banner(output_dir)
    return output_dir


def print_end_banner(output_dir):
    """Say where a finished run's results are, and how to plot and replay them."""
    quoted = shlex.quote(str(output_dir))
    plot_cmd = colorize(f"python -m spinup_lib.run plot {quoted}")
    test_cmd = colorize(f"python -m spinup_lib.run test_policy {quoted}")
    print("\n" + "=" * DIV_LINE_WIDTH)
    print(f"End of experiment. Results are in\n    {output_dir}")
    print(f"Plot the learning curve with:\n    {plot_cmd}")
    print(f"Watch the trained agent with:\n    {test_cmd}")
    print("=" * DIV_LINE_WIDTH + "\n", flush=True)


def _config_as_json(config):
    """Pretty JSON of a configuration, for printing (callables by name)."""
    try:
        from spinup_lib.logx import convert_json
    except ImportError:  # the logger module is optional for printing; fall back to repr
        def convert_json(obj):
            return obj
    return json.dumps(convert_json(config), indent=4, sort_keys=True, default=_display)


# ----------------------------------------------------------------------------------------------
# Grids of experiments
# ----------------------------------------------------------------------------------------------
_ALPHANUMERIC = set(string.ascii_letters + string.digits)
_PATH_SAFE = _ALPHANUMERIC | set("-_")


def path_safe_name(value):
    """A value as text that is safe in a directory name.

    Objects with a ``__name__`` (functions, classes) give that name, lists and tuples join their
    items with '-', and everything is lower-cased with characters other than letters, digits,
    '-' and '_' replaced by '-': ``0.1`` -> ``0-1``, ``[64, 32]`` -> ``64-32``,
    ``torch.nn.ReLU`` -> ``relu``.
    """
    if hasattr(value, "__name__"):
        return path_safe_name(value.__name__)
    if isinstance(value, (list, tuple)):
        return "-".join(path_safe_name(item) for item in value)
    text = str(value).lower()
    return "".join(c if c in _PATH_SAFE else "-" for c in text)


def default_shorthand(key):
    """First three letters of each ':'-separated part of ``key`` (alphanumerics only), joined by '-'.

    ``clip_ratio`` -> ``cli``, ``ac_kwargs:hidden_sizes`` -> ``ac-hid``.
    """
    return "-".join("".join(c for c in part[:3] if c in _ALPHANUMERIC) for part in key.split(":"))


def _display(value):
    """A short readable form of a value, for printing."""
    if hasattr(value, "__module__") and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


class ExperimentGrid:
    """Run an algorithm over every combination of a set of hyperparameter values.

    Example::

        eg = ExperimentGrid(name='ppo-bench')
        eg.add('env_name', 'CartPole-v1', '', True)
        eg.add('seed', [0, 10, 20])
        eg.add('ac_kwargs:hidden_sizes', [(32,), (64, 64)], 'hid')
        eg.run(ppo, num_cpu=2)

    Runs are named after the grid plus, for each parameter with several values (or added with
    ``in_name=True``), its shorthand and value: ``ppo-bench_cartpole-v1_hid32``. The seed never
    appears in the name, so runs that differ only by seed share a folder.

    Args:
        name (str): the grid's name, the start of every run's name.
    """

    def __init__(self, name=""):
        self.keys = []
        self.vals = []
        self.shorthands = []
        self.in_names = []
        self.name(name)

    def name(self, name):
        """Set the grid's name (a string)."""
        if not isinstance(name, str):
            raise UserError(f"the grid's name must be a string, got {name!r}")
        self._name = name

    def add(self, key, vals, shorthand=None, in_name=False):
        """Add a parameter with its possible values.

        Args:
            key (str): the thunk's argument name; ``outer:inner`` sets ``outer=dict(inner=...)``.
            vals: one value, or a list of values (a tuple counts as one value).
            shorthand (str): short name used in run names; by default made from the key
                (see :func:`default_shorthand`, turned off by ``DEFAULT_SHORTHAND = False``).
                ``''`` puts the bare value in the name.
            in_name (bool): name runs after this parameter even when it has a single value.
        """
        if not isinstance(key, str) or not key or any(not part for part in key.split(":")):
            raise UserError(f"a grid parameter's key must be a name like 'lr' or 'ac_kwargs:activation', got {key!r}")
        if shorthand is not None and not isinstance(shorthand, str):
            raise UserError(f"the shorthand for '{key}' must be a string, got {shorthand!r}")
        if key in self.keys:
            raise UserError(f"'{key}' was added to the grid twice: give all its values in one add() call")
        for other in self.keys:
            if other.startswith(key + ":") or key.startswith(other + ":"):
                raise UserError(f"'{key}' and '{other}' both set the same argument: use only one of them")
        if not isinstance(vals, list):
            vals = [vals]
        if not vals:
            raise UserError(f"'{key}' needs at least one value")
        if shorthand is None and DEFAULT_SHORTHAND:
            shorthand = default_shorthand(key)
        self.keys.append(key)
        self.vals.append(vals)
        self.shorthands.append(shorthand)
        self.in_names.append(bool(in_name))

    def print(self):
        """Print the parameters, their values, and how many runs the grid holds."""
        line = "=" * DIV_LINE_WIDTH
        print(line)
        print(colorize(f"ExperimentGrid [{self._name}] runs over parameters:\n", color="green", bold=True))
        for key, vals, shorthand in zip(self.keys, self.vals, self.shorthands):
            label = colorize(key.ljust(40), color="cyan", bold=True)
            print(" ", label, f"[{shorthand}]" if shorthand is not None else "", "\n")
            for val in vals:
                print("\t" + _display(val))
            print()
        total = 1
        for vals in self.vals:
            total *= len(vals)
        num_seeds = len(self.vals[self.keys.index("seed")]) if "seed" in self.keys else 1
        print(" Variants, counting seeds: ".ljust(40), total)
        print(" Variants, not counting seeds: ".ljust(40), total // num_seeds)
        print()
        print(line)

    def variant_name(self, variant):
        """The run name of a variant (a dict as made by :meth:`variants`)."""

        def value_of(tree, key):
            # Nested keys ('a:b') live in nested dicts once a variant is built.
            if key in tree:
                return tree[key]
            head, _, rest = key.partition(":")
            return value_of(tree[head], rest)

        name = self._name
        for key, vals, shorthand, in_name in zip(self.keys, self.vals, self.shorthands, self.in_names):
            if key == "seed" or not (len(vals) > 1 or in_name):
                continue
            label = path_safe_name(shorthand if shorthand is not None else key)
            value = value_of(variant, key)
            if all(isinstance(v, bool) for v in vals):
                # A switch is named only when on: 'ppo_norm' rather than 'ppo_normtrue'.
                name += f"_{label}" if value else ""
            else:
                name += f"_{label}{path_safe_name(value)}"
        return name.lstrip("_")

    def variants(self):
        """Every combination of values, as a list of dicts (``a:b`` keys become nested dicts)."""
        variants = []
        for combination in itertools.product(*self.vals):
            variant = {}
            for key, value in zip(self.keys, combination):
                *outer, last = key.split(":")
                tree = variant
                for part in outer:
                    tree = tree.setdefault(part, {})
                tree[last] = value
            variants.append(variant)
        return variants

    def output_dirs(self, data_dir=None, datestamp=False):
        """The output directory of each variant, in the order of :meth:`variants`."""
        return [
            setup_logger_kwargs(self.variant_name(v), v.get("seed", 0), data_dir, datestamp)["output_dir"]
            for v in self.variants()
        ]

    def check_output_dirs(self, data_dir=None, datestamp=False):
        """Raise UserError if two runs would share a directory, or one holds something else.

        A directory may hold this grid's own run, finished or stopped part way: running the
        grid again skips or resumes it (see :mod:`spinup_lib.grid_runner`). Anything else (a
        run made with other settings, files of a run without its progress.txt) is refused.
        """
        from spinup_lib.grid_runner import plan_runs

        plan_runs(self, None, data_dir=data_dir, datestamp=datestamp)

    def _describe(self, variant):
        return ", ".join(f"{k}={_display(v)}" for k, v in variant.items())

    def run(self, thunk, num_cpu=1, data_dir=None, datestamp=False, num_workers=1, ray_address=None,
            dry_run=False):
        """Run every variant: one after the other, several at once, or on a Ray cluster.

        Every output directory is checked before the first run starts. Running the same grid
        again picks it up where it stopped: finished runs are skipped (never written into),
        runs stopped part way resume from their last checkpoint (as ``resume`` does), the
        others start. Each run is a fresh process, so the same seeds give the same numbers
        whichever way the grid runs. See :mod:`spinup_lib.grid_runner` and docs/GRIDS.md.

        Args:
            thunk (callable or str): the function to run, or the key of a grid parameter whose
                values are the functions to run.
            num_cpu (int or 'auto'): MPI processes per run.
            data_dir (str): folder for results; default :func:`default_data_dir`.
            datestamp (bool): put date and time in the directory names.
            num_workers (int): runs at once on this machine. 1 (the default): one after the
                other, each printing its epoch table. More: each run's output goes to
                ``output.log`` in its folder, the terminal shows one summary line per update,
                a failed run does not stop the others (:class:`~spinup_lib.grid_runner.GridFailed`
                is raised at the end), and Ctrl-C stops every run. A run of ``num_cpu`` MPI
                processes counts as ``num_cpu``.
            ray_address (str): run each variant as a task on the Ray cluster at this address
                (``'host:port'``, or ``'auto'`` for one started on this machine); results come
                back under ``data_dir`` here. Needs ``pip install -e .[ray]``.
            dry_run (bool): only list which runs are finished, will resume, or will start.

        Returns:
            list of :class:`spinup_lib.grid_runner.GridRun`: each run's folder, status and outcome.
        """
        from spinup_lib import grid_runner

        if not self.keys:
            raise UserError("the grid is empty: add() some parameters before run()")
        if isinstance(thunk, str) and thunk not in self.keys:
            raise UserError(f"thunk '{thunk}' is not a parameter of the grid")
        num_cpu = resolve_num_cpu(num_cpu)
        num_workers = grid_runner.check_num_workers(num_workers)
        if ray_address is not None:
            if not isinstance(ray_address, str) or not ray_address.strip():
                raise UserError(f"ray_address (--ray) must be a cluster address such as 'auto' or "
                                f"'10.0.0.5:6379', got {ray_address!r}")
            if num_workers > 1:
                raise UserError("give --num_workers or --ray, not both: on a Ray cluster, Ray places the "
                                "runs on the CPUs the cluster has")
        runs = grid_runner.plan_runs(self, thunk, num_cpu, data_dir, datestamp)
        self.print()

        names = sorted({run.exp_name for run in runs})
        line = "=" * DIV_LINE_WIDTH
        print(f"\n{colorize('Preparing to run the following experiments...', bold=True)}\n")
        print("\n".join(names) + f"\n\n{line}")
        grid_runner.print_plan(runs, always=dry_run)
        if dry_run:
            print("Dry run: nothing was started.", flush=True)
            return runs
        if all(run.status == grid_runner.FINISHED for run in runs):
            for run in runs:
                run.outcome = "skipped"
            print("Every run of this grid has finished: nothing to do.", flush=True)
            return runs
        if ray_address is not None:
            grid_runner.import_ray()  # a missing install is said before any waiting

        wait = wait_before_launch()
        if wait > 0:
            print(f"Launching in {wait:g} s: press Ctrl-C to stop "
                  "(SPINUP_WAIT_BEFORE_LAUNCH sets this delay).")
            time.sleep(wait)

        if ray_address is not None:
            return grid_runner.run_on_ray(runs, ray_address, self._name or "grid")
        if num_workers > 1:
            return grid_runner.run_pool(runs, num_workers, self._name or "grid")
        return grid_runner.run_series(runs, data_dir, datestamp)


# ----------------------------------------------------------------------------------------------
# Reading values from the command line, safely
# ----------------------------------------------------------------------------------------------
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Short module prefixes people write for familiar libraries.
_MODULE_ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional"}

#: Where a dotted name may point without an opt-in: importing these packages' modules runs
#: only installed library code. Anything else needs ``allow_modules`` (``--allow_module``).
TRUSTED_MODULES = ("torch.nn", "spinup_lib")


def in_modules(name, modules):
    """Whether the dotted ``name`` is one of ``modules`` or lies inside one of them."""
    return any(name == module or name.startswith(module + ".") for module in modules)


def check_module_names(modules):
    """The ``--allow_module`` values as a tuple, each checked to be a module name like ``mypkg.nets``."""
    modules = (modules,) if isinstance(modules, str) else tuple(modules or ())
    for module in modules:
        if not isinstance(module, str) or not _MODULE_NAME.match(module):
            raise UserError(f"--allow_module takes module names such as mypkg or mypkg.nets, got {module!r}")
    return modules


def parse_value(text, allow_modules=()):
    """Turn one command-line word into a Python value, without executing code.

    In order:

    1. a Python literal (``ast.literal_eval``): ``3``, ``1e-3``, ``True``, ``None``,
       ``[64,64]``, ``(32,)``, ``{'a': 1}``, ``'quoted'``;
    2. a dotted name inside ``torch.nn`` or ``spinup_lib`` (or a module of ``allow_modules``),
       resolved by importing that module and reading attributes: ``torch.nn.ReLU``, ``nn.Tanh``
       (short for ``torch.nn.Tanh``), ``spinup_lib.core.MLPActorCritic``. Nothing is called,
       and no other module is imported: ``tempfile.mkdtemp`` or ``mymodule.X`` stay text;
    3. otherwise the text itself: ``CartPole-v1``, ``auto``.

    What a flag accepts (an activation class, an actor-critic class, an int...) is checked
    afterwards by the command line, before anything runs.

    Raises:
        UserError: a dotted name whose module imports but lacks the attribute (a typo
            such as ``torch.nn.Relu``), with close matches.
    """
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if _DOTTED_NAME.match(text):
        found, value = _resolve_dotted_name(text, allow_modules)
        if found:
            return value
    return text


def _resolve_dotted_name(text, allow_modules=()):
    """(True, object) for a dotted name inside the allowed modules, (False, None) otherwise."""
    head, _, rest = text.partition(".")
    if head in _MODULE_ALIASES:
        text = f"{_MODULE_ALIASES[head]}.{rest}"
    modules = TRUSTED_MODULES + check_module_names(allow_modules)
    if not in_modules(text, modules):
        return False, None  # not even imported: importing a module runs its code
    parts = text.split(".")
    # Import the longest prefix that is a module (never one outside the allowed ones, such
    # as 'torch' for 'torch.nn'), then walk the attributes after it.
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        if not in_modules(module_name, modules):
            return False, None
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
                continue  # this prefix is not a module: try a shorter one
            raise UserError(f"cannot import {module_name} for '{text}' ({type(err).__name__}: {err})") from None
        except Exception as err:  # the module exists but fails on import
            first_line = (str(err).strip().splitlines() or [""])[0]
            raise UserError(f"cannot import {module_name} for '{text}' ({type(err).__name__}: {first_line})") from None
        for i, attribute in enumerate(parts[split:]):
            if not hasattr(obj, attribute):
                where = ".".join(parts[: split + i])
                public = {a.lower(): a for a in dir(obj) if not a.startswith("_")}
                close = [public[c] for c in difflib.get_close_matches(attribute.lower(), list(public), n=3)]
                hint = f": did you mean {', '.join(f'{where}.{c}' for c in close)}?" if close else ""
                raise UserError(f"'{text}' was not found: {where} has no attribute '{attribute}'{hint}")
            obj = getattr(obj, attribute)
        return True, obj
    return False, None


def resolve_class(path, modules, base=None, what="a class"):
    """The class that the dotted ``path`` names, checked before anything is called.

    Used for names read from files (a saved agent's ``ac_class``): the path must lie inside
    ``modules``, name a class, and (with ``base``) a subclass of ``base``.

    Raises:
        UserError: saying which of these failed.
    """
    if not isinstance(path, str) or not _DOTTED_NAME.match(path):
        raise UserError(f"{what} must be given by a dotted name such as spinup_lib.core.MLPActorCritic, got {path!r}")
    if not in_modules(path, modules):
        raise UserError(f"{path} is outside the modules allowed for {what} ({', '.join(modules)}): "
                        "if you trust the module that defines it, allow it (--allow_module MODULE, "
                        "or allow_modules=['MODULE'])")
    found, obj = _resolve_dotted_name(path, [m for m in modules if not in_modules(m, TRUSTED_MODULES)])
    if not found:
        raise UserError(f"cannot import {path}: is the module that defines it installed?")
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        if base is None:
            kind = "a class"
        else:
            where = "torch.nn" if base.__module__.startswith("torch.nn") else base.__module__
            kind = f"a subclass of {where}.{base.__qualname__}"
        raise UserError(f"{path} is not {kind}, so it cannot be {what}")
    return obj


# ----------------------------------------------------------------------------------------------
# Algorithms by name
# ----------------------------------------------------------------------------------------------
def algorithm_is_implemented(name):
    """Whether ``spinup_lib/algos/<name>.py`` exists (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(f"spinup_lib.algos.{name}") is not None


def load_algorithm(name):
    """The algorithm function ``spinup_lib.algos.<name>.<name>``.

    Raises:
        UserError: an unknown name (with close matches) or an algorithm not written yet.
    """
    if name not in ALGORITHM_NAMES:
        close = difflib.get_close_matches(str(name), ALGORITHM_NAMES, n=2, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UserError(f"unknown algorithm '{name}': {hint}choose one of {', '.join(ALGORITHM_NAMES)}")
    module_name = f"spinup_lib.algos.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise  # a missing dependency inside the algorithm is a real error
        raise UserError(f"{name} is not implemented yet: try one of "
                        f"{', '.join(a for a in ALGORITHM_NAMES if algorithm_is_implemented(a))}") from None
    return getattr(module, name)


# ----------------------------------------------------------------------------------------------
# Resuming a run (continues from <run_dir>/checkpoint.pt; see `python -m spinup_lib.run resume`)
# ----------------------------------------------------------------------------------------------
def resume_experiment(run_dir, epochs=None, allow_modules=(), **arguments):
    """Continue the run in ``run_dir`` from its checkpoint, writing into the same directory.

    Runs in this process (a checkpoint can be large: sending it to a child would copy it).
    A run made by several MPI processes is continued by as many: this call then re-launches
    the current command under mpirun (see :func:`spinup_lib.mpi.mpi_fork`), and each process
    reads its own checkpoint. The checkpoint is plain data (see :mod:`spinup_lib.checkpoint`):
    the algorithm is called again with the env rebuilt from its id and classes resolved only
    inside spinup_lib and torch.nn. A run that already has the asked-for epochs is not
    touched (one line says so). At the end, the same banner as a new run's is printed.

    Args:
        run_dir (str): a run's output directory, holding its checkpoint.
        epochs (int): the total number of epochs to reach; default: the original run's.
        allow_modules (list of str): modules of your own whose classes the checkpoint may name
            (e.g. ``['mypkg']`` for ``actor_critic=mypkg.nets.MyActorCritic``): imported only
            if you list them here, since a checkpoint is a file anyone could have written.
        **arguments: arguments the checkpoint could not keep (e.g. ``actor_critic=MyClass``
            for a class of your own, ``env_fn=...`` for an env not made by make_env_fn);
            they are given to the algorithm as they are. Use only what the run used.

    Returns:
        What the algorithm returns (the trained actor-critic), or None when there was nothing
        to do.

    Raises:
        UserError: no (usable) checkpoint, a checkpoint asking for an implausible number of
            processes, per-process checkpoints of different epochs, or an algorithm that
            cannot resume yet.
    """
    from spinup_lib.checkpoint import check_resumable, load_checkpoint, rebuild_call
    from spinup_lib.mpi import mpi_fork, num_procs, proc_id

    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise UserError(f"--epochs must be a positive int, got {epochs!r}")
    run_dir = os.fspath(run_dir)
    checkpoint = check_resumable(run_dir)  # every process's checkpoint, checked to agree
    algo_name = checkpoint["algo"]
    algo = load_algorithm(algo_name)
    parameters = inspect.signature(algo).parameters
    if "resume_from" not in parameters:
        raise UserError(f"{algo_name} cannot resume yet: start a new run instead")
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise UserError(f"{algo_name} has no argument {', '.join(unknown)}")
    call_kwargs = rebuild_call(checkpoint["call"], arguments, allow_modules)
    done = checkpoint["epoch"] + 1
    total = epochs if epochs is not None else call_kwargs.get("epochs")
    if isinstance(total, int) and done >= total:
        if proc_id() == 0:
            print(f"{run_dir} already has {done} epochs (asked for {total}): nothing to do; "
                  "give --epochs N with N > " + str(done) + " to train longer", flush=True)
        return None

    count = checkpoint["num_procs"]
    mpi_fork(count)  # returns at once in a single process or inside MPI
    if num_procs() != count:
        raise UserError(f"{run_dir} was made by {count} processes and must be resumed by as many, "
                        f"not {num_procs()}")
    if proc_id() != 0:
        checkpoint = load_checkpoint(run_dir)  # each process continues from its own state

    previous_logger_kwargs = call_kwargs.get("logger_kwargs") or {}
    exp_name = previous_logger_kwargs.get("exp_name") or osp.basename(osp.normpath(run_dir))
    call_kwargs["logger_kwargs"] = dict(output_dir=run_dir, exp_name=exp_name, resume=True)
    if epochs is not None:
        call_kwargs["epochs"] = epochs
    result = algo(**call_kwargs, resume_from=checkpoint)
    if proc_id() == 0:
        print_end_banner(run_dir)
    return result
