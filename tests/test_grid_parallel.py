"""Grids run several at once (--num_workers), on a real local Ray cluster (--ray), and resumed.

Every training run here is tiny (VPG on CartPole, 500 steps an epoch, a few epochs), so most of a
run's cost is starting Python and torch. Cost on the 2-core course machine when it is quiet:
about 15 runs of ~8 s CPU each, plus ~20 s to start and stop the Ray cluster; 1.5-2 minutes wall.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from ray_cluster import LocalRayCluster
from spinup_lib.experiments import plan, ray_runner
from spinup_lib.errors import UserError
from spinup_lib.run_utils import ExperimentGrid

TINY = ["vpg", "--env", "CartPole-v1", "--hid", "[8]", "--steps_per_epoch", "500", "--train_v_iters", "5",
        "--save_freq", "1"]
EPOCHS = 6
SEEDS = ["0", "1"]


def as_a_terminal_job():
    """Ctrl-C's default in the child, as a terminal gives its foreground job: a suite started in the
    background (`nohup pytest ... &`) hands its children SIGINT ignored, and Python then never
    turns it into KeyboardInterrupt. Used with start_new_session, where SIGINT is sent."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args, data_dir, env=None, **popen):
    """`python -m spinup_lib.run ARGS` with results under data_dir, as a started Popen."""
    environment = dict(os.environ, SPINUP_DATA_DIR=str(data_dir), SPINUP_WAIT_BEFORE_LAUNCH="0", **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "spinup_lib.run", *map(str, args)], env=environment,
                            cwd=data_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def run_cli(*args, data_dir, env=None, timeout=300):
    process = cli(*args, data_dir=data_dir, env=env)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def rows(run_dir):
    """progress.txt without its Time column (the only one that depends on the machine's load)."""
    return pd.read_csv(Path(run_dir) / "progress.txt", sep="\t").drop(columns=["Time"])


