"""Running the runs of an :class:`~spinup_lib.run_utils.ExperimentGrid`: in series, several at once
on this machine, or as tasks on a Ray cluster; and picking a stopped grid up where it stopped.

:meth:`ExperimentGrid.run` first makes a plan (:func:`plan_runs`): it looks into each run's folder
and gives the run one of four statuses:

``new``       nothing there yet: the run starts;
``finished``  its progress.txt has every epoch its config.json asked for: skipped, never written into;
``resume``    stopped part way, with a checkpoint: continued from it, exactly as
              ``python -m spinup_lib.run resume RUN_DIR`` does;
``restart``   stopped part way before its first checkpoint: started again from epoch 0 in the
              same folder (its old rows are replaced; with the same seed they come out the same).

A folder that holds a run made with other settings (or files that are not a run of this grid) is
refused, as a new run always was. Then one of three runners goes through the plan:

* :func:`run_series`: one run after the other, each printing its epoch table (``num_workers=1``,
  the default, as before);
* :func:`run_pool`: up to ``num_workers`` runs at once, each a fresh process with one torch
  thread whose output goes to ``output.log`` in its run folder; the terminal gets one summary line
  per update. A failed run does not stop the others; Ctrl-C stops them all;
* :func:`run_on_ray`: each run a Ray task (``num_cpus`` = the run's MPI processes). The task runs
  the same fresh process on a worker node, in a temporary folder there, and sends the run folder
  back as a tar archive, which is unpacked into place under this machine's data directory. So
  results land in the same place whether or not the machines share a file system.

Every run goes through ``python -m spinup_lib.run_entrypoint`` in a fresh process, as
:func:`~spinup_lib.run_utils.call_experiment` does, so a run's numbers do not depend on which
runner ran it, or where.
"""
import collections
import contextlib
import dataclasses
import inspect
import io
import json
import os
import os.path as osp
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

from spinup_lib.errors import UserError
from spinup_lib.run_utils import ExperimentFailed

NEW, FINISHED, RESUME, RESTART = "new", "finished", "resume", "restart"

#: Name of the file, in each run folder, that gets a run's output when runs go in parallel.
LOG_FNAME = "output.log"

#: Seconds between summary lines when nothing else happened.
SUMMARY_EVERY = 30.0

#: Seconds a stopped run has to save and exit after Ctrl-C, before it is terminated.
STOP_GRACE = 10.0

RAY_INSTALL_HINT = "pip install -e .[ray]"


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

    An :class:`~spinup_lib.run_utils.ExperimentFailed`, so the command line ends with exit status 1.
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
    from spinup_lib.run_utils import setup_logger_kwargs

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
    from spinup_lib.run_utils import _display

    return ", ".join(f"{k}={_display(v)}" for k, v in variant.items())


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
    from spinup_lib.logx import existing_run_files

    found = existing_run_files(run.output_dir)
    if not found:
        run.status, run.note = NEW, "not started"
        return run
    quoted = _quoted(run.output_dir)
    if "progress.txt" not in found:
        raise UserError(f"{run.output_dir} holds files of a run ({', '.join(found)}) but no progress.txt: it is "
                        "not written into; choose another --exp_name or --data_dir, or move those files away")
    config = _read_json(osp.join(run.output_dir, "config.json"))
    if not isinstance(config, dict) or not isinstance(config.get("epochs"), int):
        raise UserError(f"{run.output_dir} already holds a run (progress.txt) that is not one of this grid's "
                        "(no config.json with its epochs): choose another --exp_name or --data_dir, add --dt "
                        f"for a dated folder, or continue it with `python -m spinup_lib.run resume {quoted}`")
    differences = settings_that_differ(config, run.kwargs)
    if differences:
        raise UserError(f"{run.output_dir} already holds a run made with other settings ({'; '.join(differences)}): "
                        "choose another --exp_name or --data_dir, or add --dt for a dated folder; to train that "
                        f"run longer: `python -m spinup_lib.run resume {quoted} --epochs N`")
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


def _quoted(path):
    import shlex

    return shlex.quote(str(path))


def _read_json(path):
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
    lines = content[: content.rfind("\n") + 1].splitlines()  # a half-written last row does not count
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


