"""An experiment in a fresh Python process: both ends of the one way it is done.

Every run, whether from ``call_experiment`` or a grid's runners (here or on a Ray worker), is
``thunk(**kwargs)`` called in ``python -m spinup_lib.experiments.child PAYLOAD_FILE``, a fresh
process, so that nothing (RNG state, torch threads, MPI) leaks between runs. :class:`FreshProcess`
writes the payload into a private temporary folder and starts the process; :func:`main`, in
that process, runs the call and writes back what went wrong.

``PAYLOAD_FILE`` is a pickled dict of plain values:

``num_cpu``     number of MPI processes; more than one re-launches this script under mpirun
``sys_path``    the caller's ``sys.path``, so functions from the caller's modules can be found
``error_file``  where to write the message of a :class:`~spinup_lib.errors.UserError`, for the
                caller to report it (None: print it here instead)
``failure_file`` where to write ``'ExceptionType: message'`` of any other error (its traceback is
                printed too), so the caller can tell an error from a kill (optional)
``parent_pid``  the caller's pid: this process stops when the caller is gone (optional)
``call``        cloudpickle bytes of ``(thunk, kwargs)``; this process calls ``thunk(**kwargs)``

Exit status: 0 done, 2 a user mistake (its one-line message, no traceback), 130 interrupted,
1 (with a traceback) for anything else.
"""
import contextlib
import os
import os.path as osp
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

from spinup_lib.lifecycle import process_is_alive

#: The module that runs the call in the fresh process.
CHILD_MODULE = "spinup_lib.experiments.child"


class FreshProcess:
    """``thunk(**kwargs)`` running in a fresh process (``num_cpu`` MPI processes).

    The call is serialised with cloudpickle: functions from importable modules travel by
    reference (the child gets ``sys_path``, by default this process's), functions defined in
    ``__main__`` or a notebook travel by value. The child stops if this process is gone, even
    killed outright (:func:`spinup_lib.lifecycle.stop_with_parent`).

    Args:
        log: an open file for the child's output, which then runs in a session of its own (Ctrl-C
            in the terminal reaches only this process, which stops it). Default: this terminal.
    """

    def __init__(self, thunk, kwargs, num_cpu=1, sys_path=None, log=None):
        import cloudpickle

        remove_stale_call_folders()
        self.workdir = tempfile.mkdtemp(prefix=f"spinup_call_{os.getpid()}_")
        self.error_file = osp.join(self.workdir, "user_error.txt")
        self.failure_file = osp.join(self.workdir, "failure.txt")
        try:
            payload = dict(num_cpu=num_cpu, sys_path=[p for p in sys.path if p] if sys_path is None else sys_path,
                           error_file=self.error_file, failure_file=self.failure_file, parent_pid=os.getpid(),
                           call=cloudpickle.dumps((thunk, kwargs)))
            payload_path = osp.join(self.workdir, "call.pkl")
            with open(payload_path, "wb") as f:
                pickle.dump(payload, f)
            self.cmd = [sys.executable or "python", "-m", CHILD_MODULE, payload_path]
            with _signals_unblocked():
                if log is None:
                    self.process = subprocess.Popen(self.cmd, env=os.environ.copy())
                else:
                    self.process = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                                                    start_new_session=(os.name == "posix"))
        except BaseException:
            self.cleanup()
            raise

    def poll(self):
        return self.process.poll()

    def report(self):
        """``(user_error, failure)``: what the ended child wrote of its error (each None if nothing)."""
        return _read(self.error_file), _read(self.failure_file)

    def cleanup(self):
        """Remove the payload's folder."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip() or None
    except OSError:
        return None


def remove_stale_call_folders():
    """Remove the temporary folders of :class:`FreshProcess` whose launcher was killed."""
    folder = tempfile.gettempdir()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = re.match(r"^spinup_call_(\d+)_", name)
        if match and not process_is_alive(int(match.group(1))):
            shutil.rmtree(osp.join(folder, name), ignore_errors=True)


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


# ----------------------------------------------------------------------------------------------
# The fresh process
# ----------------------------------------------------------------------------------------------


def _drop_own_folder_from_path():
    # mpirun re-runs this file as a plain script, which puts its folder first on sys.path; the
    # modules there (settings, grid, plan...) must not shadow top-level modules of the same name.
    own_folder = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != own_folder]


def _report_user_error(message, error_file):
    if error_file:
        with open(error_file, "w", encoding="utf-8") as f:
            f.write(message)
    else:
        print(f"error: {message}", file=sys.stderr)


def main(argv=None):
    """Run the call described by the payload file named in ``argv``; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m spinup_lib.experiments.child PAYLOAD_FILE "
              "(written by spinup_lib.experiments.child.FreshProcess)", file=sys.stderr)
        return 2
    _drop_own_folder_from_path()
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A launcher started in the background (nohup, `&`, a Ray worker of such a cluster) ignores SIGINT, and
        # children inherit that; the SIGINT a grid sends to stop this run must still stop it cleanly.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # The payload is the caller's own call, written by it into a private folder: not user input.
    with open(argv[0], "rb") as f:
        payload = pickle.load(f)
    if payload.get("parent_pid") is not None and not os.getenv("IN_MPI"):
        from spinup_lib.lifecycle import stop_with_parent

        # Killed outright (SIGKILL), the caller cannot pass a signal on: notice it ourselves.
        stop_with_parent(parent_pid=payload["parent_pid"])
    for entry in payload.get("sys_path", []):
        if entry not in sys.path:
            sys.path.append(entry)

    from spinup_lib.errors import UserError

    error_file = payload.get("error_file")
    try:
        num_cpu = payload.get("num_cpu", 1)
        if num_cpu > 1:
            from spinup_lib.mpi import mpi_fork

            try:
                # In the launching process this starts num_cpu copies of this script under mpirun,
                # waits for them and exits; inside each copy it returns and the call runs below.
                mpi_fork(num_cpu)
            except subprocess.CalledProcessError as e:
                # The ranks already printed what went wrong (or wrote the user error).
                return e.returncode if e.returncode and e.returncode > 0 else 1

        import cloudpickle

        thunk, kwargs = cloudpickle.loads(payload["call"])
        thunk(**kwargs)
    except UserError as e:
        _report_user_error(str(e), error_file)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        traceback.print_exc()
        failure_file = payload.get("failure_file")
        if failure_file:
            summary = " ".join(f"{type(e).__name__}: {e}".split())[:500]
            with open(failure_file, "w", encoding="utf-8") as f:
                f.write(summary)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
