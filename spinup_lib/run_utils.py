"""Launching experiments: where results go, grids of hyperparameters, one fresh process per run.

* :func:`setup_logger_kwargs` decides a run's output directory from its name, seed and date.
* :func:`call_experiment` runs one function call (an algorithm and its arguments) in a new
  Python process, so that nothing (RNG state, torch threads, MPI) leaks between experiments.
* :class:`ExperimentGrid` runs every combination of a set of hyperparameter values, in series,
  naming each run after the values that differ.
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
    if not isinstance(exp_name, str) or not exp_name:
        raise UserError(f"the experiment name must be a non-empty string, got {exp_name!r}")
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


def check_run_dir_is_free(output_dir):
    """Raise UserError if ``output_dir`` already holds a run (a progress.txt)."""
    if osp.exists(osp.join(output_dir, "progress.txt")):
        raise UserError(
            f"{output_dir} already holds a run (progress.txt): choose another --exp_name or "
            "--data_dir, add --dt for a dated folder, or continue it with "
            f"`python -m spinup_lib.run resume {shlex.quote(str(output_dir))}`")


# ----------------------------------------------------------------------------------------------
# Running one experiment in a fresh process
# ----------------------------------------------------------------------------------------------
class ExperimentFailed(subprocess.CalledProcessError):
    """The process running an experiment stopped with an error (its traceback is printed above)."""

    def __init__(self, returncode, cmd, exp_name):
        super().__init__(returncode, cmd)
        self.exp_name = exp_name

    def __str__(self):
        return (f"experiment '{self.exp_name}' failed (exit status {self.returncode}); "
                "the traceback above shows what went wrong")


def resolve_num_cpu(num_cpu):
    """``num_cpu`` as a positive int; 'auto' means one process per CPU of this machine."""
    if num_cpu == "auto":
        return os.cpu_count() or 1
    if isinstance(num_cpu, bool) or not isinstance(num_cpu, int) or num_cpu < 1:
        raise UserError(f"num_cpu must be a positive int or 'auto', got {num_cpu!r}")
    return num_cpu


def run_in_fresh_process(thunk, kwargs, num_cpu=1, exp_name="experiment"):
    """Call ``thunk(**kwargs)`` in a new Python process (``num_cpu`` MPI processes); wait for it.

    The call is serialised with cloudpickle into a temporary file that
    ``python -m spinup_lib.run_entrypoint`` reads; functions from importable modules travel
    by reference (the child gets this process's ``sys.path``), functions defined in
    ``__main__`` or a notebook travel by value.

    Raises:
        UserError: the experiment stopped on a user mistake (its message is passed on).
        ExperimentFailed: it stopped on any other error (the child printed the traceback).
    """
    import cloudpickle

    num_cpu = resolve_num_cpu(num_cpu)
    workdir = tempfile.mkdtemp(prefix="spinup_call_")
    try:
        payload_path = osp.join(workdir, "call.pkl")
        error_path = osp.join(workdir, "user_error.txt")
        payload = dict(
            num_cpu=num_cpu,
            sys_path=[p for p in sys.path if p],
            error_file=error_path,
            call=cloudpickle.dumps((thunk, kwargs)),
        )
        with open(payload_path, "wb") as f:
            pickle.dump(payload, f)
        cmd = [sys.executable or "python", "-m", "spinup_lib.run_entrypoint", payload_path]
        process = subprocess.Popen(cmd, env=os.environ.copy())
        with _child_stops_with_us(process):
            try:
                returncode = process.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached the child too (same process group): let it stop cleanly first.
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.terminate()
                    process.wait()
                raise
        if osp.exists(error_path):
            with open(error_path, encoding="utf-8") as f:
                message = f.read().strip()
            if message:
                raise UserError(message)
        if returncode in (130, -2):
            raise KeyboardInterrupt
        if returncode != 0:
            raise ExperimentFailed(returncode, cmd, exp_name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _child_stops_with_us(process):
    """While waiting for ``process``: if this process is told to terminate, stop the child too.

    A SIGTERM (from ``kill``, a job scheduler or a test timeout) reaches only this process;
    without this the experiment would go on running on its own.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def terminate_child(signum, frame):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate_child)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    except ExperimentFailed:
        print("\n" + "=" * DIV_LINE_WIDTH)
        print(f"The experiment '{exp_name}' stopped with an error: its traceback is above.")
        print("=" * DIV_LINE_WIDTH + "\n")
        raise

    if output_dir:
        quoted = shlex.quote(str(output_dir))
        plot_cmd = colorize(f"python -m spinup_lib.run plot {quoted}")
        test_cmd = colorize(f"python -m spinup_lib.run test_policy {quoted}")
        print("\n" + "=" * DIV_LINE_WIDTH)
        print(f"End of experiment. Results are in\n    {output_dir}")
        print(f"Plot the learning curve with:\n    {plot_cmd}")
        print(f"Watch the trained agent with:\n    {test_cmd}")
        print("=" * DIV_LINE_WIDTH + "\n")
    return output_dir


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
        """Raise UserError if two runs would share a directory or one already holds a run."""
        seen = {}
        for variant, output_dir in zip(self.variants(), self.output_dirs(data_dir, datestamp)):
            if output_dir in seen:
                raise UserError(
                    f"two runs of this grid would both write to {output_dir} "
                    f"({self._describe(seen[output_dir])} and {self._describe(variant)}): "
                    "give their values distinct names or shorthands")
            seen[output_dir] = variant
            check_run_dir_is_free(output_dir)

    def _describe(self, variant):
        return ", ".join(f"{k}={_display(v)}" for k, v in variant.items())

    def run(self, thunk, num_cpu=1, data_dir=None, datestamp=False):
        """Run every variant, one after the other, each with :func:`call_experiment`.

        Every output directory is checked before the first run starts.

        Args:
            thunk (callable or str): the function to run, or the key of a grid parameter whose
                values are the functions to run.
            num_cpu (int or 'auto'): MPI processes per run.
            data_dir (str): folder for results; default :func:`default_data_dir`.
            datestamp (bool): put date and time in the directory names.
        """
        if not self.keys:
            raise UserError("the grid is empty: add() some parameters before run()")
        if isinstance(thunk, str) and thunk not in self.keys:
            raise UserError(f"thunk '{thunk}' is not a parameter of the grid")
        resolve_num_cpu(num_cpu)
        self.check_output_dirs(data_dir, datestamp)
        self.print()

        variants = self.variants()
        names = sorted({self.variant_name(v) for v in variants})
        line = "=" * DIV_LINE_WIDTH
        print(f"\n{colorize('Preparing to run the following experiments...', bold=True)}\n")
        print("\n".join(names) + f"\n\n{line}")

        wait = wait_before_launch()
        if wait > 0:
            print(f"Launching in {wait:g} s: press Ctrl-C to stop "
                  "(SPINUP_WAIT_BEFORE_LAUNCH sets this delay).")
            time.sleep(wait)

        for variant in variants:
            exp_name = self.variant_name(variant)
            if isinstance(thunk, str):
                thunk_for_variant = variant.pop(thunk)
            else:
                thunk_for_variant = thunk
            call_experiment(exp_name, thunk_for_variant, num_cpu=num_cpu, data_dir=data_dir,
                            datestamp=datestamp, **variant)


