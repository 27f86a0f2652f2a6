"""spinup_lib.logx: the files a run writes, resuming, saved agents and checkpoints."""
import importlib
import io
import json
import os
import random
import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest
import torch

from spinup_lib import logx
from spinup_lib.checkpoint import load_checkpoint, restore_checkpoint
from spinup_lib.envs import make_env_fn, make_env_from_spec_json
from spinup_lib.errors import UserError
from spinup_lib.experiments.resume import rebuild_call
from spinup_lib.logx import EpochLogger, Logger
from spinup_lib.run_files import atomic_torch_save
from spinup_lib.serialize import convert_json, is_json_serializable


class TinyActorCritic(torch.nn.Module):
    """Just enough of an actor-critic: built from (observation_space, action_space, **kwargs)."""

    def __init__(self, observation_space, action_space, hidden_sizes=(8,), activation=torch.nn.Tanh):
        super().__init__()
        self.pi = torch.nn.Sequential(
            torch.nn.Linear(observation_space.shape[0], hidden_sizes[0]), activation(),
            torch.nn.Linear(hidden_sizes[0], action_space.n))

    def forward(self, obs):
        return self.pi(obs)


def import_dotted(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def snapshot(folder):
    """Every file under folder with its bytes."""
    return {os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(folder) for name in names}


def read_table(path):
    with open(path) as file:
        header, *rows = file.read().splitlines()
    return header.split("\t"), [row.split("\t") for row in rows]


def make_run(run_dir, epochs, start=0, resume=False, value=lambda epoch: epoch):
    """A small run: columns Epoch and X (the average of value(epoch) and value(epoch) + 2)."""
    logger = EpochLogger(output_dir=run_dir, resume=resume)
    logger.save_config(dict(seed=0, epochs=epochs))
    for epoch in range(start, epochs):
        logger.store(X=value(epoch))
        logger.store(X=value(epoch) + 2)
        logger.log_tabular("Epoch", epoch)
        logger.log_tabular("X", average_only=True)
        logger.dump_tabular()
    logger.close()
    return logger


# ----------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------

class Thing:
    def __init__(self):
        self.size = 3
        self.fn = np.tanh


def test_convert_json_makes_everything_json_safe():
    thing = Thing()
    config = dict(n=1, text="a", pair=(1, 2), fn=np.tanh, cls=torch.nn.ReLU, array=np.array([1.0, 2.0]),
                  scalar=np.float32(0.5), count=np.int64(4), thing=thing, nested={1: [Thing, None]})
    out = convert_json(config)
    json.dumps(out, sort_keys=True)  # must not raise
    assert out["n"] == 1 and out["text"] == "a" and out["pair"] == [1, 2]
    assert out["fn"] == "tanh" and out["cls"] == "ReLU"
    assert out["array"] == [1.0, 2.0] and out["scalar"] == 0.5 and out["count"] == 4
    assert out["thing"] == {str(thing): {"size": 3, "fn": "tanh"}}
    assert out["nested"] == {"1": ["Thing", None]}


def test_convert_json_survives_cycles():
    cyclic = {"name": "loop"}
    cyclic["self"] = cyclic
    json.dumps(convert_json(cyclic))


def test_importable_json_writes_import_paths():
    kwargs = dict(hidden_sizes=(64, 32), activation=torch.nn.Tanh, squash=torch.tanh, scale=np.float32(2))
    out = logx.importable_json(kwargs)
    json.dumps(out)
    assert out["hidden_sizes"] == [64, 32] and out["scale"] == 2.0
    assert import_dotted(out["activation"]) is torch.nn.Tanh
    assert import_dotted(out["squash"]) is torch.tanh


def test_is_json_serializable():
    assert is_json_serializable({"a": [1, 2.5, None, "x"]})
    assert not is_json_serializable(np.tanh)
    assert not is_json_serializable({"a": object()})


# ----------------------------------------------------------------------------------------
# progress.txt and config.json
# ----------------------------------------------------------------------------------------

def test_files_and_statistics(tmp_path, capsys):
    run_dir = tmp_path / "run"
    logger = EpochLogger(output_dir=run_dir, exp_name="demo")
    logger.save_config(dict(seed=7, lr=0.01, activation=torch.nn.Tanh, logger=logger))
    rng = np.random.default_rng(0)
    stored = []
    for epoch in range(3):
        returns = rng.normal(size=4 + epoch)
        for value in returns[:-1]:
            logger.store(Ret=value)
        logger.store(Ret=torch.tensor(returns[-1]), Loss=np.array([epoch, epoch + 1.0]))
        stored.append(returns)
        logger.log_tabular("Epoch", epoch)
        logger.log_tabular("Ret", with_min_and_max=True)
        logger.log_tabular("Loss", average_only=True)
        logger.log_tabular("Time", np.float32(1.5))
        logger.dump_tabular()
    logger.close()

    header, rows = read_table(run_dir / "progress.txt")
    assert header == ["Epoch", "AverageRet", "StdRet", "MaxRet", "MinRet", "Loss", "Time"]
    assert len(rows) == 3
    for epoch, (row, returns) in enumerate(zip(rows, stored)):
        values = [float(field) for field in row]
        assert values[0] == epoch
        np.testing.assert_allclose(values[1:5], [returns.mean(), returns.std(), returns.max(), returns.min()])
        assert values[5] == epoch + 0.5 and values[6] == 1.5

    config = json.loads((run_dir / "config.json").read_text())
    assert config == {"seed": 7, "lr": 0.01, "activation": "Tanh", "exp_name": "demo"}
    assert "logger" not in logger.config_call and logger.config_call["activation"] is torch.nn.Tanh

    printed = capsys.readouterr().out
    assert printed.count("AverageRet") == 3 and '"seed": 7' in printed


def test_key_never_stored_is_nan(tmp_path):
    logger = EpochLogger(output_dir=tmp_path / "run")
    logger.log_tabular("TestEpRet", with_min_and_max=True)
    logger.log_tabular("TestEpLen", average_only=True)
    assert all(np.isnan(value) for value in logger.log_current_row.values())
    assert np.isnan(logger.get_stats("Nothing")).all()
    logger.dump_tabular()


def test_get_stats(tmp_path):
    logger = EpochLogger(output_dir=tmp_path / "run")
    logger.store(V=np.array([1.0, 2.0, 3.0]))
    logger.store(V=4.0)
    mean, std = logger.get_stats("V")
    assert mean == pytest.approx(2.5) and std == pytest.approx(np.std([1, 2, 3, 4]))


def test_values_are_cleared_each_epoch(tmp_path):
    logger = EpochLogger(output_dir=tmp_path / "run")
    logger.store(V=100.0)
    logger.log_tabular("V", average_only=True)
    logger.dump_tabular()
    logger.store(V=1.0)
    logger.log_tabular("V", average_only=True)
    assert logger.log_current_row["V"] == 1.0


def test_new_column_after_first_epoch_is_an_error(tmp_path):
    logger = Logger(output_dir=tmp_path / "run")
    logger.log_tabular("A", 1)
    with pytest.raises(ValueError, match="already logged"):
        logger.log_tabular("A", 2)
    logger.dump_tabular()
    with pytest.raises(ValueError, match="first epoch"):
        logger.log_tabular("B", 1)
    logger.dump_tabular()  # a column left out is written empty
    _, rows = read_table(tmp_path / "run" / "progress.txt")
    assert rows == [["1"], [""]]


def test_default_output_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path))
    first, second = Logger(), Logger()  # also within the same second: two directories
    assert first.output_dir != second.output_dir
    for logger in (first, second):
        assert os.path.dirname(logger.output_dir) == str(tmp_path / "tmp" / "experiments")
        assert os.path.isdir(logger.output_dir)  # claimed at once, so the next logger takes another
        logger.log_tabular("Epoch", 0)
        logger.dump_tabular()
        assert os.path.isfile(os.path.join(logger.output_dir, "progress.txt"))


