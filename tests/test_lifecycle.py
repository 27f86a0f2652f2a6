"""Runs without dead ends or orphans (issue 11, item 5, and the launcher's messages of item 10).

* a run that stops on a mistake, or is killed in its first epoch, leaves nothing that blocks
  the corrected command; a run whose progress.txt was deleted is still not written into;
* SIGTERM / SIGINT to the launcher stop the experiment and its MPI ranks; a launcher killed with
  SIGKILL does not leave its experiment training alone; stale temporary files are removed;
* on-policy runs write the resume checkpoint every epoch; per-process checkpoints of different
  epochs are refused; the launcher says how a child that left no traceback ended.

The signal tests start real launchers (`python -m spinup_lib.run`) and read the process tree
from /proc, so they run on Linux only; each takes 5-25 s.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import pandas as pd
import pytest

from spinup_lib import checkpoint as checkpoint_module
from spinup_lib.algos.ppo import ppo
from spinup_lib.algos.sac import sac
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.lifecycle import process_is_alive, stop_process_trees
from spinup_lib.logx import EpochLogger
from spinup_lib.run_utils import (ExperimentFailed, call_experiment, check_run_dir_is_free, resume_experiment,
                                  run_in_fresh_process)

TINY_PPO = dict(steps_per_epoch=200, max_ep_len=50, train_pi_iters=2, train_v_iters=2,
                ac_kwargs=dict(hidden_sizes=(8,)))
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")


def progress(run_dir):
    return pd.read_csv(run_dir / "progress.txt", sep="\t")


def cli(*args, data_dir):
    """Start `python -m spinup_lib.run ARGS` in the background, its output in data_dir/launcher.log."""
    env = dict(os.environ, SPINUP_DATA_DIR=str(data_dir), SPINUP_WAIT_BEFORE_LAUNCH="0")
    with open(data_dir / "launcher.log", "w") as log:
        # Its own session: a signal the test sends reaches only the launcher, as `kill PID` would.
        return subprocess.Popen([sys.executable, "-m", "spinup_lib.run", *map(str, args)], env=env, cwd=data_dir,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def launcher_output(data_dir):
    return (data_dir / "launcher.log").read_text()


def descendants(pid):
    """Pids of every process below ``pid`` (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped
    except OSError:
        return False


def wait_until(condition, timeout, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_for_rows(progress_path, rows, timeout=120):
    def has_rows():
        return progress_path.exists() and progress_path.read_text().count("\n") >= rows + 1
    assert wait_until(has_rows, timeout), "the run never logged an epoch"


def kill_everything(launcher, pids):
    for pid in [launcher.pid, *pids]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    launcher.wait(timeout=10)


# ----------------------------------------------------------------------------------------------
# No dead ends: failed and killed runs leave nothing that blocks the next command
# ----------------------------------------------------------------------------------------------
def test_a_run_stopped_by_a_mistake_leaves_nothing_behind(tmp_path):
    run_dir = tmp_path / "run"
    # SAC refuses CartPole's discrete actions after the logger was made (when building the networks).
    with pytest.raises(UserError, match="continuous"):
        sac(make_env_fn("CartPole-v1"), logger_kwargs=dict(output_dir=str(run_dir)))
    assert not run_dir.exists()
    # The corrected command runs into the same directory.
    sac(make_env_fn("Pendulum-v1"), epochs=1, steps_per_epoch=60, start_steps=30, update_after=30,
        update_every=30, batch_size=8, num_test_episodes=1, max_ep_len=20,
        ac_kwargs=dict(hidden_sizes=(8,)), logger_kwargs=dict(output_dir=str(run_dir)))
    assert list(progress(run_dir)["Epoch"]) == [0]


def test_a_run_interrupted_in_its_first_epoch_leaves_nothing_behind(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    steps = []

    def interrupted_step(self, action):
        steps.append(1)
        if len(steps) == 100:
            raise KeyboardInterrupt  # as Ctrl-C in the middle of the first epoch
        return original_step(self, action)

    import gymnasium

    original_step = gymnasium.wrappers.TimeLimit.step
    monkeypatch.setattr(gymnasium.wrappers.TimeLimit, "step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        ppo(make_env_fn("CartPole-v1"), logger_kwargs=dict(output_dir=str(run_dir)), epochs=2, **TINY_PPO)
    assert not run_dir.exists() or not os.listdir(run_dir)
    check_run_dir_is_free(run_dir)  # the command may simply be run again


@linux_only
@pytest.mark.slow
def test_a_run_killed_in_its_first_epoch_can_be_run_again(tmp_path):
    # ~5-10 s: a launcher killed outright (with its experiment) during a long first epoch.
    launcher = cli("vpg", "--env", "CartPole-v1", "--exp_name", "killed", "--epochs", "1", "--train_v_iters", "1",
                   "--steps_per_epoch", "1000000", data_dir=tmp_path)
    try:
        assert wait_until(lambda: "Number of parameters" in launcher_output(tmp_path), 90), "it never started"
    finally:
        kill_everything(launcher, descendants(launcher.pid))
    run_dir = tmp_path / "killed" / "killed_s0"
    assert not run_dir.exists() or not os.listdir(run_dir)
    check_run_dir_is_free(run_dir)  # what the command line checks: the same command may run again
    EpochLogger(output_dir=run_dir)  # and so does the run's logger


def test_a_run_whose_progress_was_deleted_is_not_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("CartPole-v1"), epochs=1, logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    (run_dir / "progress.txt").unlink()
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="holds files of a run .*config.json.*no progress.txt"):
        EpochLogger(output_dir=run_dir)
    with pytest.raises(UserError, match="holds files of a run"):
        check_run_dir_is_free(run_dir)  # what the command line checks before launching
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


# ----------------------------------------------------------------------------------------------
# Checkpoints every epoch, and resume's refusals
# ----------------------------------------------------------------------------------------------
class StopAfterEpoch(Exception):
    pass


def test_on_policy_runs_can_resume_from_any_epoch_not_only_snapshots(tmp_path):
    # save_freq=10 (agent snapshots), but a run stopped after epoch 1 resumes from epoch 1,
    # and ends exactly as a run that never stopped.
    def stop_after_epoch_1(row):
        if row["Epoch"] == 2:  # a kill during epoch 2's saving: epoch 1's checkpoint is the last
            raise StopAfterEpoch

    kwargs = dict(seed=2, save_freq=10, **TINY_PPO)
    ppo(make_env_fn("CartPole-v1"), epochs=4, logger_kwargs=dict(output_dir=str(tmp_path / "straight")), **kwargs)
    with pytest.raises(StopAfterEpoch):
        ppo(make_env_fn("CartPole-v1"), epochs=4, **kwargs,
            logger_kwargs=dict(output_dir=str(tmp_path / "stopped"), epoch_callback=stop_after_epoch_1))
    assert checkpoint_module.load_checkpoint(tmp_path / "stopped")["epoch"] == 1
    assert not (tmp_path / "stopped" / "pyt_save").exists()  # no snapshot was due yet
    resume_experiment(tmp_path / "stopped")
    straight, resumed = progress(tmp_path / "straight"), progress(tmp_path / "stopped")
    pd.testing.assert_frame_equal(straight.drop(columns="Time"), resumed.drop(columns="Time"))


def test_resume_of_a_finished_run_says_so_in_one_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("CartPole-v1"), epochs=2, logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    before = (run_dir / "progress.txt").read_bytes()
    capsys.readouterr()
    assert resume_experiment(run_dir) is None
    assert resume_experiment(run_dir, epochs=1) is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{run_dir} already has 2 epochs (asked for 2): nothing to do; give --epochs N with N > 2 "
                     "to train longer", f"{run_dir} already has 2 epochs (asked for 1): nothing to do; give "
                     "--epochs N with N > 2 to train longer"]
    assert (run_dir / "progress.txt").read_bytes() == before


def save_as_process(run_dir, rank, count, epoch, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "proc_id", lambda: rank)
    monkeypatch.setattr(checkpoint_module, "num_procs", lambda: count)
    checkpoint_module.save_checkpoint(run_dir, "vpg", epoch, {}, call={"epochs": 10})
    monkeypatch.undo()


def test_per_process_checkpoints_of_different_epochs_are_refused(tmp_path, monkeypatch):
    # As after a kill between two processes' saves: resuming would set them on different
    # epochs, whose collective calls would never match (a hang).
    save_as_process(tmp_path, 0, 2, epoch=3, monkeypatch=monkeypatch)
    save_as_process(tmp_path, 1, 2, epoch=2, monkeypatch=monkeypatch)
    with pytest.raises(UserError, match=r"different epochs \(process 0: epoch 3, process 1: epoch 2\)"):
        resume_experiment(tmp_path)
    (tmp_path / "checkpoint.rank1.pt").unlink()
    with pytest.raises(UserError, match="no checkpoint for process 1"):
        resume_experiment(tmp_path)


def test_resume_removes_stale_temporary_files(tmp_path):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("CartPole-v1"), epochs=1, logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    stale = [run_dir / f".checkpoint.pt.{dead_pid}.tmp", run_dir / "pyt_save" / f".model.pt.{dead_pid}.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    resume_experiment(run_dir, epochs=2)
    assert not any(path.exists() for path in stale)
    assert list(progress(run_dir)["Epoch"]) == [0, 1]


def test_stale_launch_folders_are_removed(tmp_path):
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    stale = tempfile.mkdtemp(prefix=f"spinup_call_{dead_pid}_")
    mine = tempfile.mkdtemp(prefix=f"spinup_call_{os.getpid()}_")
    try:
        run_in_fresh_process(print, dict(end=""))
        assert not os.path.exists(stale) and os.path.exists(mine)
    finally:
        os.rmdir(mine)


# ----------------------------------------------------------------------------------------------
# The launcher's message when its child left no traceback
# ----------------------------------------------------------------------------------------------
def kill_myself(**kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def fail_with_a_traceback(**kwargs):
    raise ValueError("something broke")


def test_a_killed_experiment_is_reported_as_killed(tmp_path, capsys):
    with pytest.raises(ExperimentFailed) as failed:
        call_experiment("killed", kill_myself, data_dir=str(tmp_path))
    message = str(failed.value)
    assert "killed by signal 9 (SIGKILL)" in message and "traceback" not in message
    assert "killed by signal 9 (SIGKILL)" in capsys.readouterr().out

    with pytest.raises(ExperimentFailed) as failed:
        call_experiment("broken", fail_with_a_traceback, data_dir=str(tmp_path))
    assert "ValueError: something broke (its traceback is above)" in str(failed.value)


def test_exit_statuses_in_words():
    assert "exit status 3" in str(ExperimentFailed(3, ["x"], "e"))
    assert "as after SIGTERM" in str(ExperimentFailed(143, ["x"], "e"))


# ----------------------------------------------------------------------------------------------
# Signals: the launcher's experiment (and its MPI ranks) stop with it
# ----------------------------------------------------------------------------------------------
LONG_RUN = ["vpg", "--env", "CartPole-v1", "--epochs", "1000", "--steps_per_epoch", "200", "--train_v_iters", "1",
            "--hid", "[8]"]


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_launcher_stops_the_mpi_ranks(tmp_path, signum):
    # ~15 s each: two ranks under mpirun, the launcher signalled by pid (not its whole group).
    launcher = cli(*LONG_RUN, "--cpu", "2", data_dir=tmp_path)
    try:
        wait_for_rows(tmp_path / "cmd_vpg" / "cmd_vpg_s0" / "progress.txt", rows=1)
        tree = descendants(launcher.pid)
        assert len(tree) >= 4, tree  # the experiment, mpirun and two ranks (at least)
        launcher.send_signal(signum)
        launcher.wait(timeout=30)
        assert wait_until(lambda: not any(alive(pid) for pid in tree), 30), launcher_output(tmp_path)
        assert launcher.returncode == (130 if signum == signal.SIGINT else 128 + signum)
    finally:
        kill_everything(launcher, descendants(launcher.pid))


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("cpu", [1, 2])
def test_a_launcher_killed_outright_leaves_no_experiment_running(tmp_path, cpu):
    # ~10-15 s each: SIGKILL cannot be passed on; the experiment (and the ranks) notice by themselves.
    launcher = cli(*LONG_RUN, "--cpu", cpu, data_dir=tmp_path)
    tree = []
    try:
        progress_path = tmp_path / "cmd_vpg" / "cmd_vpg_s0" / "progress.txt"
        wait_for_rows(progress_path, rows=1)
        tree = descendants(launcher.pid)
        launcher.kill()
        launcher.wait(timeout=10)
        assert wait_until(lambda: not any(alive(pid) for pid in tree), 30), launcher_output(tmp_path)
        size = progress_path.stat().st_size
        time.sleep(2)
        assert progress_path.stat().st_size == size  # nothing trains any more
    finally:
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.slow
def test_two_process_run_resumes_from_its_last_epoch(tmp_path):
    # ~25 s: 2 MPI ranks; each writes its checkpoint every epoch and resume continues both.
    first = subprocess.run([sys.executable, "-m", "spinup_lib.run", *LONG_RUN[:3], "--epochs", "2",
                            *LONG_RUN[5:], "--cpu", "2"], env=dict(os.environ, SPINUP_DATA_DIR=str(tmp_path)),
                           cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "cmd_vpg" / "cmd_vpg_s0"
    assert {checkpoint_module.load_checkpoint(run_dir, rank)["epoch"] for rank in (0, 1)} == {1}
    resumed = subprocess.run([sys.executable, "-m", "spinup_lib.run", "resume", str(run_dir), "--epochs", "3"],
                             env=dict(os.environ, SPINUP_DATA_DIR=str(tmp_path)), cwd=tmp_path,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert list(progress(run_dir)["Epoch"]) == [0, 1, 2]
    assert list(progress(run_dir)["TotalEnvInteracts"]) == [200, 400, 600]
    assert "End of experiment" in resumed.stdout


STUBBORN_TREE = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # this one stops at SIGTERM...
grandchild = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                               "[signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)]; "
                               "print('ready', flush=True); time.sleep(60)"], stdout=sys.stdout)
print(grandchild.pid, flush=True)  # ...and its child only at SIGKILL
time.sleep(60)
"""


@linux_only
def test_a_process_tree_is_stopped_step_by_step_to_the_last_descendant():
    # ~2 s: psutil finds the grandchild, which outlives its parent, and it is killed in the end.
    child = subprocess.Popen([sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    assert child.stdout.readline().strip() == "ready"
    try:
        stop_process_trees([child], steps=((signal.SIGINT, 0.5), (signal.SIGTERM, 0.5)))
        assert child.returncode == -signal.SIGTERM  # still readable: its Popen waited for it
        assert wait_until(lambda: not alive(grandchild), 5)
        assert not process_is_alive(child.pid)
    finally:
        kill_everything(child, [grandchild])


CHILD = """
import sys, time
from spinup_lib.lifecycle import stop_with_parent
stop_with_parent(parent_pid=int(sys.argv[1]), use_kernel=False, poll_seconds=0.2)
print("watching", flush=True)
time.sleep(60)
"""
MIDDLE = """
import subprocess, sys, os, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "watching"
print(child.pid, flush=True)
time.sleep(60)
"""


@linux_only
def test_the_polling_watch_stops_a_child_whose_parent_died():
    # The check every platform has (the kernel's parent-death signal is Linux only): ~2 s.
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, CHILD], stdout=subprocess.PIPE, text=True)
    try:
        child = int(middle.stdout.readline())
        assert alive(child)
        middle.kill()
        middle.wait()
        assert wait_until(lambda: not alive(child), 10)
    finally:
        middle.kill()
