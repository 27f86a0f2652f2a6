"""Processes that stop together: no experiment trains on alone after its launcher is gone.

``python -m spinup_lib.run`` runs each experiment in a child process (and, with ``--cpu N``,
that child runs ``mpirun``, which starts the N ranks). Two things keep the tree together:

* :func:`wait_passing_on_signals`: a process waiting for its child passes SIGINT, SIGTERM and
  SIGHUP on to it (a scheduler's or a user's ``kill`` reaches only the process it names), and
  kills the child if it does not stop within a grace period;
* :func:`stop_with_parent`: a child stops when its parent dies, even of SIGKILL, which no
  handler can pass on. On Linux the kernel tells it (``PR_SET_PDEATHSIG``, set through ctypes
  when the function is called, never at import); everywhere a thread checks once a second
  whether the parent is still there (its pid changes on Linux and macOS; Windows is asked
  through ctypes whether the parent process still runs).

Only the standard library is used, and nothing platform-specific happens at import time.
"""
import os
import signal
import subprocess
import sys
import threading
import time

# Signals a launcher passes on to the experiment it waits for (those this platform has).
FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                          if hasattr(signal, name))

_watcher_started = False


def process_is_alive(pid):
    """Whether process ``pid`` exists (True whenever that cannot be told for sure)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return _windows_process_is_alive(pid)
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _windows_process_is_alive(pid):
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        synchronize, query_limited_information, still_running = 0x00100000, 0x1000, 0x102
        handle = kernel32.OpenProcess(synchronize | query_limited_information, False, int(pid))
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            return kernel32.WaitForSingleObject(handle, 0) == still_running
        finally:
            kernel32.CloseHandle(handle)
    except Exception:
        return True


def signal_name(signum):
    """'SIGTERM' for 15, or 'signal 15' for a number this platform does not name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_status_text(returncode):
    """How a process ended, in words: 'exit status 1', 'killed by signal 9 (SIGKILL)'."""
    if returncode is not None and returncode < 0:
        return f"killed by signal {-returncode} ({signal_name(-returncode)})"
    return f"exit status {returncode}"


def wait_passing_on_signals(process, grace=10.0):
    """Wait for ``process``, passing on SIGINT, SIGTERM and SIGHUP that this process receives.

    A SIGINT is passed on after a second if the child is still running: Ctrl-C in a terminal
    reaches the child directly, and a second SIGINT would interrupt its clean-up. If the child
    has not stopped ``grace`` seconds after the first signal it is terminated, and 5 seconds
    later killed. Outside the main thread (where Python cannot install signal handlers) this
    is a plain ``process.wait()``.

    Returns:
        (returncode, signum): the child's exit status and the first signal received (None if none).
    """
    if threading.current_thread() is not threading.main_thread():
        return process.wait(), None
    received = []
    previous = {}

    def on_signal(signum, frame):
        received.append((signum, time.monotonic()))

    for signum in FORWARDED_SIGNALS:
        previous[signum] = signal.signal(signum, on_signal)
    try:
        passed_on, terminated, killed = 0, False, False
        while True:
            try:
                return process.wait(timeout=0.1), (received[0][0] if received else None)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            while passed_on < len(received):
                signum, at = received[passed_on]
                if signum == getattr(signal, "SIGINT", None) and now - at < 1.0:
                    break  # not yet: the child may have had its own Ctrl-C
                _send(process, signum)
                passed_on += 1
            if received and not terminated and now - received[0][1] > grace:
                _send(process, signal.SIGTERM)
                terminated = True
            if received and not killed and now - received[0][1] > grace + 5:
                process.kill()
                killed = True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _send(process, signum):
    try:
        process.send_signal(signum)
    except (ProcessLookupError, OSError):
        pass  # it has just ended


def stop_with_parent(parent_pid=None, also_watch=None, use_kernel=True, poll_seconds=1.0):
    """Make this process stop (SIGTERM to itself) as soon as its parent process is gone.

    Args:
        parent_pid (int): the pid the parent should have; if the parent is already another
            process (the launcher died before we got here), stop now.
        also_watch (int): another process whose end also stops this one (e.g. the process that
            ran mpirun, for an MPI rank whose parent is mpirun's daemon).
        use_kernel (bool): on Linux also ask the kernel to send SIGTERM when the parent dies
            (PR_SET_PDEATHSIG). Only for a parent that waits for us in the thread that started
            us: the kernel acts when that thread ends.
        poll_seconds (float): how often the watching thread checks.
    """
    global _watcher_started
    if _watcher_started:
        return
    _watcher_started = True
    parent = os.getppid()
    if use_kernel and sys.platform.startswith("linux"):
        _set_parent_death_signal(signal.SIGTERM)
    if parent_pid is not None and parent != parent_pid:
        _stop_self()
        return
    watcher = threading.Thread(target=_watch, args=(parent, also_watch, poll_seconds),
                               name="spinup-stop-with-parent", daemon=True)
    watcher.start()


def _set_parent_death_signal(signum):
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
        libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the polling thread still watches


def _watch(parent, also_watch, poll_seconds):
    while True:
        time.sleep(poll_seconds)
        # A parent's death changes getppid() on Linux and macOS; on Windows it does not, there
        # the parent itself is checked.
        parent_gone = os.getppid() != parent or not process_is_alive(parent)
        if parent_gone or (also_watch is not None and not process_is_alive(also_watch)):
            _stop_self()
            return


def _stop_self():
    # SIGTERM, not an exception: the main thread may be inside a long C call. A handler (such
    # as wait_passing_on_signals') may stop children first; if nothing ends us, exit anyway.
    print("stopping: the process that launched this experiment is gone", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    os._exit(128 + int(signal.SIGTERM))
