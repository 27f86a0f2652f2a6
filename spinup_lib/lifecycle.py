"""Processes that stop together: no experiment trains on alone after its launcher is gone.

``python -m spinup_lib.run`` runs each experiment in a child process (and, with ``--cpu N``,
that child runs ``mpirun``, which starts the N ranks). Two things keep the tree together:

* :func:`wait_passing_on_signals`: a process waiting for its child passes SIGINT, SIGTERM and
  SIGHUP on to it (a scheduler's or a user's ``kill`` reaches only the process it names), and
  stops the child and what it started if they do not stop within a grace period
  (:func:`stop_process_trees`: SIGTERM, then SIGKILL);
* :func:`stop_with_parent`: a child stops when its parent dies, even of SIGKILL, which no
  handler can pass on. On Linux the kernel tells it (``PR_SET_PDEATHSIG``, set through ctypes
  when the function is called, never at import); everywhere a thread checks once a second
  whether the parent is still there (its pid changes on Linux and macOS; on Windows psutil is
  asked whether the parent process still runs).

Process trees and liveness come from psutil, the same on every platform; nothing
platform-specific happens at import time.
"""
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

# Signals a launcher passes on to the experiment it waits for (those this platform has).
FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                          if hasattr(signal, name))

_watcher_started = False


def process_is_alive(pid):
    """Whether process ``pid`` exists (on every platform, through psutil)."""
    return pid == os.getpid() or psutil.pid_exists(pid)


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
        passed_on = 0
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
            if received and now - received[0][1] > grace:
                stop_process_trees([process], steps=((signal.SIGTERM, 5.0),))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _send(process, signum):
    try:
        process.send_signal(signum)
    except (ProcessLookupError, OSError):
        pass  # it has just ended


def stop_process_trees(processes, steps=((signal.SIGTERM, 5.0),)):
    """Stop ``processes`` (``subprocess.Popen`` children of this one) and every process below them.

    Each step sends its signal to all of them still running, the children and their descendants
    (mpirun and its MPI ranks, say), and waits up to its seconds for them to end; what still
    runs after the last step is killed (SIGKILL). A descendant is stopped even if its parent
    ended first. On Windows, which has no signals to send, each step terminates. A second
    Ctrl-C while waiting skips to the kill. The children are waited for through their Popen,
    so their exit status can still be read.
    """
    processes = [process for process in processes if process.poll() is None]
    below = {}  # every descendant seen: pid -> psutil.Process (which knows if the pid was reused)

    def running():
        children = []
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(psutil.Error):
                    child = psutil.Process(process.pid)
                    children.append(child)
                    for descendant in child.children(recursive=True):
                        below.setdefault(descendant.pid, descendant)
        return children + [descendant for descendant in below.values() if _runs(descendant)]

    try:
        for signum, seconds in steps:
            for process in running():
                _signal(process, signum)
            deadline = time.monotonic() + seconds
            while running() and time.monotonic() < deadline:
                time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    for process in running():
        with contextlib.suppress(psutil.Error):
            process.kill()
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def _runs(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal(process, signum):
    with contextlib.suppress(psutil.Error, OSError):
        if os.name == "posix":
            process.send_signal(signum)
        else:
            process.terminate()


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
