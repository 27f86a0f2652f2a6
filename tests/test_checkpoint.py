"""spinup_lib.checkpoint: plain-data checkpoints, safe resume, replay buffers in chunks, exact env state.

Issue 11: item 2 (a checkpoint is data, never code; its process count is bounded), item 6
(resume is exact or says what it did not restore), item 7 (a checkpoint writes only what is new
in the replay buffer) and item 10 (resume continues the Time column and ends with the banner).
Every run here is a few hundred steps of a classic-control env: about a second each.
"""
import json
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from gymnasium.envs.registration import register
from gymnasium.wrappers import NormalizeObservation

from spinup_lib import checkpoint as checkpoint_module
from spinup_lib import core
from spinup_lib.algos.ppo import ppo
from spinup_lib.algos.sac import sac
from spinup_lib.buffer_chunks import CHUNKS_DIRNAME, REPLAY_FIELDS
from spinup_lib.checkpoint import load_checkpoint, restore_checkpoint, restore_env, save_checkpoint
from spinup_lib.env_state import get_env_state
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.experiments.resume import rebuild_call, resolve_class
from spinup_lib.run_utils import resume_experiment

TINY_PPO = dict(steps_per_epoch=200, max_ep_len=50, train_pi_iters=2, train_v_iters=2,
                ac_kwargs=dict(hidden_sizes=(8,)))


def progress(run_dir):
    return pd.read_csv(run_dir / "progress.txt", sep="\t")


def without_time(frame):
    return frame.drop(columns="Time")


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "spinup_lib.run", *map(str, args)], cwd=cwd,
                          env=dict(os.environ, SPINUP_DATA_DIR=str(cwd)), capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------------------------
# A checkpoint is plain data, with a format version, and resume rebuilds the call safely
# ----------------------------------------------------------------------------------------------
def test_a_checkpoint_is_plain_data_that_the_safe_loader_reads(tmp_path):
    kwargs = dict(TINY_PPO, ac_kwargs=dict(hidden_sizes=(8,), activation=torch.nn.Tanh))
    ppo(make_env_fn("CartPole-v1"), epochs=1, logger_kwargs=dict(output_dir=str(tmp_path)), **kwargs)
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert raw["format"] == checkpoint_module.CHECKPOINT_FORMAT == 2
    assert (raw["algo"], raw["epoch"], raw["num_procs"], raw["proc_id"]) == ("ppo", 0, 1, 0)
    call = raw["call"]
    json.dumps(call)  # JSON-safe settings: no pickled functions, classes or environments
    assert call["env_fn"] == {"__env__": {"id": "CartPole-v1", "make_kwargs": {}}}
    assert call["actor_critic"] == {"__class__": "spinup_lib.core.MLPActorCritic"}
    assert call["ac_kwargs"] == {"hidden_sizes": {"__tuple__": [8]},
                                 "activation": {"__class__": "torch.nn.modules.activation.Tanh"}}