def test_refuses_a_directory_holding_a_run(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=2)
    before = snapshot(run_dir)
    with pytest.raises(UserError, match="already holds a run.*resume"):
        EpochLogger(output_dir=run_dir)
    assert snapshot(run_dir) == before


def test_progress_bar_prints_tables_above_it(tmp_path, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)  # where tqdm draws; a terminal, so the bar is on
    logger = Logger(output_dir=tmp_path / "run", exp_name="bar")
    logger.setup_progress(total_epochs=3, start_epoch=1)
    for epoch in (1, 2):
        logger.log_tabular("Epoch", epoch)
        logger.dump_tabular()
    assert "3/3" in terminal.getvalue()
    assert capsys.readouterr().out.count("Epoch") == 2


# ----------------------------------------------------------------------------------------
# Resuming
# ----------------------------------------------------------------------------------------

def test_resume_appends_and_keeps_config(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=2)
    config_before = (run_dir / "config.json").read_bytes()
    make_run(run_dir, epochs=4, start=2, resume=True)
    header, rows = read_table(run_dir / "progress.txt")
    assert header == ["Epoch", "X"]  # written once
    assert [row[0] for row in rows] == ["0", "1", "2", "3"]
    assert (run_dir / "config.json").read_bytes() == config_before


def test_resume_replaces_rows_of_epochs_run_again(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=4)
    # As if the last checkpoint was after epoch 1: epochs 2 and 3 are run again.
    make_run(run_dir, epochs=4, start=2, resume=True, value=lambda epoch: 10 * epoch)
    _, rows = read_table(run_dir / "progress.txt")
    assert [(int(r[0]), float(r[1])) for r in rows] == [(0, 1.0), (1, 2.0), (2, 21.0), (3, 31.0)]