def settings_that_differ(config, kwargs):
    """The grid settings of a run (``kwargs``) that its config.json records otherwise, in words.

    Only what both record is compared: the grid's parameters (seed included) against the
    algorithm's arguments in config.json; ``env_name`` against the env id of its ``env_fn``.
    """
    from spinup_lib.logx import convert_json

    def normal(value):
        return json.loads(json.dumps(convert_json(value), sort_keys=True, default=str))

    def compare(name, there, here):
        if isinstance(here, dict) and isinstance(there, dict):
            return [d for key in here if key in there for d in compare(f"{name}:{key}", there[key], here[key])]
        here = normal(here)
        return [] if there == here else [f"{name} {json.dumps(there)} there, {json.dumps(here)} here"]

    differences = []
    for key, value in kwargs.items():
        if key == "env_name":
            there = _env_id(config.get("env_fn"))
            if there is not None and there != value:
                differences.append(f"env {there} there, {value} here")
        elif key in config:
            differences += compare(key, config[key], value)
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


# ----------------------------------------------------------------------------------------------
# One run in a fresh process (locally, or on a Ray worker)
# ----------------------------------------------------------------------------------------------
def run_job(mode, output_dir, exp_name, call=None):
    """What a run's fresh process calls: start, restart or resume the run in ``output_dir``.

    Args:
        mode (str): NEW, RESTART or RESUME.
        output_dir (str): the run folder (on a Ray worker, a temporary copy of it).
        exp_name (str): the run's experiment name.
        call (bytes): cloudpickle of ``(thunk, kwargs)`` (NEW and RESTART).
    """
    if mode == RESUME:
        from spinup_lib.run_utils import resume_experiment

        resume_experiment(output_dir)
        return
    import cloudpickle

    thunk, kwargs = cloudpickle.loads(call)
    logger_kwargs = dict(output_dir=output_dir, exp_name=exp_name)
    if mode == RESTART:
        logger_kwargs["resume"] = True  # appends to the old table, dropping the rows it redoes
    thunk(**kwargs, logger_kwargs=logger_kwargs)


def make_job(run):
    """The plain description of ``run`` that :func:`start_child` (here or on a worker) needs."""
    import cloudpickle

    call = None
    if run.status in (NEW, RESTART):
        kwargs = dict(run.kwargs)
        if "env_name" in kwargs:  # as call_experiment does: the thunk takes a picklable env_fn
            if "env_fn" in kwargs:
                raise UserError("give env_name or env_fn, not both")
            from spinup_lib.envs import make_env_fn

            kwargs["env_fn"] = make_env_fn(kwargs.pop("env_name"))
        call = cloudpickle.dumps((run.thunk, kwargs))
    return dict(mode=run.status, exp_name=run.exp_name, folder=run.folder, num_cpu=run.num_cpu, call=call,
                sys_path=[p for p in sys.path if p])


