"""The chapters' run helpers (spinup_lib.notebook.runs and .measures), on real but tiny runs.

One VPG run in this process (train), read back (read_progress, snapshot_epochs, load_agent); the
same settings as a grid of fresh processes two at a time (train_variants), which must give the same
numbers; experience from a fixed agent (collect_batch, collect_episodes); an off-policy critic
against the truth at each snapshot (q_bias_over_training).
"""
import numpy as np
import pandas as pd
import pytest
import torch

from spinup_lib import core, ddpg, td3, vpg
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.notebook import (LiveCurve, LiveCurves, collect_batch, collect_episodes, load_agent, output_to_file,
                                 q_bias_over_training, read_progress, snapshot_epochs, train, train_variants)

TINY_VPG = dict(env_name="CartPole-v1", ac_kwargs=dict(hidden_sizes=(8,)), steps_per_epoch=100, epochs=5,
                train_v_iters=2, save_freq=2)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    # As in the chapters (and in a grid's processes): one torch thread, so a seed fixes the numbers.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("SPINUP_WAIT_BEFORE_LAUNCH", "0")
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A VPG run made with train(): five epochs, a snapshot every two, a live curve."""
    torch.set_num_threads(1)
    curve = LiveCurve("AverageEpRet")
    run = train(vpg, tmp_path_factory.mktemp("runs") / "vpg_main", live=curve, seed=3, **TINY_VPG)
    return run, curve


def test_train_sends_the_epoch_tables_to_a_log_and_returns_the_table_and_agent(tiny_run, capsys):
    run, curve = tiny_run
    assert list(run.progress.Epoch) == [0, 1, 2, 3, 4]
    assert run.progress.TotalEnvInteracts.iloc[-1] == 500
    pd.testing.assert_frame_equal(run.progress, pd.read_table(run.run_dir / "progress.txt"))
    assert curve.xs == [0, 1, 2, 3, 4]  # the live curve was fed every epoch
    np.testing.assert_allclose(curve.ys, run.progress.AverageEpRet)
    log = (run.run_dir / "output.log").read_text()
    assert log.count("AverageEpRet") == 5  # the five epoch tables went to the log file
    assert isinstance(run.agent, core.MLPActorCritic) and run.seconds > 0


def test_train_keeps_quiet_output_out_of_the_notebook(tmp_path, capsys):
    train(vpg, tmp_path / "quiet", **dict(TINY_VPG, epochs=1))
    assert "AverageEpRet" not in capsys.readouterr().out
    train(vpg, tmp_path / "loud", quiet=False, **dict(TINY_VPG, epochs=1))
    assert "AverageEpRet" in capsys.readouterr().out
    assert not (tmp_path / "loud" / "output.log").exists()


def test_train_refuses_a_folder_that_holds_a_run_and_a_second_output_dir(tiny_run):
    run, _ = tiny_run
    with pytest.raises(UserError, match="already holds a run"):
        train(vpg, run.run_dir, **TINY_VPG)
    with pytest.raises(UserError, match="output_dir"):
        train(vpg, run.run_dir.parent / "other", logger_kwargs=dict(output_dir="elsewhere"), **TINY_VPG)
    with pytest.raises(UserError, match="env_name or env_fn"):
        train(vpg, run.run_dir.parent / "other", env_fn=make_env_fn("CartPole-v1"), **TINY_VPG)


def test_snapshots_follow_save_freq_and_load_back_with_their_weights(tiny_run):
    run, _ = tiny_run
    # save_freq=2 over 5 epochs: after epochs 1 and 3, and the last one, 4.
    assert snapshot_epochs(run.run_dir) == [1, 3, 4]
    last = load_agent(run.run_dir)
    for name, tensor in run.agent.state_dict().items():
        assert torch.equal(last.state_dict()[name], tensor)
    early = load_agent(run.run_dir, 1)
    assert isinstance(early, core.MLPActorCritic) and not early.training
    assert not torch.equal(early.state_dict()["pi.logits_net.0.weight"], last.state_dict()["pi.logits_net.0.weight"])
    with pytest.raises(UserError, match="available iterations: 1, 3, 4"):
        load_agent(run.run_dir, 2)


def test_read_progress_of_a_folder_without_a_run_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no progress.txt"):
        read_progress(tmp_path)


@pytest.mark.slow
def test_train_variants_runs_side_by_side_and_matches_a_run_in_this_kernel(tiny_run, tmp_path):
    run, _ = tiny_run
    curves = LiveCurves("AverageEpRet")
    runs = train_variants(vpg, tmp_path, variants={"lr=1e-2": (vpg, dict(pi_lr=1e-2)), "default lr": {}},
                          seeds=[3], num_workers=2, live=curves, **TINY_VPG)
    assert list(runs.progress.columns[:2]) == ["variant", "seed"]
    assert runs.progress.groupby(["variant", "seed"]).size().to_dict() == {("default lr", 3): 5, ("lr=1e-2", 3): 5}
    assert runs.run_dirs[("default lr", 3)] == tmp_path / "default-lr" / "default-lr_s3"
    # The same call in a fresh process gives the same numbers as in this kernel (all but the clock).
    same = runs.progress[runs.progress.variant == "default lr"].drop(columns=["variant", "seed", "Time"])
    pd.testing.assert_frame_equal(same.reset_index(drop=True), run.progress.drop(columns="Time"))
    other = runs.progress[runs.progress.variant == "lr=1e-2"]
    assert not np.allclose(other.LossPi.to_numpy(), same.LossPi.to_numpy())  # its setting was applied
    assert (tmp_path / "grid.log").read_text().count("finished") >= 2  # the grid's lines went to its log
    # The live curves ended with every run's whole table: one line per run.
    assert sorted(curves.tables) == [("default lr", 3), ("lr=1e-2", 3)]
    for (variant, seed), table in curves.tables.items():
        mine = runs.progress[runs.progress.variant == variant].drop(columns=["variant", "seed"])
        pd.testing.assert_frame_equal(table, mine.reset_index(drop=True))
    assert len(curves.figure().axes[0].lines) == 2


def test_live_curves_read_only_complete_rows_of_a_table_being_written(tmp_path):
    from spinup_lib.notebook.runs import _read_complete_rows

    path = tmp_path / "progress.txt"
    path.write_text("Epoch\tAverageEpRet\n0\t10.5\n1\t12")  # the second row is half written
    assert _read_complete_rows(path).to_dict("list") == {"Epoch": [0], "AverageEpRet": [10.5]}
    path.write_text("Epoch\tAverageEpRet\n")
    assert _read_complete_rows(path) is None and _read_complete_rows(tmp_path / "missing") is None


def test_train_variants_refuses_mistakes_before_starting_anything(tmp_path):
    with pytest.raises(UserError, match="seeds="):
        train_variants(vpg, tmp_path, seed=1, **TINY_VPG)
    with pytest.raises(UserError, match="share the folder"):
        train_variants(vpg, tmp_path, variants={"a b": {}, "a-b": {}}, **TINY_VPG)
    with pytest.raises(UserError, match="pair"):
        train_variants(vpg, tmp_path, variants={"a": (vpg, 0.1)}, **TINY_VPG)
    with pytest.raises(UserError, match="list of ints"):
        train_variants(vpg, tmp_path, seeds=[0.5], **TINY_VPG)
    assert not any(tmp_path.iterdir())


def test_collect_batch_closes_trajectories_as_the_library_loop_does():
    env = make_env_fn("CartPole-v1")()
    torch.manual_seed(0)
    agent = core.MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=(8,))
    torch.manual_seed(1)
    buffers = collect_batch(agent, env, 300, gamma=0.9, lam=(0.0, 1.0), max_ep_len=40, seed=1)
    one, zero = buffers[1.0], buffers[0.0]
    assert np.array_equal(one.obs_buf, zero.obs_buf) and np.array_equal(one.act_buf, zero.act_buf)
    # GAE with lambda 1 is the bootstrapped discounted return minus V(s_t), at every step.
    np.testing.assert_allclose(one.adv_buf, one.ret_buf - one.val_buf, atol=1e-4)
    # lambda 0 is the one-step TD residual: r + gamma V(s') - V(s) inside a trajectory.
    delta = one.rew_buf[:-1] + 0.9 * one.val_buf[1:] - one.val_buf[:-1]
    inside = np.isclose(zero.adv_buf[:-1], delta, atol=1e-5)
    assert inside.mean() > 0.8  # all but the last step of each (cut or ended) trajectory
    # The batch reads back normalised, as the update sees it; and the same seeds give the same batch.
    batch = one.get()
    assert abs(batch["adv"].mean().item()) < 1e-5 and abs(batch["adv"].std().item() - 1) < 1e-2
    torch.manual_seed(1)
    again = collect_batch(agent, make_env_fn("CartPole-v1")(), 300, gamma=0.9, lam=0.0, max_ep_len=40, seed=1)
    np.testing.assert_array_equal(again.adv_buf, zero.adv_buf)


def test_collect_episodes_plays_whole_episodes_until_enough_steps():
    env = make_env_fn("CartPole-v1")()
    episodes = collect_episodes(env, lambda obs: 0, min_steps=50, seed=0)  # always push left: falls fast
    assert sum(len(ep["rew"]) for ep in episodes) >= 50
    assert all(ep["terminated"] and len(ep["obs"]) == len(ep["act"]) == len(ep["rew"]) for ep in episodes)
    assert sum(len(ep["rew"]) for ep in episodes[:-1]) < 50  # it stopped as soon as it had enough
    policy = core.MLPCategoricalActor(4, 2, (8,), torch.nn.Tanh)
    torch.manual_seed(0)
    first = collect_episodes(env, policy, min_steps=100, seed=5)
    torch.manual_seed(0)
    second = collect_episodes(env, policy, min_steps=100, seed=5)
    assert [len(ep["rew"]) for ep in first] == [len(ep["rew"]) for ep in second]
    assert set(np.concatenate([ep["act"] for ep in first])) == {0, 1}


def test_output_to_file_appends_what_is_printed(tmp_path, capsys):
    for word in ("first", "second"):
        with output_to_file(tmp_path / "logs" / "out.log") as path:
            print(word)
    assert path.read_text() == "first\nsecond\n" and capsys.readouterr().out == ""


@pytest.mark.slow
def test_q_bias_over_training_scores_every_snapshot(tmp_path):
    run = train(ddpg, tmp_path / "ddpg", env_name="Pendulum-v1", ac_kwargs=dict(hidden_sizes=(8,)),
                steps_per_epoch=60, epochs=2, start_steps=50, update_after=50, update_every=10,
                num_test_episodes=1, max_ep_len=50)
    bias = q_bias_over_training(run.run_dir, make_env_fn("Pendulum-v1"), 0.9, num_episodes=1, episode_len=5)
    assert list(bias.epoch) == snapshot_epochs(run.run_dir) == [0, 1]
    assert list(bias.steps) == [60, 120]
    np.testing.assert_allclose(bias.bias, bias.q - bias.mc_return)
    assert np.isfinite(bias[["q", "mc_return"]].to_numpy()).all()
    with pytest.raises(UserError, match="no critic 'q1'"):
        q_bias_over_training(run.run_dir, make_env_fn("Pendulum-v1"), 0.9, q_column="q1", num_episodes=1,
                             episode_len=5)


@pytest.mark.slow
def test_q_bias_over_training_reports_both_critics_of_td3(tmp_path):
    run = train(td3, tmp_path / "td3", env_name="Pendulum-v1", ac_kwargs=dict(hidden_sizes=(8,)),
                steps_per_epoch=60, epochs=1, start_steps=50, update_after=50, update_every=10,
                num_test_episodes=1, max_ep_len=50)
    scored = {column: q_bias_over_training(run.run_dir, make_env_fn("Pendulum-v1"), 0.9, q_column=column,
                                           num_episodes=1, episode_len=5) for column in ("q1", "q2")}
    for column, bias in scored.items():
        np.testing.assert_allclose(bias.q, bias[column])          # the scored critic is the one asked for
        np.testing.assert_allclose(bias[["q1", "q2", "mc_return"]], scored["q1"][["q1", "q2", "mc_return"]])
    assert (scored["q1"].q1 != scored["q1"].q2).all()              # two critics, initialised apart
