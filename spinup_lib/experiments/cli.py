"""The command line: ``python -m spinup_lib.run`` (or ``spinup``), whose public path is :mod:`spinup_lib.run`.

::

    python -m spinup_lib.run ALGO --env ENV_ID [--flag VALUE [VALUE ...]] ...
    python -m spinup_lib.run plot LOGDIR [LOGDIR ...] [options]
    python -m spinup_lib.run test_policy RUN_DIR [options]
    python -m spinup_lib.run resume RUN_DIR [--epochs N]

Every ``--flag`` names an argument of the algorithm and takes one or more values; several values
make a grid, and one run is launched per combination: one after the other, or several at once with
``--num_workers N`` or ``--ray ADDRESS`` (see :meth:`ExperimentGrid.run`). A flag with no value
means True. ``--flag[sh]`` gives the shorthand used for it in run names, ``--outer:inner v`` sets
``outer=dict(inner=v)``. Values are read by :func:`spinup_lib.experiments.flags.parse_value`: Python
literals, dotted names such as ``torch.nn.ReLU``, otherwise plain text. A dotted name may only
point into ``torch.nn`` and ``spinup_lib`` (``--allow_module MOD`` adds a module of your own),
and only to what its flag takes: ``--act`` an ``nn.Module`` class, ``--actor_critic`` an
actor-critic class. Everything is checked (kinds, ranges with :mod:`spinup_lib.checks`, names,
env ids) before the first run starts; a mistake is reported on one ``error:`` line with exit
status 2.
"""
import difflib
import inspect
import os
import re
import sys

from spinup_lib.checks import check_arguments
from spinup_lib.dotted_names import check_module_names
from spinup_lib.errors import UserError, exit_status
from spinup_lib.experiments.calls import ExperimentFailed
from spinup_lib.experiments.flags import (ACTIVATION_KEY, _check_activation, _check_actor_critic,
                                          _check_actor_critic_flags, _check_hidden_sizes, _check_kind, _shown,
                                          _with_activation_resolved, parse_value)
from spinup_lib.experiments.grid import ExperimentGrid
from spinup_lib.experiments.naming import check_exp_name
from spinup_lib.experiments.resume import resume_experiment
from spinup_lib.experiments.settings import (ALGORITHM_NAMES, MPI_ALGORITHM_NAMES, algorithm_is_implemented,
                                             load_algorithm, resolve_num_cpu)

SUBCOMMANDS = ("plot", "test_policy", "resume")

# Short flags for long argument names.
SUBSTITUTIONS = {
    "env": "env_name",
    "hid": "ac_kwargs:hidden_sizes",
    "act": "ac_kwargs:activation",
    "cpu": "num_cpu",
    "dt": "datestamp",
}
# Settings of the launch itself (not of the algorithm): one value each.
RUN_KEYS = ("num_cpu", "data_dir", "datestamp", "num_workers", "ray", "dry_run", "threads")
# Taken as typed, never parsed: `--exp_name 2024` is a name, not a number.
TEXT_KEYS = ("env_name", "exp_name", "data_dir")
# Algorithm arguments the command line fills in itself, with what to use instead.
HIDDEN_PARAMETERS = {
    "env_fn": "use --env",
    "logger_kwargs": "use --exp_name and --data_dir",
    "resume_from": "use `python -m spinup_lib.run resume RUN_DIR`",
}
SPECIAL_FLAGS = ("env", "hid", "act", "cpu", "dt", "exp_name", "data_dir", "allow_module",
                 "num_workers", "ray", "dry_run", "threads")
# The variable spinup_lib.mpi.setup_pytorch_for_mpi reads in each run: --threads sets it for the runs.
THREADS_VARIABLE = "SPINUP_TORCH_THREADS"

_FLAG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)*)(?:\[([^\[\]]*)\])?$")