class Child:
    """A run's fresh process: ``python -m spinup_lib.run_entrypoint`` writing to output.log."""

    def __init__(self, job, output_dir):
        import cloudpickle

        from spinup_lib.run_utils import _remove_stale_call_folders

        _remove_stale_call_folders()
        self.output_dir = output_dir
        self.workdir = tempfile.mkdtemp(prefix=f"spinup_call_{os.getpid()}_")
        self.error_file = osp.join(self.workdir, "user_error.txt")
        self.failure_file = osp.join(self.workdir, "failure.txt")
        payload = dict(num_cpu=job["num_cpu"], sys_path=job["sys_path"], error_file=self.error_file,
                       failure_file=self.failure_file, parent_pid=os.getpid(),
                       call=cloudpickle.dumps((run_job, dict(mode=job["mode"], output_dir=output_dir,
                                                             exp_name=job["exp_name"], call=job["call"]))))
        payload_path = osp.join(self.workdir, "call.pkl")
        with open(payload_path, "wb") as f:
            pickle.dump(payload, f)
        os.makedirs(output_dir, exist_ok=True)
        self.log_path = osp.join(output_dir, LOG_FNAME)
        log = open(self.log_path, "a", encoding="utf-8")
        what = {NEW: "starts", RESTART: "starts again", RESUME: "resumes"}[job["mode"]]
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}: {job['exp_name']} {what} ===\n")
        log.flush()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        cmd = [sys.executable or "python", "-m", "spinup_lib.run_entrypoint", payload_path]
        # Its own session: Ctrl-C in the terminal reaches only the grid, which stops each run
        # (and, through its process group, mpirun and the ranks) in turn.
        with _signals_unblocked():
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=env, start_new_session=(os.name == "posix"))
        log.close()  # the child has its own copy

    def poll(self):
        return self.process.poll()

    def signal(self, signum):
        """Send ``signum`` to the run's whole process group (mpirun and its ranks too)."""
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, signum)
            elif signum == signal.SIGINT:
                self.process.terminate()
            else:
                self.process.send_signal(signum)
        except (ProcessLookupError, PermissionError, OSError):
            pass  # already gone

    def outcome(self):
        """('done', '') or ('failed', reason) or ('interrupted', ''), once the process ended."""
        returncode = self.process.returncode
        message = _read_text(self.error_file) or None
        try:
            if returncode == 0 and not message:
                return "done", ""
            if message:  # a user mistake met by the run: its one line goes to the run's log too
                with open(self.log_path, "a", encoding="utf-8") as log:
                    log.write(f"error: {message}\n")
                return "failed", f"error: {message}"
            if returncode in (130, -signal.SIGINT):
                return "interrupted", ""
            failure = _read_text(self.failure_file)
            if failure:
                return "failed", failure
            from spinup_lib.lifecycle import exit_status_text

            return "failed", f"stopped without reporting an error: {exit_status_text(returncode)}"
        finally:
            self.cleanup()

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def _signals_unblocked():
    """Start children with SIGINT, SIGTERM and SIGHUP deliverable.

    A child inherits the blocked-signal mask of the thread that starts it, and a Ray worker runs
    its tasks with SIGINT blocked: a run started from there would never see the Ctrl-C meant to
    stop it cleanly.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    wanted = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}
    previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, wanted)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _read_text(path, limit=300):
    """A file's text on one line (its first ``limit`` characters; None: all), '' if unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " ".join(f.read().split())[:limit]
    except OSError:
        return ""


def stop_children(children, grace=STOP_GRACE):
    """Stop running children: SIGINT (each saves nothing more and exits), then SIGTERM, then SIGKILL.

    A second Ctrl-C while waiting skips to SIGKILL.
    """
    children = [c for c in children if c.poll() is None]
    if not children:
        return
    for child in children:
        child.signal(signal.SIGINT)
    steps = [(grace, signal.SIGTERM), (5.0, getattr(signal, "SIGKILL", signal.SIGTERM))]
    try:
        for seconds, next_signal in steps:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and any(c.poll() is None for c in children):
                time.sleep(0.1)
            for child in children:
                if child.poll() is None:
                    child.signal(next_signal)
        for child in children:
            child.process.wait(timeout=10)
    except KeyboardInterrupt:
        for child in children:
            child.signal(getattr(signal, "SIGKILL", signal.SIGTERM))
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    # A run's group may outlive its leader (an MPI rank): make sure nothing of it keeps training.
    for child in children:
        child.signal(getattr(signal, "SIGKILL", signal.SIGTERM))