class RunsACommand:
    """Unpickling this runs a shell command: what a crafted checkpoint could hold."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_cannot_run_code(tmp_path):
    run_dir, marker = tmp_path / "run", tmp_path / "it-ran"
    run_dir.mkdir()
    torch.save({"format": 2, "algo": "vpg", "epoch": 0, "num_procs": 1, "proc_id": 0,
                "call": {"payload": RunsACommand(marker)}}, run_dir / "checkpoint.pt")
    with pytest.raises(UserError, match=r"holds Python objects \((posix|nt)\.system\), not plain data"):
        resume_experiment(run_dir)
    assert not marker.exists()
    result = cli("resume", run_dir, cwd=tmp_path)
    assert_one_line_error(result, "not plain data")
    assert not marker.exists()


def plain_checkpoint(run_dir, monkeypatch, procs=1, call=None, epoch=0):
    """A well-formed checkpoint of process 0 claiming ``procs`` processes."""
    monkeypatch.setattr(checkpoint_module, "num_procs", lambda: procs)
    save_checkpoint(run_dir, "vpg", epoch, {}, call=call or {"epochs": 5})
    monkeypatch.undo()


def test_a_checkpoint_asking_for_a_million_processes_is_refused(tmp_path, monkeypatch):
    plain_checkpoint(tmp_path / "run", monkeypatch, procs=10**6)

    def no_launch(*args, **kwargs):
        raise AssertionError("processes were started")

    monkeypatch.setattr("spinup_lib.mpi.subprocess.Popen", no_launch)
    with pytest.raises(UserError, match="asks for 1000000 processes; this machine runs at most"):
        resume_experiment(tmp_path / "run")
    monkeypatch.undo()
    assert_one_line_error(cli("resume", tmp_path / "run", cwd=tmp_path), "1000000 processes")


@pytest.mark.parametrize("record, fragment", [
    ({"actor_critic": {"__class__": "builtins.print"}}, "outside the modules allowed"),
    ({"actor_critic": {"__class__": "os.system"}}, "outside the modules allowed"),
    ({"actor_critic": {"__class__": "evilmod.X"}}, "outside the modules allowed"),
    ({"actor_critic": {"__class__": "spinup_lib.core.mlp"}}, "not a subclass of torch.nn.Module"),
    ({"ac_kwargs": {"activation": {"__class__": "torch.nn.functional.relu"}}}, "not a subclass"),
    ({"env_fn": {"__env__": {"id": "NoSuchEnv-v0", "make_kwargs": {}}}}, "NoSuchEnv-v0"),
    ({"env_fn": {"__env__": {"spec": json.dumps(dict(
        id="CartPole-v1", entry_point="os:system", reward_threshold=None, nondeterministic=False,
        max_episode_steps=None, order_enforce=True, disable_env_checker=False, kwargs={"command": "true"},
        additional_wrappers=[], vector_entry_point=None))}}}, "another entry point"),
])
def test_names_in_a_checkpoint_resolve_only_to_allowed_kinds(record, fragment, tmp_path, monkeypatch):
    (tmp_path / "evilmod.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nclass X: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=fragment):
        rebuild_call(record)
    assert not (tmp_path / "imported").exists()  # no module outside the allowed ones is imported


def test_resolve_class_checks_namespace_and_kind():
    assert resolve_class("torch.nn.ReLU", torch.nn.Module) is torch.nn.ReLU
    assert resolve_class("spinup_lib.core.SACActorCritic", torch.nn.Module) is core.SACActorCritic
    for bad in ["torch.nn.functional.relu", "spinup_lib.errors.UserError", "tempfile.mkdtemp", "torch.nn",
                "spinup_lib.core.NoSuchClass", "spinup_lib..core", 42]:
        with pytest.raises(UserError):
            resolve_class(bad, torch.nn.Module)


class TinyActorCritic(core.MLPActorCritic):
    """An actor-critic of the user's own (outside spinup_lib): resume must be told about it."""


def test_arguments_a_checkpoint_cannot_keep_are_asked_for(tmp_path):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("CartPole-v1"), actor_critic=TinyActorCritic, epochs=1,
        logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    with pytest.raises(UserError, match="argument actor_critic.*spinup_lib.resume\\(run_dir, actor_critic=...\\)"):
        resume_experiment(run_dir, epochs=2)
    resume_experiment(run_dir, epochs=2, actor_critic=TinyActorCritic)
    assert list(progress(run_dir)["Epoch"]) == [0, 1]
    # Or trust the module that defines it: then the checkpoint's name for it is used.
    resume_experiment(run_dir, epochs=3, allow_modules=[TinyActorCritic.__module__])
    assert list(progress(run_dir)["Epoch"]) == [0, 1, 2]


def test_an_env_fn_of_the_users_own_resumes_from_the_env_spec(tmp_path):
    def env_fn():
        return gym.make("CartPole-v1")  # not make_env_fn: the checkpoint keeps the env's spec

    ppo(env_fn, epochs=2, seed=4, logger_kwargs=dict(output_dir=str(tmp_path / "straight")), **TINY_PPO)
    ppo(env_fn, epochs=1, seed=4, logger_kwargs=dict(output_dir=str(tmp_path / "resumed")), **TINY_PPO)
    assert "spec" in load_checkpoint(tmp_path / "resumed")["call"]["env_fn"]["__env__"]
    resume_experiment(tmp_path / "resumed", epochs=2)
    pd.testing.assert_frame_equal(without_time(progress(tmp_path / "straight")),
                                  without_time(progress(tmp_path / "resumed")))