def test_resume_drops_a_half_written_row(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=2)
    with open(run_dir / "progress.txt", "a") as file:
        file.write("2\t3.")  # killed mid-row
    make_run(run_dir, epochs=3, start=2, resume=True)
    _, rows = read_table(run_dir / "progress.txt")
    assert rows == [["0", "1.0"], ["1", "2.0"], ["2", "3.0"]]


def test_resume_with_other_columns_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=2)
    with open(run_dir / "progress.txt", "a") as file:
        file.write("2\t3.")  # even a half-written row stays until the columns are checked
    before = snapshot(run_dir)
    logger = EpochLogger(output_dir=run_dir, resume=True)
    logger.log_tabular("Epoch", 2)
    logger.log_tabular("Other", 1.0)
    with pytest.raises(UserError, match="other columns"):
        logger.dump_tabular()
    logger.close()
    assert snapshot(run_dir) == before


def test_resume_of_an_empty_table_writes_the_header(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "progress.txt").write_text("Epo")  # killed while writing the header
    make_run(run_dir, epochs=1, resume=True)
    assert read_table(run_dir / "progress.txt") == (["Epoch", "X"], [["0", "1.0"]])


def test_resume_needs_an_existing_directory(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        Logger(output_dir=tmp_path / "missing", resume=True)


# ----------------------------------------------------------------------------------------
# Saved agents
# ----------------------------------------------------------------------------------------

def test_save_state_writes_a_plain_data_agent(tmp_path):
    run_dir = tmp_path / "run"
    env = gym.make("CartPole-v1")
    ac_kwargs = dict(hidden_sizes=(16,), activation=torch.nn.ReLU)
    torch.manual_seed(0)
    ac = TinyActorCritic(env.observation_space, env.action_space, **ac_kwargs)
    logger = EpochLogger(output_dir=run_dir)
    logger.setup_pytorch_saver(ac, ac_kwargs, env)
    logger.save_state(3)
    logger.log_tabular("Epoch", 5)
    logger.save_state()

    saved_dir = run_dir / "pyt_save"
    assert sorted(os.listdir(saved_dir)) == ["model.pt", "model3.pt"]
    snapshot3 = torch.load(saved_dir / "model3.pt", weights_only=True)
    latest = torch.load(saved_dir / "model.pt", weights_only=True)
    assert set(latest) == {"format", "ac_class", "ac_kwargs", "state_dict", "env_spec", "epoch"}
    assert (snapshot3["epoch"], latest["epoch"], latest["format"]) == (3, 5, 1)
    assert latest["ac_kwargs"] == {"hidden_sizes": [16], "activation": "torch.nn.modules.activation.ReLU"}
    json.dumps(latest["ac_kwargs"])

    # Everything needed to rebuild the agent and its env is in the file.
    rebuilt_env = make_env_from_spec_json(latest["env_spec"])
    assert rebuilt_env.spec.id == "CartPole-v1"
    kwargs = dict(latest["ac_kwargs"], activation=import_dotted(latest["ac_kwargs"]["activation"]))
    ac_class = import_dotted(latest["ac_class"])
    rebuilt = ac_class(rebuilt_env.observation_space, rebuilt_env.action_space, **kwargs)
    rebuilt.load_state_dict(latest["state_dict"])
    obs = torch.randn(5, 4)
    assert torch.equal(rebuilt(obs), ac(obs))
    env.close()
    rebuilt_env.close()


def test_save_state_needs_a_saver(tmp_path):
    with pytest.raises(RuntimeError, match="setup_pytorch_saver"):
        Logger(output_dir=tmp_path / "run").save_state()


# ----------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------

def small_net_and_optimizer(seed):
    torch.manual_seed(seed)
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
    net(torch.randn(4, 3)).pow(2).sum().backward()
    optimizer.step()
    return net, optimizer


def test_checkpoint_round_trip(tmp_path):
    run_dir = tmp_path / "run"
    logger = EpochLogger(output_dir=run_dir)
    logger.save_config(dict(env_fn=make_env_fn("CartPole-v1"), seed=3, logger=logger,
                            ac_kwargs=dict(hidden_sizes=(4,), activation=torch.nn.ReLU)))
    net, optimizer = small_net_and_optimizer(seed=0)
    buffer = np.arange(6.0).reshape(2, 3)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    logger.log_tabular("Time", 12.5)
    logger.save_checkpoint("vpg", 4, dict(ac=net, opt=optimizer, buffer=buffer, obs=[1, 2]))
    draws_after_save = (random.random(), np.random.rand(), torch.rand(1).item())
    assert os.listdir(run_dir).count("checkpoint.pt") == 1
    torch.load(run_dir / "checkpoint.pt", weights_only=True)  # plain data: the safe loader reads it

    checkpoint = load_checkpoint(run_dir)
    saved = (checkpoint["algo"], checkpoint["epoch"], checkpoint["format"], checkpoint["num_procs"],
             checkpoint["elapsed"])
    assert saved == ("vpg", 4, 2, 1, 12.5)
    json.dumps(checkpoint["call"])  # the call is kept as JSON-safe settings, never as code
    call = rebuild_call(checkpoint["call"])
    assert call["seed"] == 3 and "logger" not in call
    assert call["env_fn"]().spec.id == "CartPole-v1"
    assert call["ac_kwargs"] == dict(hidden_sizes=(4,), activation=torch.nn.ReLU)

    other_net, other_optimizer = small_net_and_optimizer(seed=99)
    extra = restore_checkpoint(checkpoint, ac=other_net, opt=other_optimizer)
    assert set(extra) == {"buffer", "obs"}
    np.testing.assert_array_equal(extra["buffer"], buffer)
    for restored, original in zip(other_net.parameters(), net.parameters()):
        assert torch.equal(restored, original)
    restored_state = other_optimizer.state_dict()["state"]
    for index, values in optimizer.state_dict()["state"].items():
        assert torch.equal(restored_state[index]["exp_avg"], values["exp_avg"])
    # The random generators continue exactly where they were when the checkpoint was saved.
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == draws_after_save


def test_restore_checkpoint_names_a_missing_entry(tmp_path):
    logger = Logger(output_dir=tmp_path / "run")
    logger.save_config({})
    logger.save_checkpoint("ppo", 0, {})
    net, _ = small_net_and_optimizer(0)
    with pytest.raises(UserError, match="no 'ac'"):
        restore_checkpoint(load_checkpoint(tmp_path / "run"), ac=net)


def test_checkpoint_reserved_names(tmp_path):
    logger = Logger(output_dir=tmp_path / "run")
    logger.save_config({})
    with pytest.raises(ValueError, match="reserved"):
        logger.save_checkpoint("vpg", 0, {"epoch": 1})


def test_an_argument_a_checkpoint_cannot_keep_is_asked_for_on_resume(tmp_path):
    logger = Logger(output_dir=tmp_path / "run")
    with open(tmp_path / "some_file", "w") as open_file:
        logger.save_config(dict(env_fn=open_file, seed=1))
        logger.save_checkpoint("vpg", 0, {})  # saving never fails on the call
    assert json.loads((tmp_path / "run" / "config.json").read_text())["env_fn"]
    record = load_checkpoint(tmp_path / "run")["call"]
    with pytest.raises(UserError, match="could not keep the argument env_fn.*spinup_lib.resume"):
        rebuild_call(record)
    assert rebuild_call(record, dict(env_fn="given"))["env_fn"] == "given"


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(UserError, match="no run directory"):
        load_checkpoint(tmp_path / "nowhere")
    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=1)
    with pytest.raises(UserError, match="no checkpoint in .*save_freq"):
        load_checkpoint(run_dir)

    logger = Logger(output_dir=tmp_path / "other")
    logger.save_config({})
    logger.save_checkpoint("vpg", 0, {"weights": torch.zeros(1000)})
    with pytest.raises(UserError, match="process 1.*num_cpu"):
        load_checkpoint(tmp_path / "other", rank=1)
    path = tmp_path / "other" / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:500])  # cut short, like a disk that filled up
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "other")
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "other")
    torch.save([1, 2, 3], path)
    with pytest.raises(UserError, match="not a spinup_lib checkpoint"):
        load_checkpoint(tmp_path / "other")