@contextlib.contextmanager
def terminate_means_interrupt():
    """While running a grid, SIGTERM and SIGHUP stop it as Ctrl-C does (children stopped first)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            previous[name] = signal.signal(getattr(signal, name), interrupt)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


# ----------------------------------------------------------------------------------------------
# The summary line
# ----------------------------------------------------------------------------------------------
def _clock(seconds):
    seconds = int(round(max(0.0, seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Board:
    """Counts of the grid's runs, printed as one line per update with an estimate of the time left.

    The estimate: seconds per epoch measured on the runs so far (finished ones, and running ones
    whose progress.txt can be read), times the epochs still to do, spread over the slots.
    """

    def __init__(self, name, runs, slots, where):
        self.name, self.runs, self.slots, self.where = name, runs, max(1, slots), where
        self.start = time.monotonic()
        self.last_line = 0.0
        self.progress_readable = where == "this machine"

    def line(self, event=""):
        counts = collections.Counter(run.outcome for run in self.runs)
        running = sum(1 for run in self.runs if run.started is not None and run.ended is None)
        waiting = sum(1 for run in self.runs if run.outcome is None and run.started is None)
        done = counts["done"] + counts["skipped"]
        text = (f"[{self.name} {_clock(time.monotonic() - self.start)}] done {done}/{len(self.runs)}, "
                f"running {running}, failed {counts['failed']}, waiting {waiting}")
        if counts["interrupted"]:
            text += f", stopped {counts['interrupted']}"
        left = self.time_left()
        if running or waiting:
            text += f"; {'~' + _clock(left) if left is not None else '?'} left"
        if event:
            text += f" | {event}"
        print(text, flush=True)
        self.last_line = time.monotonic()

    def tick(self):
        if time.monotonic() - self.last_line >= SUMMARY_EVERY:
            self.line()

    def _epochs_now(self, run):
        if self.progress_readable and run.ended is None:
            return epochs_logged(osp.join(run.output_dir, "progress.txt"))
        return run.epochs_total if run.outcome == "done" else run.epochs_logged

    def time_left(self):
        now = time.monotonic()
        rates = []  # seconds per epoch of runs that made progress
        for run in self.runs:
            if run.started is None or run.epochs_total is None:
                continue
            epochs = self._epochs_now(run) - run.epochs_logged
            if epochs > 0:
                rates.append(((run.ended or now) - run.started) / epochs)
        if not rates:
            return None
        rate = sum(rates) / len(rates)
        longest, total = 0.0, 0.0
        for run in self.runs:
            if run.outcome is not None:
                continue
            epochs_left = (run.epochs_total or 0) - (self._epochs_now(run) if run.started else run.epochs_logged)
            if run.started is not None and not self.progress_readable:
                epochs_left = (run.epochs_total or 0) - run.epochs_logged
                seconds = max(0.0, epochs_left * rate - (now - run.started))
            else:
                seconds = max(0, epochs_left) * rate
            cpus = min(run.num_cpu, self.slots)
            total += seconds * cpus
            if run.started is not None:
                longest = max(longest, seconds)
        return max(longest, total / self.slots)


def print_failures(runs):
    failed = [run for run in runs if run.outcome == "failed"]
    if not failed:
        return
    print(f"\nFailed runs ({len(failed)} of {len(runs)}):")
    width = max(len(run.folder) for run in failed)
    for run in failed:
        print(f"  {run.folder:<{width}}  {run.reason}")
        print(f"  {'':<{width}}  log: {osp.join(run.output_dir, LOG_FNAME)}")
    print(flush=True)


def print_ending(runs, where, grid_name):
    counts = collections.Counter(run.outcome for run in runs)
    experiments = sorted({osp.dirname(osp.normpath(run.output_dir)) for run in runs})
    print(f"Grid ended on {where}: {counts['done']} ran, {counts['skipped']} were finished already, "
          f"{counts['failed']} failed.")
    if len(experiments) == 1:
        print(f"Results are in {experiments[0]}")
        prefix = experiments[0]
    else:
        parent = osp.commonpath(experiments)
        print(f"Results are in {len(experiments)} folders in {parent}")
        # A path that does not end in '/' is a prefix for plot: every variant's name starts so.
        prefix = osp.join(parent, grid_name) if all(osp.basename(e).startswith(grid_name) for e in experiments) \
            else " ".join(_quoted(e) for e in experiments)
    print(f"Plot them with: python -m spinup_lib.run plot {prefix}", flush=True)


def _finish(runs, grid_name, where):
    print_failures(runs)
    print_ending(runs, where, grid_name)
    failed = [run for run in runs if run.outcome == "failed"]
    if failed:
        raise GridFailed(grid_name, [run.folder for run in failed], len(runs))


def _interrupted(runs, board):
    for run in runs:
        if run.outcome is None:
            run.outcome = "interrupted"
            run.ended = run.ended or time.monotonic()
    board.line("interrupted")
    print("Stopped every run. Run the same command again to go on: finished runs are skipped, "
          "the others resume from their last checkpoint.", flush=True)


def _skip_finished(runs):
    for run in runs:
        if run.status == FINISHED:
            run.outcome = "skipped"


# ----------------------------------------------------------------------------------------------
# Runner 1: in series, as before
# ----------------------------------------------------------------------------------------------
def run_series(runs, data_dir=None, datestamp=False):
    """One run after the other in this terminal; the first failure stops the grid (as before)."""
    from spinup_lib.run_utils import call_experiment, colorize, run_in_fresh_process

    for run in runs:
        if run.status == FINISHED:
            run.outcome = "skipped"
            print(f"Skipping {run.output_dir}: finished ({run.note.split(':')[0]}).", flush=True)
            continue
        run.started = time.monotonic()
        if run.status == NEW:
            kwargs = dict(run.kwargs)
            run.output_dir = call_experiment(run.exp_name, run.thunk, num_cpu=run.num_cpu, data_dir=data_dir,
                                             datestamp=datestamp, **kwargs)
        elif run.status == RESTART:
            print(colorize(f"Starting {run.output_dir} again ({run.note}).\n", color="cyan", bold=True), flush=True)
            call_experiment(run.exp_name, run.thunk, num_cpu=run.num_cpu,
                            logger_kwargs=dict(output_dir=run.output_dir, exp_name=run.exp_name, resume=True),
                            **run.kwargs)
        else:
            from spinup_lib.run_utils import resume_experiment

            print(colorize(f"Resuming {run.output_dir} ({run.note}).\n", color="cyan", bold=True), flush=True)
            # resume_experiment starts the run's MPI processes itself, from its checkpoints.
            run_in_fresh_process(resume_experiment, dict(run_dir=run.output_dir), num_cpu=1,
                                 exp_name=run.exp_name)
        run.outcome, run.ended = "done", time.monotonic()
    return runs


# ----------------------------------------------------------------------------------------------
# Runner 2: a pool of processes on this machine
# ----------------------------------------------------------------------------------------------
def run_pool(runs, num_workers, grid_name="grid"):
    """Up to ``num_workers`` runs at once (a run of k MPI processes takes k places).

    Raises:
        GridFailed: at the end, if any run failed.
        KeyboardInterrupt: Ctrl-C (or SIGTERM/SIGHUP): every run was stopped first.
    """
    _skip_finished(runs)
    waiting = collections.deque(run for run in runs if run.outcome is None)
    board = Board(grid_name, runs, num_workers, "this machine")
    print(f"\nRunning {len(waiting)} runs, up to {num_workers} at once on this machine "
          f"({len(runs) - len(waiting)} finished already). Each run's output goes to {LOG_FNAME} in its folder.",
          flush=True)
    active = {}  # GridRun -> Child
    with terminate_means_interrupt():
        try:
            board.line("start")
            while waiting or active:
                used = sum(min(run.num_cpu, num_workers) for run in active)
                while waiting and (not active or used + min(waiting[0].num_cpu, num_workers) <= num_workers):
                    run = waiting.popleft()
                    run.started = time.monotonic()
                    active[run] = Child(make_job(run), run.output_dir)
                    used += min(run.num_cpu, num_workers)
                    board.line(f"{'started' if run.status == NEW else run.status + 'd'} {run.folder}")
                for run, child in list(active.items()):
                    if child.poll() is None:
                        continue
                    del active[run]
                    run.outcome, run.reason = child.outcome()
                    run.ended = time.monotonic()
                    took = _clock(run.ended - run.started)
                    board.line(f"{'finished' if run.outcome == 'done' else run.outcome} {run.folder} in {took}"
                               + (f": {run.reason}" if run.reason else ""))
                board.tick()
                time.sleep(0.2)
        except KeyboardInterrupt:
            print("\nStopping the grid's runs...", flush=True)
            stop_children(list(active.values()))
            for run, child in active.items():
                run.outcome, run.reason = child.outcome()  # 'interrupted', or 'done' if it just ended
                run.ended = time.monotonic()
            active.clear()
            _interrupted(runs, board)
            raise
        finally:
            stop_children(list(active.values()), grace=5.0)  # an error of the grid itself
            for child in active.values():
                child.cleanup()
    board.line("all runs ended")
    _finish(runs, grid_name, "this machine")
    return runs


# ----------------------------------------------------------------------------------------------
# Runner 3: a Ray cluster
# ----------------------------------------------------------------------------------------------
def import_ray():
    """The ``ray`` module, or a one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"running a grid on a Ray cluster needs Ray: install it with `{RAY_INSTALL_HINT}` "
                        "(or pip install 'ray>=2.40,<3')") from None
    return ray


