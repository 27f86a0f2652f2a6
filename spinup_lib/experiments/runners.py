"""Running the runs of a grid on this machine: one after the other, or several at once.

* :func:`run_series`: one run after the other, each printing its epoch table (``num_workers=1``,
  the default);
* :func:`run_pool`: up to ``num_workers`` runs at once, each a fresh process with one torch
  thread whose output goes to ``output.log`` in its run folder; the terminal gets one summary line
  per update. A failed run does not stop the others; Ctrl-C stops them all.

Every run goes through ``python -m spinup_lib.experiments.child`` in a fresh process
(:class:`~spinup_lib.experiments.child.FreshProcess`), as ``call_experiment`` does, so a run's numbers do not depend on
which runner ran it, or where.
"""
import collections
import contextlib
import os
import os.path as osp
import signal
import sys
import threading
import time

from spinup_lib.experiments.calls import call_experiment, run_in_fresh_process, with_env_fn
from spinup_lib.experiments.child import FreshProcess
from spinup_lib.experiments.plan import FINISHED, LOG_FNAME, NEW, RESTART, RESUME, GridFailed, epochs_logged, quoted
from spinup_lib.experiments.resume import resume_experiment
from spinup_lib.lifecycle import exit_status_text, stop_process_trees
from spinup_lib.logx import colorize

#: Seconds between summary lines when nothing else happened.
SUMMARY_EVERY = 30.0

#: Seconds a stopped run has to save and exit after Ctrl-C, before it is terminated.
STOP_GRACE = 10.0


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
        call = cloudpickle.dumps((run.thunk, with_env_fn(run.kwargs)))
    return dict(mode=run.status, exp_name=run.exp_name, folder=run.folder, num_cpu=run.num_cpu, call=call,
                sys_path=[p for p in sys.path if p])


class Child:
    """A run's fresh process (:class:`~spinup_lib.experiments.child.FreshProcess`), writing to
    output.log in the run's folder."""

    def __init__(self, job, output_dir):
        os.makedirs(output_dir, exist_ok=True)
        self.output_dir = output_dir
        self.log_path = osp.join(output_dir, LOG_FNAME)
        what = {NEW: "starts", RESTART: "starts again", RESUME: "resumes"}[job["mode"]]
        with open(self.log_path, "a", encoding="utf-8") as log:  # the child has its own copy
            log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}: {job['exp_name']} {what} ===\n")
            log.flush()
            self.fresh = FreshProcess(run_job, dict(mode=job["mode"], output_dir=output_dir, exp_name=job["exp_name"],
                                                    call=job["call"]),
                                      num_cpu=job["num_cpu"], sys_path=job["sys_path"], log=log)
        self.process = self.fresh.process

    def poll(self):
        return self.process.poll()

    def outcome(self):
        """('done', '') or ('failed', reason) or ('interrupted', ''), once the process ended."""
        returncode = self.process.returncode
        message, failure = (" ".join(text.split())[:300] if text else None for text in self.fresh.report())
        try:
            if returncode == 0 and not message:
                return "done", ""
            if message:  # a user mistake met by the run: its one line goes to the run's log too
                with open(self.log_path, "a", encoding="utf-8") as log:
                    log.write(f"error: {message}\n")
                return "failed", f"error: {message}"
            if returncode in (130, -signal.SIGINT):
                return "interrupted", ""
            if failure:
                return "failed", failure
            return "failed", f"stopped without reporting an error: {exit_status_text(returncode)}"
        finally:
            self.cleanup()

    def cleanup(self):
        self.fresh.cleanup()


def stop_children(children, grace=STOP_GRACE):
    """Stop running children and what they started (mpirun, its ranks): SIGINT (each saves
    nothing more and exits), ``grace`` seconds later SIGTERM, 5 seconds later SIGKILL.

    A second Ctrl-C while waiting skips to SIGKILL.
    """
    stop_process_trees([child.process for child in children], steps=((signal.SIGINT, grace), (signal.SIGTERM, 5.0)))


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
def clock(seconds):
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
        text = (f"[{self.name} {clock(time.monotonic() - self.start)}] done {done}/{len(self.runs)}, "
                f"running {running}, failed {counts['failed']}, waiting {waiting}")
        if counts["interrupted"]:
            text += f", stopped {counts['interrupted']}"
        left = self.time_left()
        if running or waiting:
            text += f"; {'~' + clock(left) if left is not None else '?'} left"
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
            else " ".join(quoted(e) for e in experiments)
    print(f"Plot them with: python -m spinup_lib.run plot {prefix}", flush=True)


def finish(runs, grid_name, where):
    print_failures(runs)
    print_ending(runs, where, grid_name)
    failed = [run for run in runs if run.outcome == "failed"]
    if failed:
        raise GridFailed(grid_name, [run.folder for run in failed], len(runs))


def interrupted(runs, board):
    for run in runs:
        if run.outcome is None:
            run.outcome = "interrupted"
            run.ended = run.ended or time.monotonic()
    board.line("interrupted")
    print("Stopped every run. Run the same command again to go on: finished runs are skipped, "
          "the others resume from their last checkpoint.", flush=True)


def skip_finished(runs):
    for run in runs:
        if run.status == FINISHED:
            run.outcome = "skipped"


# ----------------------------------------------------------------------------------------------
# Runner 1: in series, as before
# ----------------------------------------------------------------------------------------------
def run_series(runs, data_dir=None, datestamp=False):
    """One run after the other in this terminal; the first failure stops the grid (as before)."""
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
    skip_finished(runs)
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
                    took = clock(run.ended - run.started)
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
            interrupted(runs, board)
            raise
        finally:
            stop_children(list(active.values()), grace=5.0)  # an error of the grid itself
            for child in active.values():
                child.cleanup()
    board.line("all runs ended")
    finish(runs, grid_name, "this machine")
    return runs