# ----------------------------------------------------------------------------------------------
# Item 10: the Time column continues, and resume ends with the banner of a new run
# ----------------------------------------------------------------------------------------------
def test_resume_continues_time_and_prints_the_end_banner(tmp_path, capsys):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("CartPole-v1"), epochs=2, logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    capsys.readouterr()
    resume_experiment(run_dir, epochs=3)
    times = list(progress(run_dir)["Time"])
    assert times[0] < times[1] < times[2], times  # not restarted from zero
    assert load_checkpoint(run_dir)["elapsed"] == pytest.approx(times[2])
    printed = capsys.readouterr().out
    assert f"End of experiment. Results are in\n    {run_dir}" in printed
    assert f"python -m spinup_lib.run plot {run_dir}" in printed


# ----------------------------------------------------------------------------------------------
# Item 6: env state restored where it can be, a one-line warning where it cannot
# ----------------------------------------------------------------------------------------------
def normalized_pendulum(**kwargs):
    from gymnasium.envs.classic_control.pendulum import PendulumEnv

    return NormalizeObservation(PendulumEnv(**kwargs))


register(id="NormalizedPendulum-v0", entry_point=normalized_pendulum, max_episode_steps=200)


def test_wrapper_statistics_are_restored_exactly(tmp_path, capsys):
    # NormalizeObservation's running mean and variance change every observation the agent sees.
    kwargs = dict(seed=3, steps_per_epoch=300, max_ep_len=120, train_pi_iters=3, train_v_iters=3,
                  ac_kwargs=dict(hidden_sizes=(8,)))
    ppo(make_env_fn("NormalizedPendulum-v0"), epochs=3, logger_kwargs=dict(output_dir=str(tmp_path / "straight")),
        **kwargs)
    ppo(make_env_fn("NormalizedPendulum-v0"), epochs=2, logger_kwargs=dict(output_dir=str(tmp_path / "resumed")),
        **kwargs)
    capsys.readouterr()
    resume_experiment(tmp_path / "resumed", epochs=3)
    assert "warning" not in capsys.readouterr().out
    pd.testing.assert_frame_equal(without_time(progress(tmp_path / "straight")),
                                  without_time(progress(tmp_path / "resumed")))


def test_a_box2d_env_says_what_is_not_restored(tmp_path, capsys):
    run_dir = tmp_path / "run"
    ppo(make_env_fn("LunarLander-v3"), epochs=1, logger_kwargs=dict(output_dir=str(run_dir)), **TINY_PPO)
    capsys.readouterr()
    resume_experiment(run_dir, epochs=2)
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning")]
    assert warnings == ["warning: resume is not exact: LunarLander-v3: not restored: LunarLander's world, moon, "
                        "lander, legs, drawlist (the env starts a new episode, so the resumed run will differ "
                        "from one that never stopped)"]
    assert list(progress(run_dir)["Epoch"]) == [0, 1]


def test_restore_env_starts_a_consistent_episode_when_the_simulator_is_lost():
    env = gym.make("LunarLander-v3", continuous=True)
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        obs, *_ = env.step(env.action_space.sample())
    state = get_env_state(env)
    fresh = gym.make("LunarLander-v3", continuous=True)
    fresh.reset(seed=99)
    new_obs, continued = restore_env(fresh, state, obs)
    assert not continued and not np.array_equal(new_obs, obs)
    assert fresh.unwrapped.np_random.bit_generator.state != env.unwrapped.np_random.bit_generator.state  # reset drew
    fresh.step(fresh.action_space.sample())  # a consistent episode: it steps
    # An env that is always reset before use (a test env) keeps its state without a warning.
    other = gym.make("LunarLander-v3", continuous=True)
    assert restore_env(other, get_env_state(env)) == (None, True)


# ----------------------------------------------------------------------------------------------
# Item 7: replay buffers are saved as chunks of what is new since the last checkpoint
# ----------------------------------------------------------------------------------------------
def fill(buffer, start, count):
    for i in range(start, start + count):
        buffer.store([i, -i], [i / 10], float(i), [i + 1, -i - 1], i % 3 == 0)


def assert_same_buffer(restored, original):
    for field in REPLAY_FIELDS:
        np.testing.assert_array_equal(getattr(restored, f"{field}_buf"), getattr(original, f"{field}_buf"))
    assert (restored.ptr, restored.size, restored.total_stored) == (original.ptr, original.size, original.total_stored)
    first, second = restored.sample_batch(16), original.sample_batch(16)
    for key in first:
        torch.testing.assert_close(first[key], second[key])