def usage():
    """The text shown by ``python -m spinup_lib.run --help``."""
    algo_lines = []
    for name in ALGORITHM_NAMES:
        notes = []
        if name in MPI_ALGORITHM_NAMES:
            notes.append("MPI: --cpu N")
        if not algorithm_is_implemented(name):
            notes.append("not implemented yet")
        algo_lines.append(f"    {name:<6} {'(' + ', '.join(notes) + ')' if notes else ''}".rstrip())
    algos = "\n".join(algo_lines)
    return f"""\
usage: python -m spinup_lib.run ALGO --env ENV_ID [--flag VALUE [VALUE ...]] ...
       python -m spinup_lib.run plot LOGDIR [LOGDIR ...] [options]
       python -m spinup_lib.run test_policy RUN_DIR [options]
       python -m spinup_lib.run resume RUN_DIR [--epochs N]

Algorithms:
{algos}

Sub-commands (each has --help):
    plot         learning curves of one or more runs
    test_policy  replay a trained agent, optionally to an mp4 video
    resume       continue a run from its checkpoint.pt

Flags for ALGO (see `python -m spinup_lib.run ALGO --help` for its arguments):
    --ARG V [V ...]      any argument of the algorithm; several values run a grid of experiments
    --ARG                a flag with no value means True
    --ARG[sh] V ...      'sh' stands for ARG in the run names
    --OUTER:INNER V      sets OUTER=dict(INNER=V), e.g. --ac_kwargs:hidden_sizes [64,64]
    --env ID ...         gymnasium environment id(s) (required)
    --hid [H,H] ...      hidden layer sizes (ac_kwargs:hidden_sizes)
    --act NAME ...       activation, e.g. torch.nn.ReLU or nn.Tanh (ac_kwargs:activation)
    --seed S ...         one run per seed; seeds never appear in run names
    --cpu N|auto         MPI processes per run (vpg, trpo, ppo only)
    --exp_name NAME      experiment name (default cmd_ALGO)
    --data_dir DIR       where results go (default $SPINUP_DATA_DIR, else ./data)
    --dt                 put date and time in the directory names
    --num_workers N      run up to N runs of the grid at once on this machine (default 1); each
                         run's output goes to output.log in its folder, one summary line per update
    --ray ADDRESS        run each run as a task on a Ray cluster (host:port, or auto); results
                         come back under --data_dir here (needs: pip install -e .[ray])
    --dry_run            list which runs are finished (skipped), will resume, or will start
    --threads N          torch threads of each run (default 1: fastest for the default networks
                         on a busy or small machine; see the README's performance section)
    --allow_module MOD   let dotted names point into your module MOD too (e.g. your own
                         --actor_critic mypkg.nets.MyActorCritic); MOD is imported

Run again, a grid goes on where it stopped: finished runs are skipped, runs stopped part way
resume from their last checkpoint, the others start (docs/GRIDS.md).

Example:
    python -m spinup_lib.run ppo --env CartPole-v1 --hid[h] [32,32] [64,64] --seed 0 10 --epochs 20
"""


# ----------------------------------------------------------------------------------------------
# Reading the flags
# ----------------------------------------------------------------------------------------------
def parse_flags(args):
    """Split ``--flag v1 v2 --other`` into {key: [raw values]} and {key: shorthand}.

    Keys come back under their long names (``--hid`` -> ``ac_kwargs:hidden_sizes``).
    """
    raw = {}
    shorthands = {}
    given_as = {}  # long key -> the flag as typed, for messages
    key = None
    for token in args:
        if token.startswith("--"):
            flag, has_value, value = token[2:].partition("=")
            match = _FLAG.match(flag)
            if not match:
                raise UserError(f"'{token}' is not a valid flag: write --name, --name[shorthand] or --outer:inner")
            name, shorthand = match.group(1), match.group(2)
            key = SUBSTITUTIONS.get(name, name)
            if key in raw:
                raise UserError(f"--{given_as[key]} was given twice: list all its values after one flag")
            raw[key] = [value] if has_value else []
            given_as[key] = name
            if shorthand is not None:
                shorthands[key] = shorthand
        elif key is None:
            raise UserError(f"expected a flag such as --env before '{token}'")
        else:
            raw[key].append(token)
    return raw, shorthands, given_as




def _pop_grid_launch_flags(raw, given_as, run_kwargs):
    """--num_workers N, --ray ADDRESS and --dry_run: how the grid runs (see ExperimentGrid.run)."""
    if "num_workers" in raw:
        texts = raw.pop("num_workers")
        value = parse_value(texts[0]) if texts else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"--{given_as['num_workers']} expects a positive int (runs at once on this machine), "
                            f"got {texts[0] if texts else 'nothing'}")
        run_kwargs["num_workers"] = value
    if "ray" in raw:
        texts = raw.pop("ray")
        if not texts or not texts[0].strip():
            raise UserError(f"--{given_as['ray']} needs the address of a Ray cluster: host:port, or auto for one "
                            "started on this machine with `ray start --head` (see docs/GRIDS.md)")
        run_kwargs["ray_address"] = texts[0]
    if "dry_run" in raw:
        values = [parse_value(v) for v in raw.pop("dry_run")] or [True]
        if not isinstance(values[0], bool):
            raise UserError(f"--{given_as['dry_run']} takes no value (or True/False), got {_shown(values[0])}")
        run_kwargs["dry_run"] = values[0]


