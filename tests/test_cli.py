"""Tests of the command line, `python -m spinup_lib.run`, run as a user would: in a subprocess."""
import inspect
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

# Tiny budgets for the runs that really train: a second or two each.
TINY = ["--steps_per_epoch", "500", "--epochs", "2", "--train_v_iters", "5"]


def run_cli(*args, data_dir, cwd=None, timeout=240):
    """Run `python -m spinup_lib.run ARGS` with results under data_dir; return the CompletedProcess."""
    env = dict(os.environ, SPINUP_DATA_DIR=str(data_dir), SPINUP_WAIT_BEFORE_LAUNCH="0")
    return subprocess.run([sys.executable, "-m", "spinup_lib.run", *map(str, args)], env=env,
                          cwd=cwd or data_dir, capture_output=True, text=True, timeout=timeout)


def with_tiny_budget(args):
    """args plus the TINY budget flags it does not set: should a check ever be missed, the run is short."""
    if args[0] != "vpg":
        return args
    extra = []
    for flag, value in zip(TINY[::2], TINY[1::2]):
        if flag not in args:
            extra += [flag, value]
    return [*args, *extra]


def assert_user_error(result, *fragments):
    """Exit status 2 and one 'error: ...' line on stderr (no traceback) containing the fragments."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def read_progress(run_dir):
    return pd.read_csv(run_dir / "progress.txt", sep="\t")


def snapshot(folder):
    """Every file under folder with its bytes and modification time."""
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.rglob("*")) if path.is_file()}


# ----------------------------------------------------------------------------------------------
# Usage and help
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_usage_lists_algorithms_and_sub_commands(tmp_path, args):
    result = run_cli(*args, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
    for word in ["vpg", "trpo", "ppo", "ddpg", "td3", "sac", "plot", "test_policy", "resume", "--env", "--cpu"]:
        assert word in result.stdout


def test_algorithm_help_prints_its_docstring(tmp_path):
    from spinup_lib.algos.vpg import vpg

    result = run_cli("vpg", "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = inspect.getdoc(vpg)
    assert doc.splitlines()[0] in result.stdout
    assert "steps_per_epoch" in result.stdout
    assert not list(tmp_path.iterdir())  # nothing was run


@pytest.mark.parametrize("command", ["plot", "test_policy"])
def test_sub_commands_delegate_with_their_own_help(tmp_path, command):
    result = run_cli(command, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"python -m spinup_lib.run {command}" in result.stdout


# ----------------------------------------------------------------------------------------------
# Mistakes: each one line on stderr, exit status 2, nothing launched
# ----------------------------------------------------------------------------------------------
ENV = ["--env", "CartPole-v1"]


@pytest.mark.parametrize("args, fragments", [
    (["vgp", *ENV], ["unknown algorithm", "vpg"]),
    (["vpg", "--gamma", "0.9"], ["missing --env"]),
    (["vpg", "--env", "CartPole-v7"], ["CartPole-v7", "CartPole-v1"]),
    (["vpg", *ENV, "--gama", "0.9"], ["--gama", "did you mean --gamma", "--steps_per_epoch"]),
    (["vpg", *ENV, "--epochs", "2.5"], ["--epochs", "an int"]),
    (["vpg", *ENV, "--seed", "True"], ["--seed", "an int"]),
    (["vpg", *ENV, "--pi_lr", "fast"], ["--pi_lr", "a number"]),
    (["vpg", *ENV, "--hid", "[32,", "32]"], ["--hid", "positive ints"]),
    (["vpg", *ENV, "--hid", "[0]"], ["--hid", "positive ints"]),
    (["vpg", *ENV, "--act", "torch.nn.Relu"], ["torch.nn.ReLU"]),
    (["vpg", *ENV, "--act", "relu"], ["--act", "torch.nn.ReLU"]),
    (["vpg", *ENV, "--ac_kwargs:hiden_sizes", "[8]"], ["did you mean --ac_kwargs:hidden_sizes"]),
    (["vpg", *ENV, "--logger_kwargs", "{}"], ["--logger_kwargs", "--exp_name"]),
    (["ddpg", "--env", "Pendulum-v1", "--cpu", "2"], ["ddpg", "several processes"]),
    (["vpg", *ENV, "--cpu", "2", "3"], ["--cpu", "one value"]),
    (["vpg", *ENV, "--exp_name", "a", "b"], ["--exp_name", "one value"]),
    (["vpg", *ENV, "--data_dir", "a", "b"], ["--data_dir", "one value"]),
    (["vpg", *ENV, "--seed", "0", "--seed", "1"], ["--seed", "twice"]),
    (["vpg", "CartPole-v1"], ["expected a flag"]),
    (["resume", "no/such/run"], ["no/such/run"]),
    (["vpg", *ENV, "--threads", "0"], ["--threads", "positive int"]),
    (["vpg", *ENV, "--threads", "two"], ["--threads", "positive int"]),
    (["vpg", *ENV, "--threads", "2", "--cpu", "2"], ["--threads", "--cpu"]),
    (["vpg", *ENV, "--threads", "2", "--ray", "auto"], ["--threads", "SPINUP_TORCH_THREADS"]),
])
def test_mistakes_are_one_line_errors(tmp_path, args, fragments):
    result = run_cli(*with_tiny_budget(args), data_dir=tmp_path)
    assert_user_error(result, *fragments)
    assert not list(tmp_path.iterdir())  # nothing was written


def test_threads_reach_the_runs_through_the_variable_each_run_reads(tmp_path, monkeypatch):
    # Every run is a fresh process that inherits the launcher's environment, where
    # setup_pytorch_for_mpi reads SPINUP_TORCH_THREADS (tests/test_mpi.py checks that end).
    from spinup_lib.experiments import cli
    from spinup_lib.experiments.grid import ExperimentGrid

    monkeypatch.delenv("SPINUP_TORCH_THREADS", raising=False)
    seen = []
    monkeypatch.setattr(ExperimentGrid, "run", lambda self, thunk, **kw: seen.append(
        (os.environ.get("SPINUP_TORCH_THREADS"), kw)))
    assert cli.main(["ppo", *ENV, "--threads", "2", "--data_dir", str(tmp_path)]) == 0
    assert seen == [("2", {"data_dir": str(tmp_path)})]  # and not passed on as a grid setting
    # the caller's own environment is put back: a test or notebook that called main() is unchanged
    assert "SPINUP_TORCH_THREADS" not in os.environ
    assert cli.main(["ppo", *ENV, "--data_dir", str(tmp_path)]) == 0
    assert seen[-1][0] is None  # without --threads the runs keep their default (one thread)
    monkeypatch.setenv("SPINUP_TORCH_THREADS", "3")
    assert cli.main(["ppo", *ENV, "--threads", "2", "--data_dir", str(tmp_path)]) == 0
    assert seen[-1][0] == "2" and os.environ["SPINUP_TORCH_THREADS"] == "3"


def test_an_existing_run_is_refused_before_anything_starts(tmp_path):
    run_dir = tmp_path / "cmd_vpg" / "cmd_vpg_s1"
    run_dir.mkdir(parents=True)
    (run_dir / "progress.txt").write_text("Epoch\n0\n")
    before = snapshot(tmp_path)
    result = run_cli("vpg", *ENV, "--seed", "0", "1", *TINY, data_dir=tmp_path)
    assert_user_error(result, "already holds a run", str(run_dir), "resume")
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "cmd_vpg" / "cmd_vpg_s0").exists()  # not even the other seed ran


# ----------------------------------------------------------------------------------------------
# End to end: real (tiny) training runs
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_vpg_run_writes_a_complete_run_directory_and_is_never_written_again(tmp_path):
    args = ["vpg", *ENV, *TINY]
    result = run_cli(*args, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "cmd_vpg" / "cmd_vpg_s0"
    for name in ["progress.txt", "config.json", "pyt_save/model.pt"]:
        assert (run_dir / name).is_file(), name
    progress = read_progress(run_dir)
    assert list(progress["Epoch"]) == [0, 1]
    assert list(progress["TotalEnvInteracts"]) == [500, 1000]
    assert f"python -m spinup_lib.run plot {run_dir}" in result.stdout

    before = snapshot(tmp_path)
    again = run_cli(*args, data_dir=tmp_path)  # the same command: the finished run is skipped
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    other = run_cli("vpg", *ENV, *TINY[:2], "--epochs", "3", *TINY[4:], data_dir=tmp_path)
    assert_user_error(other, "already holds a run made with other settings", "epochs 2 there, 3 here")
    # A setting left at its default counts too: without --epochs, vpg's default of 50 is asked for.
    default = run_cli("vpg", *ENV, *TINY[:2], *TINY[4:], data_dir=tmp_path)
    assert_user_error(default, "already holds a run made with other settings", "epochs 2 there, 50 here")
    assert snapshot(tmp_path) == before

    # The sub-commands work on the run just made.
    figure = tmp_path / "curve.png"
    plotted = run_cli("plot", run_dir, "--save", figure, data_dir=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert figure.stat().st_size > 0
    replayed = run_cli("test_policy", run_dir, "-n", "2", "-nr", data_dir=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.count("EpRet") >= 2


@pytest.mark.slow
def test_a_grid_makes_one_directory_per_variant_and_seed(tmp_path):
    result = run_cli("vpg", *ENV, "--hid[h]", "[16]", "[32]", "--seed", "0", "1",
                     "--exp_name", "grid", "--steps_per_epoch", "200", "--epochs", "1",
                     "--train_v_iters", "1", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    made = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("progress.txt"))
    assert made == ["grid_h16/grid_h16_s0", "grid_h16/grid_h16_s1", "grid_h32/grid_h32_s0", "grid_h32/grid_h32_s1"]
    config = json.loads((tmp_path / "grid_h32" / "grid_h32_s1" / "config.json").read_text())
    assert config["seed"] == 1
    assert list(config["ac_kwargs"]["hidden_sizes"]) == [32]


@pytest.mark.slow
def test_two_mpi_processes_share_the_epoch(tmp_path):
    result = run_cli("vpg", *ENV, *TINY, "--cpu", "2", "--data_dir", tmp_path / "mpi", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    progress = read_progress(tmp_path / "mpi" / "cmd_vpg" / "cmd_vpg_s0")
    # One row per epoch (only process 0 writes); each epoch is 500 steps across both processes.
    assert list(progress["Epoch"]) == [0, 1]
    assert list(progress["TotalEnvInteracts"]) == [500, 1000]


@pytest.mark.slow
def test_resume_continues_a_run_in_place(tmp_path):
    first = run_cli("vpg", *ENV, *TINY, "--exp_name", "long", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "long" / "long_s0"
    result = run_cli("resume", run_dir, "--epochs", "3", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    progress = read_progress(run_dir)
    assert list(progress["Epoch"]) == [0, 1, 2]
    assert list(progress["TotalEnvInteracts"]) == [500, 1000, 1500]


@pytest.mark.slow
def test_terminating_the_launcher_stops_the_experiment(tmp_path):
    env = dict(os.environ, SPINUP_DATA_DIR=str(tmp_path))
    launcher = subprocess.Popen(
        [sys.executable, "-m", "spinup_lib.run", "vpg", *ENV, "--epochs", "1000", "--steps_per_epoch", "200"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = tmp_path / "cmd_vpg" / "cmd_vpg_s0" / "progress.txt"
    deadline = time.time() + 120
    while not (progress.exists() and progress.stat().st_size > 0) and time.time() < deadline:
        time.sleep(0.2)
    assert progress.exists(), "the run never started"
    launcher.send_signal(signal.SIGTERM)
    launcher.wait(timeout=30)
    size = progress.stat().st_size
    time.sleep(3)
    assert progress.stat().st_size == size  # the training process stopped too