def chunk_files(run_dir):
    folder = run_dir / CHUNKS_DIRNAME / "replay_buffer"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_only_new_transitions_are_written_and_a_wrapped_ring_restores_exactly(tmp_path):
    buffer = core.ReplayBuffer(obs_dim=2, act_dim=1, size=50, seed=0)
    fill(buffer, 0, 30)
    save_checkpoint(tmp_path, "sac", 0, dict(replay_buffer=buffer))
    assert chunk_files(tmp_path) == ["000000000000-000000000030.pt"]
    first_chunk = (tmp_path / CHUNKS_DIRNAME / "replay_buffer" / chunk_files(tmp_path)[0]).stat()

    fill(buffer, 30, 15)
    save_checkpoint(tmp_path, "sac", 1, dict(replay_buffer=buffer))
    assert chunk_files(tmp_path) == ["000000000000-000000000030.pt", "000000000030-000000000045.pt"]
    again = (tmp_path / CHUNKS_DIRNAME / "replay_buffer" / chunk_files(tmp_path)[0]).stat()
    assert again.st_mtime_ns == first_chunk.st_mtime_ns  # the old chunk was not written again

    fill(buffer, 45, 40)  # 85 stored: the ring has wrapped, the first 35 are gone
    save_checkpoint(tmp_path, "sac", 2, dict(replay_buffer=buffer))
    # [0, 30) holds nothing the buffer still has: removed once the new checkpoint was in place.
    assert chunk_files(tmp_path) == ["000000000030-000000000045.pt", "000000000045-000000000085.pt"]
    restored = core.ReplayBuffer(obs_dim=2, act_dim=1, size=50, seed=123)
    restore_checkpoint(load_checkpoint(tmp_path), replay_buffer=restored)
    assert_same_buffer(restored, buffer)

    # The restored buffer goes on saving increments into the same chunks.
    fill(restored, 85, 120)  # more than the whole ring between two checkpoints
    fill(buffer, 85, 120)
    save_checkpoint(tmp_path, "sac", 3, dict(replay_buffer=restored))
    assert chunk_files(tmp_path) == ["000000000155-000000000205.pt"]  # only the last 50 matter
    again = core.ReplayBuffer(obs_dim=2, act_dim=1, size=50, seed=7)
    restore_checkpoint(load_checkpoint(tmp_path), replay_buffer=again)
    assert_same_buffer(again, buffer)


def test_missing_or_stale_chunks(tmp_path):
    buffer = core.ReplayBuffer(obs_dim=2, act_dim=1, size=50, seed=0)
    fill(buffer, 0, 20)
    save_checkpoint(tmp_path, "sac", 0, dict(replay_buffer=buffer))
    saved = load_checkpoint(tmp_path)
    # A chunk written just before a kill, by a checkpoint that never replaced this one, goes at the next save.
    stale = tmp_path / CHUNKS_DIRNAME / "replay_buffer" / "000000000020-000000000040.pt"
    stale.write_bytes(b"written by a killed run")
    restored = core.ReplayBuffer(obs_dim=2, act_dim=1, size=50, seed=0)
    restore_checkpoint(saved, replay_buffer=restored)
    fill(restored, 20, 5)
    save_checkpoint(tmp_path, "sac", 1, dict(replay_buffer=restored))
    assert chunk_files(tmp_path) == ["000000000000-000000000020.pt", "000000000020-000000000025.pt"]

    (tmp_path / CHUNKS_DIRNAME / "replay_buffer" / "000000000000-000000000020.pt").unlink()
    with pytest.raises(UserError, match="chunk .*000000000000-000000000020.pt is missing"):
        restore_checkpoint(load_checkpoint(tmp_path), replay_buffer=core.ReplayBuffer(2, 1, 50))
    with pytest.raises(UserError, match="replay_size"):
        restore_checkpoint(load_checkpoint(tmp_path), replay_buffer=core.ReplayBuffer(2, 1, 60))


def test_off_policy_checkpoints_grow_with_the_epoch_not_the_buffer(tmp_path):
    sac(make_env_fn("Pendulum-v1"), epochs=3, steps_per_epoch=100, start_steps=50, update_after=50,
        update_every=50, batch_size=8, num_test_episodes=1, ac_kwargs=dict(hidden_sizes=(8,)),
        logger_kwargs=dict(output_dir=str(tmp_path)))
    assert chunk_files(tmp_path) == ["000000000000-000000000100.pt", "000000000100-000000000200.pt",
                                     "000000000200-000000000300.pt"]
    assert load_checkpoint(tmp_path)["replay_buffer"].record["total"] == 300