def _pop_threads(raw, given_as, run_kwargs):
    """--threads N: the torch threads of each run, or None when not given."""
    if "threads" not in raw:
        return None
    texts = raw.pop("threads")
    value = parse_value(texts[0]) if texts else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"--{given_as['threads']} expects a positive int (torch threads per run), "
                        f"got {texts[0] if texts else 'nothing'}")
    if run_kwargs.get("num_cpu", 1) > 1:
        raise UserError(f"--{given_as['threads']} is for runs of one process: with --cpu each MPI process "
                        "already gets its share of the cores; leave out one of them")
    if "ray_address" in run_kwargs:
        raise UserError(f"--{given_as['threads']} does not reach a Ray cluster's workers: set {THREADS_VARIABLE}"
                        "=N in their environment (ray start) instead")
    return value


def build_grid(algo_name, args):
    """Check the flags of ``ALGO args`` and build the grid, launching nothing.

    Returns:
        (algo, grid, run_kwargs): the algorithm function, an :class:`ExperimentGrid` of its
        arguments and the keyword arguments for :meth:`ExperimentGrid.run`. ``--threads N``
        comes back as ``run_kwargs["threads"]`` only if given; :func:`run_algorithm` takes it out.
    """
    raw, shorthands, given_as = parse_flags(args)

    # Launch settings and the experiment name: one value each, read as typed.
    for key in TEXT_KEYS:
        if key in raw and not raw[key]:
            raise UserError(f"--{given_as[key]} needs a value")
    for key in RUN_KEYS + ("exp_name",):
        if key in raw and len(raw[key]) > 1:
            raise UserError(f"--{given_as[key]} takes one value, got {len(raw[key])}: {' '.join(raw[key])}")
    run_kwargs = {}
    if "num_cpu" in raw:
        if not raw["num_cpu"]:
            raise UserError(f"--{given_as['num_cpu']} needs a value: a number of processes or 'auto'")
        text = raw.pop("num_cpu")[0]
        run_kwargs["num_cpu"] = resolve_num_cpu(parse_value(text) if text != "auto" else "auto")
    if "datestamp" in raw:
        values = [parse_value(v) for v in raw.pop("datestamp")] or [True]
        if not isinstance(values[0], bool):
            raise UserError(f"--{given_as['datestamp']} takes no value (or True/False), got {_shown(values[0])}")
        run_kwargs["datestamp"] = values[0]
    if "data_dir" in raw:
        run_kwargs["data_dir"] = raw.pop("data_dir")[0]
    _pop_grid_launch_flags(raw, given_as, run_kwargs)
    threads = _pop_threads(raw, given_as, run_kwargs)
    if threads is not None:
        run_kwargs["threads"] = threads
    exp_name = raw.pop("exp_name")[0] if "exp_name" in raw else f"cmd_{algo_name}"
    check_exp_name(exp_name)
    if "allow_module" in raw and not raw["allow_module"]:
        raise UserError(f"--{given_as['allow_module']} needs a value: the module(s) your own classes are in")
    allow_modules = check_module_names(raw.pop("allow_module", ()))

    num_cpu = run_kwargs.get("num_cpu", 1)
    if num_cpu > 1 and algo_name not in MPI_ALGORITHM_NAMES:
        raise UserError(f"{algo_name} cannot run on several processes (--cpu {num_cpu}): only "
                        f"{', '.join(MPI_ALGORITHM_NAMES)} use MPI; leave out --cpu")
    if "env_name" not in raw:
        raise UserError("missing --env: name a gymnasium environment, e.g. --env CartPole-v1")

    algo = load_algorithm(algo_name)
    algo_parameters = {name: p for name, p in inspect.signature(algo).parameters.items()
                       if name not in HIDDEN_PARAMETERS}

    params = {}
    for key, texts in raw.items():
        top = key.split(":", 1)[0]
        if key != "env_name" and top not in algo_parameters:
            valid = sorted(set(algo_parameters) | set(SPECIAL_FLAGS))
            close = difflib.get_close_matches(top, valid, n=1)
            hint = f"did you mean --{close[0]}? " if close else ""
            if top in HIDDEN_PARAMETERS:
                raise UserError(f"--{given_as[key]} cannot be given on the command line: {HIDDEN_PARAMETERS[top]}")
            raise UserError(f"unknown flag --{given_as[key]} for {algo_name}: {hint}"
                            f"valid flags are {', '.join('--' + v for v in valid)}")
        if key in TEXT_KEYS:
            values = texts
        else:
            values = [parse_value(t, allow_modules) for t in texts] or [True]
        # What a dotted name may be depends on its flag: checked before anything is built.
        if key == "actor_critic":
            _check_actor_critic(given_as[key], values, allow_modules)
        if key == ACTIVATION_KEY:
            _check_activation(given_as[key], values, allow_modules)
        if key == "ac_kwargs":
            values = [_with_activation_resolved(given_as[key], v, allow_modules) for v in values]
        if ":" in key:
            outer_default = algo_parameters[top].default
            if not (outer_default is None or isinstance(outer_default, dict)):
                raise UserError(f"--{given_as[key]}: {top} is not a dict argument, so it has no sub-keys")
            if top in params:
                raise UserError(f"--{top} and --{given_as[key]} both set {top}: use only one of them")
        else:
            if any(k.startswith(key + ":") for k in params):
                raise UserError(f"--{key} and --{key}:... both set {key}: use only one of them")
            if key != "env_name":
                _check_kind(given_as[key], values, algo_parameters[key].default)
        if key == "ac_kwargs:hidden_sizes":
            _check_hidden_sizes(given_as[key], values)
        params[key] = values
    _check_actor_critic_flags(params, given_as, algo_parameters)

    from spinup_lib.envs import check_env_id

    for env_id in params["env_name"]:
        check_env_id(env_id)

    grid = ExperimentGrid(name=exp_name)
    for key, values in params.items():
        grid.add(key, values, shorthand=shorthands.get(key))
    # Every run's values in range (the algorithm checks again when it starts; this is earlier).
    defaults = {name: p.default for name, p in inspect.signature(algo).parameters.items()
                if p.default is not inspect.Parameter.empty}
    for variant in grid.variants():
        check_arguments(algo_name, {**defaults, **variant}, flag_prefix="--", num_procs=num_cpu)
    grid.check_output_dirs(run_kwargs.get("data_dir"), run_kwargs.get("datestamp", False))
    return algo, grid, run_kwargs