def pack_folder(folder):
    """The folder as the bytes of a gzipped tar archive (named by its base name inside)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=osp.basename(osp.normpath(folder)))
    return buffer.getvalue()


def unpack_into(data, parent):
    """Unpack an archive made by :func:`pack_folder` into ``parent``; return the folder made.

    Only plain files and folders below ``parent`` are accepted (tarfile's 'data' filter).
    """
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = {member.name.split("/", 1)[0] for member in archive.getmembers()}
        if len(names) != 1:
            raise ValueError(f"a run archive holds one folder, this one {sorted(names)}")
        archive.extractall(parent, filter="data")
    return osp.join(parent, names.pop())


def land_run_folder(data, output_dir, worker_dir):
    """Put a run folder sent back from a worker into place at ``output_dir``.

    The archive is unpacked next to ``output_dir`` and swapped in with renames, so a reader
    never sees half a folder. config.json's ``logger_kwargs.output_dir`` (the worker's temporary
    folder) is set to ``output_dir``.
    """
    parent = osp.dirname(osp.normpath(output_dir))
    os.makedirs(parent, exist_ok=True)
    incoming = tempfile.mkdtemp(prefix=f".{osp.basename(output_dir)}.incoming-", dir=parent)
    try:
        landed = unpack_into(data, incoming)
        config_path = osp.join(landed, "config.json")
        config = _read_json(config_path)
        if isinstance(config, dict) and isinstance(config.get("logger_kwargs"), dict) \
                and config["logger_kwargs"].get("output_dir") == worker_dir:
            config["logger_kwargs"]["output_dir"] = str(output_dir)
            with open(config_path, "w", encoding="utf-8") as f:
                f.write(json.dumps(config, indent=4, sort_keys=True))  # as the logger writes it
        old = None
        if osp.exists(output_dir):
            old = tempfile.mkdtemp(prefix=f".{osp.basename(output_dir)}.replaced-", dir=parent)
            os.rename(output_dir, osp.join(old, "run"))
        os.rename(landed, output_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def ray_task(job, archive, stop_flag):
    """Body of a run's Ray task, on a worker node: run it in a local folder, send the folder back.

    Args:
        job (dict): from :func:`make_job`.
        archive (bytes): the run folder as the driver has it (a run to resume), or None.
        stop_flag: a Ray actor whose ``is_set()`` turns True when the grid is stopped.

    Returns:
        dict: ``outcome``, ``reason``, ``archive`` (the run folder as tar bytes), ``worker_dir``
        and ``host``.
    """
    import socket

    import ray

    workdir = tempfile.mkdtemp(prefix="spinup_ray_")
    child = None
    try:
        if archive:
            run_dir = unpack_into(archive, workdir)
        else:
            run_dir = osp.join(workdir, job["folder"])
            os.makedirs(run_dir)
        child = Child(job, run_dir)
        stopping = False
        while child.poll() is None:
            time.sleep(1.0)
            if not stopping:
                with contextlib.suppress(Exception):
                    stopping = ray.get(stop_flag.is_set.remote(), timeout=10)
                if stopping:
                    stop_children([child])
        outcome, reason = child.outcome()
        return dict(outcome=outcome, reason=reason, archive=pack_folder(run_dir), worker_dir=run_dir,
                    host=socket.gethostname())
    except BaseException:
        if child is not None:  # cancelled, or the worker is shutting down: the run stops too
            stop_children([child], grace=5.0)
            child.cleanup()
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class StopFlag:
    """A tiny Ray actor the driver sets when the grid is stopped (Ctrl-C)."""

    def __init__(self):
        self.stop = False

    def set(self):
        self.stop = True

    def is_set(self):
        return self.stop


def connect_ray(address):
    """Connect this process to the Ray cluster at ``address`` ('auto': one started on this machine)."""
    import logging

    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"cannot connect to a Ray cluster at '{address}' ({first}): start one with "
                        "`ray start --head` (see docs/GRIDS.md) and give its address, e.g. --ray auto") from None
    return ray


def run_on_ray(runs, address, grid_name="grid"):
    """Each run a Ray task on the cluster at ``address``, with ``num_cpus`` = its MPI processes.

    Runs are submitted while the cluster has free CPUs (so 'running' means placed on a node);
    each finished task's run folder is unpacked into place at once.

    Raises:
        GridFailed: at the end, if any run failed.
        KeyboardInterrupt: Ctrl-C: each task stops its run and sends back the folder (so the next
            try resumes it); tasks that do not answer within a minute are cancelled.
    """
    ray = connect_ray(address)
    try:
        return _run_on_ray(ray, runs, address, grid_name)
    finally:
        ray.shutdown()  # disconnects this driver; the cluster keeps running


def _cluster_cpus(ray):
    return int(ray.cluster_resources().get("CPU", 0))


def _run_on_ray(ray, runs, address, grid_name):
    _skip_finished(runs)
    waiting = collections.deque(run for run in runs if run.outcome is None)
    cpus = _cluster_cpus(ray)
    biggest = max((run.num_cpu for run in waiting), default=1)
    if biggest > cpus:
        raise UserError(f"runs of {biggest} processes (--cpu {biggest}) need {biggest} CPUs, and the Ray "
                        f"cluster at {address} has {cpus}: use a smaller --cpu or add nodes")
    remote_task = ray.remote(max_retries=2)(ray_task)
    stop_flag = ray.remote(num_cpus=0)(StopFlag).remote()
    where = f"the Ray cluster at {address}"
    board = Board(grid_name, runs, cpus, where)
    print(f"\nRunning {len(waiting)} runs on {where} ({cpus} CPUs now; {len(runs) - len(waiting)} finished "
          f"already). Each run's output goes to {LOG_FNAME} in its folder.", flush=True)
    in_flight = {}  # ObjectRef -> GridRun
    last_capacity_check = time.monotonic()
    with terminate_means_interrupt():
        try:
            board.line("start")
            while waiting or in_flight:
                if time.monotonic() - last_capacity_check > 10:  # nodes may join or leave
                    cpus, last_capacity_check = max(1, _cluster_cpus(ray)), time.monotonic()
                    board.slots = cpus
                used = sum(run.num_cpu for run in in_flight.values())
                while waiting and (not in_flight or used + waiting[0].num_cpu <= cpus):
                    run = waiting.popleft()
                    archive = pack_folder(run.output_dir) if osp.isdir(run.output_dir) else None
                    ref = remote_task.options(num_cpus=run.num_cpu, name=run.folder).remote(
                        make_job(run), archive, stop_flag)
                    in_flight[ref] = run
                    run.started = time.monotonic()
                    used += run.num_cpu
                    board.line(f"{'submitted' if run.status == NEW else run.status + 'd'} {run.folder}")
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
                for ref in ready:
                    run = in_flight.pop(ref)
                    _collect(ray, ref, run)
                    took = _clock(run.ended - run.started)
                    board.line(f"{'finished' if run.outcome == 'done' else run.outcome} {run.folder} in {took}"
                               + (f": {run.reason}" if run.reason else ""))
                board.tick()
        except KeyboardInterrupt:
            print("\nStopping the grid's runs (each sends back its folder, to resume later)...", flush=True)
            _stop_ray_runs(ray, stop_flag, in_flight, board)
            _interrupted(runs, board)
            raise
    board.line("all runs ended")
    _finish(runs, grid_name, where)
    return runs


def _collect(ray, ref, run):
    """Take a finished task's result: land its run folder, record its outcome."""
    run.ended = time.monotonic()
    try:
        result = ray.get(ref)
    except Exception as e:  # the task itself failed (a lost node after its retries, a bug...)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        run.outcome, run.reason = "failed", f"the Ray task failed: {first}"
        return
    try:
        land_run_folder(result["archive"], run.output_dir, result["worker_dir"])
    except (OSError, ValueError, tarfile.TarError) as e:
        run.outcome, run.reason = "failed", f"its folder came back from {result['host']} but could not be unpacked: {e}"
        return
    run.outcome, run.reason = result["outcome"], result["reason"]
    if run.outcome == "failed":
        run.reason += f" (on {result['host']})"


