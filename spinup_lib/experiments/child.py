"""The fresh process in which :func:`spinup_lib.experiments.calls.call_experiment` runs an experiment.

Usage (written by ``calls.run_in_fresh_process``, not by hand)::

    python -m spinup_lib.experiments.child PAYLOAD_FILE

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
import os
import pickle
import subprocess
import sys
import traceback


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
              "(written by spinup_lib.run_utils.call_experiment)", file=sys.stderr)
        return 2
    _drop_own_folder_from_path()
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