# ----------------------------------------------------------------------------------------
# Atomic saving
# ----------------------------------------------------------------------------------------

def test_atomic_save_replaces_the_file(tmp_path):
    path = tmp_path / "model.pt"
    atomic_torch_save({"a": torch.ones(2)}, path)
    atomic_torch_save({"a": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(3))
    assert os.listdir(tmp_path) == ["model.pt"]


def test_atomic_save_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    atomic_torch_save({"a": torch.arange(5)}, path)
    before = path.read_bytes()

    # Pickling fails part-way through.
    with pytest.raises(Exception):
        atomic_torch_save({"weights": torch.ones(100), "fn": lambda: 0}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.pt"]

    # Interrupted (Ctrl-C) after half the bytes were written.
    def half_written_save(obj, file):
        file.write(b"\x00" * 64)
        raise KeyboardInterrupt

    monkeypatch.setattr(logx.torch, "save", half_written_save)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({"a": torch.arange(6)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.arange(5))


# ----------------------------------------------------------------------------------------
# Several processes
# ----------------------------------------------------------------------------------------

TWO_RANK_SCRIPT = textwrap.dedent("""
    import sys

    import numpy as np
    import torch

    from spinup_lib.mpi import mpi_fork, proc_id

    mpi_fork(2)
    from spinup_lib.logx import EpochLogger

    rank = proc_id()
    logger = EpochLogger(output_dir=sys.argv[1])
    logger.save_config(dict(seed=0))
    logger.store(X=np.arange(3.0 * (rank + 1)) + 10 * rank)  # 3 values on rank 0, 6 on rank 1
    if rank == 1:
        logger.store(OnlyOnRank1=5.0)
    logger.log_tabular("Epoch", 0)
    logger.log_tabular("X", with_min_and_max=True)
    logger.log_tabular("OnlyOnRank1", average_only=True)
    logger.dump_tabular()
    torch.manual_seed(rank)
    logger.save_checkpoint("vpg", 0, dict(ac=torch.nn.Linear(2, 1), rank=rank))
""")


@pytest.mark.slow
def test_logger_across_two_ranks(tmp_path):
    script = tmp_path / "two_ranks.py"
    script.write_text(TWO_RANK_SCRIPT)
    run_dir = tmp_path / "run"
    env = {key: value for key, value in os.environ.items()
           if key != "IN_MPI" and not key.startswith(("OMPI_", "PMIX_"))}
    result = subprocess.run([sys.executable, str(script), str(run_dir)], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("AverageX") == 1  # only rank 0 prints

    header, rows = read_table(run_dir / "progress.txt")
    everything = np.concatenate([np.arange(3.0), np.arange(6.0) + 10])
    assert header == ["Epoch", "AverageX", "StdX", "MaxX", "MinX", "OnlyOnRank1"]
    assert len(rows) == 1
    np.testing.assert_allclose([float(v) for v in rows[0][1:]],
                               [everything.mean(), everything.std(), everything.max(), everything.min(), 5.0])

    assert sorted(name for name in os.listdir(run_dir) if name.startswith("checkpoint")) == \
        ["checkpoint.pt", "checkpoint.rank1.pt"]
    for rank in (0, 1):
        checkpoint = load_checkpoint(run_dir, rank=rank)
        assert checkpoint["rank"] == rank and checkpoint["num_procs"] == 2
        torch.manual_seed(rank)
        expected = torch.nn.Linear(2, 1).state_dict()
        assert all(torch.equal(checkpoint["ac"][k], expected[k]) for k in expected)