def show_algorithm_help(algo_name):
    """Print the algorithm's signature and docstring."""
    algo = load_algorithm(algo_name)
    print(f"{algo_name}{inspect.signature(algo)}\n")
    print(inspect.getdoc(algo) or "(no documentation)")
    print(f"\nOn the command line: every argument above except {', '.join(HIDDEN_PARAMETERS)} is a "
          "--flag; also --env, --hid, --act, --cpu, --dt, --exp_name, --data_dir, --allow_module, "
          "--num_workers, --ray, --dry_run, --threads "
          "(python -m spinup_lib.run --help).")


def run_algorithm(algo_name, args):
    """``python -m spinup_lib.run ALGO ...``: check everything, then run the grid."""
    if "--help" in args or "-h" in args:
        show_algorithm_help(algo_name)
        return 0
    algo, grid, run_kwargs = build_grid(algo_name, args)
    threads = run_kwargs.pop("threads", None)
    # Every run is a fresh process that inherits this environment (see setup_pytorch_for_mpi). The
    # variable is put back afterwards, so a notebook or a test that calls main() keeps its own setting.
    saved = os.environ.get(THREADS_VARIABLE)
    if threads is not None:
        os.environ[THREADS_VARIABLE] = str(threads)
    try:
        grid.run(algo, **run_kwargs)
    finally:
        if saved is None:
            os.environ.pop(THREADS_VARIABLE, None)
        else:
            os.environ[THREADS_VARIABLE] = saved
    return 0


def resume(args):
    """``python -m spinup_lib.run resume RUN_DIR [--epochs N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m spinup_lib.run resume",
                                     description="Continue a run from its checkpoint.pt, in the same directory.")
    parser.add_argument("run_dir", help="the run's output directory (holds checkpoint.pt)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="total number of epochs to reach (default: the original run's)")
    options = parser.parse_args(args)
    resume_experiment(options.run_dir, epochs=options.epochs)
    return 0


def dispatch(argv):
    """Run one command line (without the program name); return the exit status."""
    if not argv or argv[0] in ("--help", "-h", "help"):
        print(usage())
        return 0
    command, args = argv[0], argv[1:]
    if command == "plot":
        from spinup_lib.plot import main as plot_main

        return plot_main(args) or 0
    if command == "test_policy":
        from spinup_lib.replay.cli import main as test_policy_main

        return test_policy_main(args) or 0
    if command == "resume":
        return resume(args)
    if command not in ALGORITHM_NAMES:
        choices = ALGORITHM_NAMES + SUBCOMMANDS
        close = difflib.get_close_matches(command, choices, n=2, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UserError(f"unknown algorithm or command '{command}': {hint}choose one of "
                        f"{', '.join(ALGORITHM_NAMES)}, or {', '.join(SUBCOMMANDS)} "
                        "(python -m spinup_lib.run --help)")
    return run_algorithm(command, args)


def main(argv=None):
    """Entry point of ``python -m spinup_lib.run`` and the ``spinup`` script; returns the exit status.

    Args:
        argv (list of str): the arguments after the program name; default ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return exit_status(dispatch, argv)
    except ExperimentFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