# ----------------------------------------------------------------------------------------------
# Reading values from the command line, safely
# ----------------------------------------------------------------------------------------------
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

# Short module prefixes people write for familiar libraries.
_MODULE_ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional", "np": "numpy"}


def parse_value(text):
    """Turn one command-line word into a Python value, without executing code.

    In order:

    1. a Python literal (``ast.literal_eval``): ``3``, ``1e-3``, ``True``, ``None``,
       ``[64,64]``, ``(32,)``, ``{'a': 1}``, ``'quoted'``;
    2. a dotted name resolved by importing a module and reading attributes:
       ``torch.nn.ReLU``, ``nn.Tanh`` (short for ``torch.nn.Tanh``),
       ``spinup_lib.core.MLPActorCritic``. Modules are imported, nothing is called;
    3. otherwise the text itself: ``CartPole-v1``, ``auto``.

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
        found, value = _resolve_dotted_name(text)
        if found:
            return value
    return text


def _resolve_dotted_name(text):
    """(True, object) for an importable dotted name, (False, None) if no module matches."""
    head, _, rest = text.partition(".")
    if head in _MODULE_ALIASES:
        text = f"{_MODULE_ALIASES[head]}.{rest}"
    parts = text.split(".")
    # Import the longest prefix that is a module, then walk the attributes after it.
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        except Exception:  # a module that fails on import is not a value we can use
            return False, None
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
def resume_experiment(run_dir, epochs=None):
    """Continue the run in ``run_dir`` from its checkpoint, writing into the same directory.

    Runs in this process (a checkpoint can be large: sending it to a child would copy it).
    A run made by several MPI processes is continued by as many: this call then re-launches
    the current command under mpirun (see :func:`spinup_lib.mpi.mpi_fork`), and each process
    reads its own checkpoint.

    Args:
        run_dir (str): a run's output directory, holding its checkpoint.
        epochs (int): the total number of epochs to reach; default: the original run's.

    Raises:
        UserError: no checkpoint, or an algorithm that cannot resume yet.
    """
    import cloudpickle

    from spinup_lib.logx import load_checkpoint
    from spinup_lib.mpi import mpi_fork, proc_id

    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise UserError(f"--epochs must be a positive int, got {epochs!r}")
    checkpoint = load_checkpoint(run_dir, rank=0)
    algo_name = checkpoint["algo"]
    algo = load_algorithm(algo_name)
    if "resume_from" not in inspect.signature(algo).parameters:
        raise UserError(f"{algo_name} cannot resume yet: start a new run instead")

    mpi_fork(checkpoint.get("num_procs", 1))  # returns at once in a single process or inside MPI
    if proc_id() != 0:
        checkpoint = load_checkpoint(run_dir)  # each process continues from its own state

    call_kwargs = cloudpickle.loads(checkpoint["call"])
    previous_logger_kwargs = call_kwargs.get("logger_kwargs") or {}
    exp_name = previous_logger_kwargs.get("exp_name") or osp.basename(osp.normpath(run_dir))
    call_kwargs["logger_kwargs"] = dict(output_dir=str(run_dir), exp_name=exp_name, resume=True)
    if epochs is not None:
        call_kwargs["epochs"] = epochs
    return algo(**call_kwargs, resume_from=checkpoint)
