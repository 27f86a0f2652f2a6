"""The plan of a grid: what each run's folder holds, so that a stopped grid goes on where it stopped.

:meth:`ExperimentGrid.run` first makes a plan (:func:`plan_runs`): it looks into each run's folder
and gives the run one of four statuses:

``new``       nothing there yet: the run starts;
``finished``  its progress.txt has every epoch its config.json asked for: skipped, never written into;
``resume``    stopped part way, with a checkpoint: continued from it, exactly as
              ``python -m spinup_lib.run resume RUN_DIR`` does;
``restart``   stopped part way before its first checkpoint: started again from epoch 0 in the
              same folder (its old rows are replaced; with the same seed they come out the same).

A folder that holds a run made with other settings (the whole call is compared with its
config.json, settings left at their defaults included: :func:`settings_that_differ`), or files
that are not a run of this grid, is refused, as a new run always was. The runners
(:mod:`spinup_lib.experiments.runners`, :mod:`spinup_lib.experiments.ray_runner`) then go
through the plan.
"""
import collections
import dataclasses
import inspect
import json
import os
import os.path as osp
import re
import shlex

from spinup_lib.errors import UserError
from spinup_lib.experiments.calls import ExperimentFailed
from spinup_lib.experiments.naming import INSTEAD_OF_A_USED_FOLDER, display_value, setup_logger_kwargs
from spinup_lib.run_files import complete_lines, existing_run_files, refuse_run_folder
from spinup_lib.serialize import convert_json

NEW, FINISHED, RESUME, RESTART = "new", "finished", "resume", "restart"

#: Name of the file, in each run folder, that gets a run's output when runs go in parallel.
LOG_FNAME = "output.log"


@dataclasses.dataclass(eq=False)  # runs are told apart by identity (dict keys)
class GridRun:
    """One run of a grid: what to call, where it writes, and what became of it."""

    exp_name: str
    output_dir: str
    thunk: object
    kwargs: dict                    # the thunk's arguments (seed included), without logger_kwargs
    num_cpu: int = 1                # MPI processes
    status: str = NEW               # NEW, FINISHED, RESUME or RESTART
    epochs_logged: int = 0          # epochs in progress.txt when the grid started
    epochs_total: int = None        # epochs the run asks for (None: unknown)
    note: str = ""                  # the status in words
    outcome: str = None             # 'done', 'skipped', 'failed', 'interrupted' (None: not run)
    reason: str = ""                # why it failed
    started: float = None
    ended: float = None

    @property
    def folder(self):
        return osp.basename(osp.normpath(self.output_dir))

    def __repr__(self):  # short, for a notebook cell that ends with eg.run(...)
        return f"<run {self.folder}: {self.status}, {self.outcome or 'not run'}>"


class GridFailed(ExperimentFailed):
    """Some runs of a grid failed (the others ran to the end); the table of failures was printed.

    An :class:`~spinup_lib.experiments.calls.ExperimentFailed`, so the command line ends with exit status 1.
    """

    def __init__(self, grid_name, failed, total):
        super().__init__(1, None, grid_name)
        self.grid_name, self.failed, self.total = grid_name, list(failed), total

    def __str__(self):
        return (f"{len(self.failed)} of {self.total} runs of grid '{self.grid_name}' failed "
                f"(table above; each run's {LOG_FNAME} has its whole output)")