def _stop_ray_runs(ray, stop_flag, in_flight, board, patience=60.0):
    with contextlib.suppress(Exception):
        ray.get(stop_flag.set.remote(), timeout=10)
    deadline = time.monotonic() + patience
    try:
        while in_flight and time.monotonic() < deadline:
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in ready:
                run = in_flight.pop(ref)
                _collect(ray, ref, run)
                board.line(f"{'stopped' if run.outcome == 'interrupted' else run.outcome} {run.folder}"
                           + (f": {run.reason}" if run.reason else "") + " (its folder is back)")
    except KeyboardInterrupt:
        pass
    for ref in in_flight:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)


# ----------------------------------------------------------------------------------------------
# A Ray cluster on this machine alone (tests, benchmarks, trying --ray out)
# ----------------------------------------------------------------------------------------------
def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayCluster:
    """A one-machine Ray cluster on the loopback address, started and stopped by this object.

    It runs ``ray start --head --block`` (with every port chosen free, and a temporary folder of
    its own); stopping that one process stops every Ray process it started, and no other Ray
    cluster on the machine is touched (unlike ``ray stop``, which stops them all). Use as::

        with LocalRayCluster(num_cpus=2) as cluster:
            grid.run(ppo, ray_address=cluster.address)

    :attr:`env` holds the variables that keep Ray on loopback: starting the cluster sets them in
    this process (before importing Ray, which reads them once); a driver in another process needs
    them in its environment too.
    """

    #: Ray's switch for a cluster of one machine: every address is 127.0.0.1.
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}

    def __init__(self, num_cpus=2, object_store_mb=200, startup_timeout=240.0, attempts=2):
        self.num_cpus, self.object_store_mb = num_cpus, object_store_mb
        self.startup_timeout, self.attempts = startup_timeout, attempts
        self.process, self.temp_dir, self.address = None, None, None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        # Also here, before Ray is imported: Ray reads the switch once, at import.
        os.environ.update(self.env)
        import_ray()
        ray_cli = osp.join(osp.dirname(sys.executable), "ray")
        if not osp.exists(ray_cli):
            ray_cli = shutil.which("ray") or "ray"
        for attempt in range(1, self.attempts + 1):
            # Short: Ray's socket paths live under it and must stay within ~100 characters.
            self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp" if osp.isdir("/tmp") else None)
            port = _free_port()
            cmd = [ray_cli, "start", "--head", "--block", f"--num-cpus={self.num_cpus}", f"--port={port}",
                   "--disable-usage-stats", "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                   f"--object-store-memory={self.object_store_mb * 2**20}",
                   f"--node-manager-port={_free_port()}", f"--object-manager-port={_free_port()}",
                   f"--dashboard-agent-grpc-port={_free_port()}", f"--dashboard-agent-listen-port={_free_port()}",
                   f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}"]
            self.log_path = osp.join(self.temp_dir, "ray_start.log")
            with open(self.log_path, "w") as log:
                self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                env=dict(os.environ, **self.env),
                                                start_new_session=(os.name == "posix"))
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if "Ray runtime started" in _read_text(self.log_path, limit=None):
                    self.address = f"127.0.0.1:{port}"
                    return self
                time.sleep(0.5)
            reason = _read_text(self.log_path, limit=None)[-300:]
            self.stop(keep_log=attempt == self.attempts)  # the last one's log stays, for diagnosis
        raise RuntimeError(f"could not start a local Ray cluster ({self.log_path}): {reason}")

    def stop(self, keep_log=False):
        """Stop the cluster (SIGTERM to `ray start --block`, which stops what it started)."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if os.name == "posix":  # anything of its process group still there
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
        if self.temp_dir and not keep_log:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.address = None