def snapshot(folder):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def processes_mentioning(text):
    """Pids of live (non-zombie) processes whose command line contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def epochs_in(run_dir):
    return plan.epochs_logged(Path(run_dir) / "progress.txt")


# ----------------------------------------------------------------------------------------------
# Same seeds, same rows: 1 worker (the reference), 2 workers, a local Ray cluster
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The grid run the old way, one run after the other: {seed: rows}."""
    data = tmp_path_factory.mktemp("series")
    result = run_cli(*TINY, "--epochs", EPOCHS, "--seed", *SEEDS, "--exp_name", "ref", data_dir=data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "AverageEpRet" in result.stdout  # one worker: the epoch tables in the terminal, as before
    return {seed: rows(data / "ref" / f"ref_s{seed}") for seed in SEEDS}


@pytest.mark.slow
def test_two_workers_give_the_same_rows_with_one_summary_and_a_log_per_run(reference, tmp_path):
    result = run_cli(*TINY, "--epochs", EPOCHS, "--seed", *SEEDS, "--exp_name", "pool", "--num_workers", 2,
                     data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for seed in SEEDS:
        run_dir = tmp_path / "pool" / f"pool_s{seed}"
        pd.testing.assert_frame_equal(rows(run_dir), reference[seed])
        assert "AverageEpRet" in (run_dir / "output.log").read_text()  # its table went to its log...
    assert "AverageEpRet" not in result.stdout  # ...not to the terminal, which has the summary lines
    summary = [line for line in result.stdout.splitlines() if line.startswith("[pool ")]
    assert any("running 2," in line for line in summary), summary  # two at once
    assert "done 2/2, running 0, failed 0, waiting 0" in summary[-1]


def descendants(pid):
    """Pids of every live process below ``pid`` (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pids):
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()
            and (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


@pytest.fixture
def ray_cluster():
    """A real Ray cluster on this machine (loopback only), started and stopped here."""
    pytest.importorskip("ray", reason="the Ray extra is not installed: pip install -e .[ray]")
    cluster = LocalRayCluster(num_cpus=2).start()
    launcher = cluster.process.pid
    yield cluster
    cluster_processes = descendants(launcher)  # gcs, raylet, agents, workers
    assert cluster_processes
    cluster.stop()
    wait_for(lambda: not alive(cluster_processes + [launcher]), 30, "the Ray cluster's processes to end")


@pytest.mark.slow
def test_a_local_ray_cluster_gives_the_same_rows_under_the_data_dir_here(reference, tmp_path, ray_cluster):
    result = run_cli(*TINY, "--epochs", EPOCHS, "--seed", *SEEDS, "--exp_name", "onray", "--ray",
                     ray_cluster.address, data_dir=tmp_path, env=ray_cluster.env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for seed in SEEDS:
        run_dir = tmp_path / "onray" / f"onray_s{seed}"
        pd.testing.assert_frame_equal(rows(run_dir), reference[seed])
        assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "output.log").is_file()
        # The folder came back from the worker's temporary folder: its config says where it is now.
        assert str(run_dir) in (run_dir / "config.json").read_text()
    assert "done 2/2, running 0, failed 0, waiting 0" in result.stdout
    assert not [p for p in tmp_path.rglob(".*incoming*")]

    # Ctrl-C: each task stops its run, which keeps its checkpoint, and sends the folder back.
    output = tmp_path / "long.out"
    with open(output, "w") as out:
        driver = subprocess.Popen([sys.executable, "-m", "spinup_lib.run", *TINY, "--epochs", "500", "--seed", *SEEDS,
                                   "--exp_name", "long", "--ray", ray_cluster.address],
                                  env=dict(os.environ, SPINUP_DATA_DIR=str(tmp_path), **ray_cluster.env),
                                  cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True, preexec_fn=as_a_terminal_job)
    try:
        # A local cluster's workers run in temporary folders on this machine: wait for both runs to
        # have logged (and saved) an epoch there.
        def epochs_on_worker(seed):
            found = glob.glob(os.path.join(tempfile.gettempdir(), "spinup_ray_*", f"long_s{seed}"))
            return max([epochs_in(path) for path in found] or [0])

        wait_for(lambda: all(epochs_on_worker(seed) >= 2 for seed in SEEDS), 240, "both runs to train on Ray")
        os.killpg(driver.pid, signal.SIGINT)
        driver.wait(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, output.read_text()[-3000:]
    assert "stopped long_s0 (its folder is back)" in output.read_text()
    runs_on_cluster = [pid for pid in descendants(ray_cluster.process.pid) if "spinup_lib.experiments.child" in cmdline(pid)]
    assert runs_on_cluster == []  # nothing trains on
    for seed in SEEDS:
        run_dir = tmp_path / "long" / f"long_s{seed}"
        assert 0 < epochs_in(run_dir) < 500 and (run_dir / "checkpoint.pt").is_file()
        again = plan.GridRun("long", str(run_dir), None, {"seed": int(seed)})
        assert plan.classify(again).status == "resume"  # what the same command will do with it


@pytest.mark.slow
def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path):
    fake = tmp_path / "no_ray"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    pythonpath = os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])
    result = run_cli(*TINY, "--epochs", 2, "--ray", "auto", data_dir=tmp_path, env=dict(PYTHONPATH=pythonpath))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e .[ray]" in lines[0], result.stderr
    assert not (tmp_path / "cmd_vpg").exists()


# ----------------------------------------------------------------------------------------------
# A failing run does not stop the others
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_failing_run_leaves_the_others_running_and_ends_with_a_table_and_exit_1(tmp_path):
    # DDPG's actor-critic cannot act in CartPole (discrete actions): found only once the run starts.
    result = run_cli(*TINY, "--epochs", 2, "--actor_critic[ac]", "spinup_lib.core.DDPGActorCritic",
                     "spinup_lib.core.MLPActorCritic", "--num_workers", 2, data_dir=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    good = tmp_path / "cmd_vpg_acmlpactorcritic" / "cmd_vpg_acmlpactorcritic_s0"
    bad = tmp_path / "cmd_vpg_acddpgactorcritic" / "cmd_vpg_acddpgactorcritic_s0"
    assert epochs_in(good) == 2
    assert not (bad / "progress.txt").exists()
    table = result.stdout[result.stdout.index("Failed runs (1 of 2):"):]
    assert "cmd_vpg_acddpgactorcritic_s0" in table and "continuous (Box) action space" in table
    assert str(bad / "output.log") in table
    assert "continuous (Box) action space" in (bad / "output.log").read_text()
    assert "1 of 2 runs of grid 'cmd_vpg' failed" in result.stderr


# ----------------------------------------------------------------------------------------------
# Ctrl-C with runs going: everything stops
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_with_workers_running_leaves_no_process_behind(tmp_path):
    driver = cli(*TINY, "--epochs", 500, "--seed", *SEEDS, "--num_workers", 2, data_dir=tmp_path,
                 start_new_session=True, preexec_fn=as_a_terminal_job)  # as a terminal's foreground job
    try:
        runs = [tmp_path / "cmd_vpg" / f"cmd_vpg_s{seed}" for seed in SEEDS]
        wait_for(lambda: all(epochs_in(run) >= 1 for run in runs), 240, "both runs to train")
        children = processes_mentioning(f"spinup_call_{driver.pid}_")
        assert len(children) == 2, children  # one fresh process per run
        os.killpg(driver.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        stdout, stderr = driver.communicate(timeout=90)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted" in stderr and "Run the same command again" in stdout
    wait_for(lambda: not processes_mentioning(f"spinup_call_{driver.pid}_"), 10, "the runs to be gone")
    trained = {run: epochs_in(run) for run in runs}
    time.sleep(2)
    assert {run: epochs_in(run) for run in runs} == trained  # nothing goes on training
    assert all(0 < epochs < 500 for epochs in trained.values())


# ----------------------------------------------------------------------------------------------
# A grid that stopped part way resumes
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_interrupted_grid_resumes_skipping_finished_runs_and_starting_new_ones(reference, tmp_path):
    grid = [*TINY, "--epochs[ep]", 2, EPOCHS, "--seed", *SEEDS]
    short = [tmp_path / "cmd_vpg_ep2" / f"cmd_vpg_ep2_s{seed}" for seed in SEEDS]
    long = tmp_path / f"cmd_vpg_ep{EPOCHS}"
    partial, new = long / f"cmd_vpg_ep{EPOCHS}_s0", long / f"cmd_vpg_ep{EPOCHS}_s1"

    # One after the other: the two short runs finish, the third is stopped part way by Ctrl-C.
    driver = cli(*grid, data_dir=tmp_path, start_new_session=True, preexec_fn=as_a_terminal_job)
    try:
        wait_for(lambda: epochs_in(partial) >= 2, 300, "the third run to log 2 epochs")
        os.killpg(driver.pid, signal.SIGINT)
        driver.communicate(timeout=90)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130
    assert [epochs_in(run) for run in short] == [2, 2]
    assert 2 <= epochs_in(partial) < EPOCHS and (partial / "checkpoint.pt").is_file()
    assert not new.exists()

    listing = run_cli(*grid, "--dry_run", data_dir=tmp_path)
    assert listing.returncode == 0, listing.stderr
    statuses = {line.split()[1]: line.split()[0] for line in listing.stdout.splitlines()
                if line.strip().split(" ")[0] in ("finished", "resume", "restart", "new") and len(line.split()) > 1}
    assert statuses == {"cmd_vpg_ep2_s0": "finished", "cmd_vpg_ep2_s1": "finished",
                        partial.name: "resume", new.name: "new"}, listing.stdout
    assert "Dry run: nothing was started." in listing.stdout

    finished_before = {run: snapshot(run) for run in short}
    again = run_cli(*grid, "--num_workers", 2, data_dir=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert {run: snapshot(run) for run in short} == finished_before  # never written into
    # The resumed run and the new one are what one uninterrupted run gives.
    pd.testing.assert_frame_equal(rows(partial), reference["0"])
    pd.testing.assert_frame_equal(rows(new), reference["1"])
    assert "resumes" in (partial / "output.log").read_text()


# ----------------------------------------------------------------------------------------------
# Pieces, without training
# ----------------------------------------------------------------------------------------------
def fake_run(run_dir, epochs_asked, epochs_logged, checkpoint=False, **config):
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(dict(epochs=epochs_asked, **config)))
    table = "Epoch\tAverageEpRet\n" + "".join(f"{e}\t1.0\n" for e in range(epochs_logged))
    (run_dir / "progress.txt").write_text(table)
    if checkpoint:
        (run_dir / "checkpoint.pt").write_bytes(b"")


def test_a_folder_holding_a_run_with_other_settings_is_refused(tmp_path):
    grid = ExperimentGrid("g")
    grid.add("seed", [0])
    grid.add("pi_lr", [0.01])
    fake_run(tmp_path / "g" / "g_s0", 5, 2, pi_lr=0.001, seed=0)
    with pytest.raises(UserError, match="other settings .*pi_lr 0.001 there, 0.01 here"):
        grid.check_output_dirs(data_dir=str(tmp_path))


# config.json of `ppo --env CartPole-v1 --epochs 2 --steps_per_epoch 400 --hid [32,32]`, as written.
PPO_SHORT_CONFIG = {
    "ac_kwargs": {"hidden_sizes": [32, 32]}, "actor_critic": "MLPActorCritic", "clip_ratio": 0.2,
    "env_fn": {"make_env_fn('CartPole-v1')": {"env_id": "CartPole-v1", "make_kwargs": {}}},
    "epochs": 2, "exp_name": "g", "gamma": 0.99, "lam": 0.97,
    "logger_kwargs": {"exp_name": "g", "output_dir": "elsewhere/g/g_s0"}, "max_ep_len": 1000,
    "pi_lr": 0.0003, "save_freq": 10, "seed": 0, "steps_per_epoch": 400, "target_kl": 0.01,
    "train_pi_iters": 80, "train_v_iters": 80, "vf_lr": 0.001,
}


def test_settings_left_at_their_defaults_are_compared_too(tmp_path):
    from spinup_lib.algos.ppo import ppo

    config = dict(PPO_SHORT_CONFIG)
    fake_run(tmp_path / "g" / "g_s0", config.pop("epochs"), 2, **config)
    plain = ExperimentGrid("g")  # epochs, steps_per_epoch and hidden_sizes left at ppo's defaults
    plain.add("env_name", "CartPole-v1")
    with pytest.raises(UserError, match="other settings") as refused:
        plain.run(ppo, data_dir=str(tmp_path), dry_run=True)
    for difference in ["epochs 2 there, 50 here", "steps_per_epoch 400 there, 4000 here",
                       "ac_kwargs:hidden_sizes [32, 32] there, [64, 64] here"]:
        assert difference in str(refused.value)
    assert len(str(refused.value).splitlines()) == 1

    same = ExperimentGrid("g")  # the same call, spelled with defaults given and left out
    same.add("env_name", "CartPole-v1")
    same.add("epochs", 2)
    same.add("steps_per_epoch", 400)
    same.add("ac_kwargs", [dict(hidden_sizes=(32, 32), activation=torch.nn.Tanh)])
    same.add("pi_lr", 3e-4)
    [run] = same.run(ppo, data_dir=str(tmp_path), dry_run=True)
    assert run.status == "finished"


def test_statuses_from_the_run_folders(tmp_path):
    grid = ExperimentGrid("g")
    grid.add("seed", [0, 1, 2, 3])
    fake_run(tmp_path / "g" / "g_s0", 3, 3, seed=0)
    fake_run(tmp_path / "g" / "g_s1", 3, 2, checkpoint=True, seed=1)
    fake_run(tmp_path / "g" / "g_s2", 3, 1, seed=2)
    runs = grid.run(lambda **kwargs: None, data_dir=str(tmp_path), dry_run=True)
    assert [run.status for run in runs] == ["finished", "resume", "restart", "new"]


def test_a_run_folder_sent_back_lands_in_place(tmp_path):
    worker = tmp_path / "worker" / "exp_s0"
    worker.mkdir(parents=True)
    (worker / "progress.txt").write_text("Epoch\n0\n1\n")
    (worker / "config.json").write_text(f'{{"logger_kwargs": {{"output_dir": "{worker}"}}}}')
    target = tmp_path / "data" / "exp" / "exp_s0"
    target.mkdir(parents=True)
    (target / "progress.txt").write_text("Epoch\n0\n")  # the part-way run that was resumed remotely
    ray_runner.land_run_folder(ray_runner.pack_folder(worker), str(target), str(worker))
    assert (target / "progress.txt").read_text() == "Epoch\n0\n1\n"
    assert str(target) in (target / "config.json").read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["exp_s0"]  # no leftovers


def test_an_archive_reaching_outside_its_folder_is_refused(tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"x"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises((tarfile.TarError, ValueError)):
        ray_runner.unpack_into(buffer.getvalue(), str(tmp_path / "in"))
    assert not (tmp_path / "escape.txt").exists()


def _write_then_sleep(path):
    Path(path).write_text("started")
    time.sleep(120)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT as a grid sends it: POSIX")
def test_a_run_stops_on_sigint_even_when_its_launcher_ignores_sigint(tmp_path):
    # A grid started in the background (nohup, `&`) ignores SIGINT and its children inherit that; the SIGINT the
    # grid sends to stop a run must still stop it cleanly (exit 130), not wait for SIGTERM.
    from spinup_lib.experiments.child import FreshProcess

    started = tmp_path / "started"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = FreshProcess(_write_then_sleep, dict(path=str(started)))
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        wait_for(lambda: started.exists(), 60, "the run to start")
        child.process.send_signal(signal.SIGINT)
        assert child.process.wait(timeout=30) == 130
    finally:
        if child.process.poll() is None:
            child.process.kill()
        child.cleanup()