# ----------------------------------------------------------------------------------------------
# The plan: what each run's folder says
# ----------------------------------------------------------------------------------------------
def check_num_workers(num_workers):
    """``num_workers`` as a positive int, or UserError."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise UserError(f"num_workers (--num_workers) must be a positive int (runs at once on this machine), "
                        f"got {num_workers!r}")
    return num_workers


def plan_runs(grid, thunk, num_cpu=1, data_dir=None, datestamp=False):
    """One :class:`GridRun` per variant of ``grid``, in the grid's order, each with its status.

    Raises:
        UserError: two runs would share a folder, or a folder holds something that is not a run
            of this grid (another run's results, or files of a run without its progress.txt).
    """
    runs, seen = [], {}
    for variant in grid.variants():
        exp_name = grid.variant_name(variant)
        kwargs = dict(variant)
        run_thunk = kwargs.pop(thunk) if isinstance(thunk, str) else thunk
        kwargs["seed"] = kwargs.get("seed", 0)
        output_dir = setup_logger_kwargs(exp_name, kwargs["seed"], data_dir, datestamp)["output_dir"]
        if output_dir in seen:
            raise UserError(f"two runs of this grid would both write to {output_dir} ({_describe(seen[output_dir])} "
                            f"and {_describe(variant)}): give their values distinct names or shorthands")
        seen[output_dir] = variant
        run = GridRun(exp_name=exp_name, output_dir=output_dir, thunk=run_thunk, kwargs=kwargs, num_cpu=num_cpu)
        run.epochs_total = _epochs_asked(run_thunk, kwargs)
        classify(run)
        runs.append(run)
    return runs


def _describe(variant):
    return ", ".join(f"{k}={display_value(v)}" for k, v in variant.items())


def _epochs_asked(thunk, kwargs):
    if isinstance(kwargs.get("epochs"), int):
        return kwargs["epochs"]
    try:
        default = inspect.signature(thunk).parameters["epochs"].default
    except (TypeError, ValueError, KeyError):
        return None
    return default if isinstance(default, int) else None


def classify(run):
    """Set ``run.status`` (and what goes with it) from the files in ``run.output_dir``.

    Raises:
        UserError: the folder holds something that is not a run of this grid.
    """
    found = existing_run_files(run.output_dir)
    if not found:
        run.status, run.note = NEW, "not started"
        return run
    quoted_dir = quoted(run.output_dir)
    if "progress.txt" not in found:
        refuse_run_folder(run.output_dir, instead=INSTEAD_OF_A_USED_FOLDER)
    config = read_json(osp.join(run.output_dir, "config.json"))
    if not isinstance(config, dict) or not isinstance(config.get("epochs"), int):
        raise UserError(f"{run.output_dir} already holds a run (progress.txt) that is not one of this grid's "
                        "(no config.json with its epochs): choose another --exp_name or --data_dir, add --dt "
                        f"for a dated folder, or continue it with `python -m spinup_lib.run resume {quoted_dir}`")
    differences = settings_that_differ(config, run.kwargs, run.thunk)
    if differences:
        raise UserError(f"{run.output_dir} already holds a run made with other settings ({'; '.join(differences)}): "
                        "choose another --exp_name or --data_dir, or add --dt for a dated folder; to train that "
                        f"run longer: `python -m spinup_lib.run resume {quoted_dir} --epochs N`")
    run.epochs_total = config["epochs"]
    run.epochs_logged = epochs_logged(osp.join(run.output_dir, "progress.txt"))
    logged = f"{run.epochs_logged}/{run.epochs_total} epochs"
    if run.epochs_logged >= run.epochs_total:
        run.status, run.note = FINISHED, f"{logged}: skipped"
    elif osp.isfile(osp.join(run.output_dir, "checkpoint.pt")):
        run.status, run.note = RESUME, f"{logged} logged: continues from its last checkpoint"
        run.num_cpu = _checkpoint_processes(run.output_dir)
    else:
        run.status, run.note = RESTART, f"{logged} logged, no checkpoint yet: starts again from epoch 0"
    return run


def quoted(path):
    return shlex.quote(str(path))


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _checkpoint_processes(run_dir):
    """How many processes made the run: 1 + its checkpoint.rank<k>.pt files."""
    ranks = [name for name in os.listdir(run_dir) if re.fullmatch(r"checkpoint\.rank\d+\.pt", name)]
    return 1 + len(ranks)


def epochs_logged(progress_path):
    """Epochs in a progress.txt: the last complete row's Epoch + 1 (the row count without one)."""
    try:
        with open(progress_path, encoding="utf-8") as f:
            content = f.read()
    except OSError:
        return 0
    lines = complete_lines(content)
    if len(lines) < 2:
        return 0
    header = lines[0].split("\t")
    if "Epoch" not in header:
        return len(lines) - 1
    column = header.index("Epoch")
    for line in reversed(lines[1:]):
        fields = line.split("\t")
        try:
            return int(float(fields[column])) + 1
        except (IndexError, ValueError):
            continue
    return 0


#: Arguments that say where and how a run is made, not what it is: never compared.
NOT_SETTINGS = ("logger_kwargs", "resume_from")

#: Dict arguments whose missing keys take the defaults of the constructor another argument names.
CONSTRUCTOR_OF = {"ac_kwargs": "actor_critic"}


def effective_call(thunk, kwargs):
    """``kwargs`` plus every argument of ``thunk`` left at its default, as config.json records a call.

    Without a thunk whose signature can be read (None, or only ``**kwargs``), ``kwargs`` as given.
    """
    call = dict(kwargs)
    for name, default in _constructor_defaults(thunk).items():
        if name in call or name in NOT_SETTINGS or (name == "env_fn" and "env_name" in call):
            continue
        call[name] = default
    return call


def _constructor_defaults(constructor):
    """The keyword defaults of a class or function (``{}`` when they cannot be read)."""
    try:
        parameters = inspect.signature(constructor).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def settings_that_differ(config, kwargs, thunk=None):
    """The settings of a run that its config.json records otherwise, in words.

    With ``thunk``, the whole effective call is compared (:func:`effective_call`: the grid's
    parameters plus every argument left at its default), so a run made with ``epochs=2`` differs
    from a ``ppo`` call that leaves ``epochs`` at its default of 50; the keys of ``ac_kwargs`` left out on
    either side take the defaults of the ``actor_critic`` in effect (``hidden_sizes=(64, 64)``...).
    Without ``thunk``, only the grid's parameters are compared. Either way, only what config.json
    records is compared (``env_name`` against the env id of its ``env_fn``), and
    ``logger_kwargs`` never.
    """
    def normal(value):
        return json.loads(json.dumps(convert_json(value), sort_keys=True, default=str))

    def compare(name, there, here, defaults=None):
        if isinstance(here, dict) and isinstance(there, dict):
            if defaults is None:  # only the keys given here
                keys = [key for key in here if key in there]
            else:  # every key either side gives; a missing one is its default (when known)
                there = {**{k: normal(v) for k, v in defaults.items() if k in here}, **there}
                here = {**{k: v for k, v in defaults.items() if k in there}, **here}
                keys = [key for key in sorted(set(here) | set(there), key=str) if key in here and key in there]
            return [d for key in keys for d in compare(f"{name}:{key}", there[key], here[key])]
        here = normal(here)
        return [] if there == here else [f"{name} {json.dumps(there)} there, {json.dumps(here)} here"]

    call = effective_call(thunk, kwargs)
    differences = []
    for key, value in call.items():
        if key == "env_name":
            there = _env_id(config.get("env_fn"))
            if there is not None and there != value:
                differences.append(f"env {there} there, {value} here")
        elif key in config:
            defaults = None
            if thunk is not None and key in CONSTRUCTOR_OF:
                defaults = _constructor_defaults(call.get(CONSTRUCTOR_OF[key]))
            differences += compare(key, config[key], value, defaults)
    return differences


def _env_id(env_fn_json):
    """The env id inside config.json's record of a make_env_fn env_fn, or None."""
    if isinstance(env_fn_json, dict):
        if isinstance(env_fn_json.get("env_id"), str):
            return env_fn_json["env_id"]
        for value in env_fn_json.values():
            found = _env_id(value)
            if found is not None:
                return found
    return None


def print_plan(runs, always=False):
    """List each run's status, when any is not 'new' (or ``always``)."""
    if not always and all(run.status == NEW for run in runs):
        return
    counts = collections.Counter(run.status for run in runs)
    summary = ", ".join(f"{counts[s]} {s}" for s in (FINISHED, RESUME, RESTART, NEW) if counts[s])
    print(f"\nRuns of this grid ({summary}):")
    width = max(len(run.folder) for run in runs)
    for run in runs:
        print(f"  {run.status:<9} {run.folder:<{width}}  {run.note}")
    print(flush=True)
