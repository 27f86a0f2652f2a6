"""The course helpers: the training budget, the live learning curve, inline videos.

LiveCurve is checked as a real logger callback on a tiny VPG run; the videos are real mp4
files read back frame by frame.
"""
import os

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from IPython.display import Image, Video

import spinup_lib
from spinup_lib import notebook
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.notebook import LiveCurve, budget, budget_mode, video_of_agent, video_of_run


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "data"))


# ----------------------------------------------------------------------------------------------
# budget()
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def clean_budget_env(monkeypatch):
    """No CI and no SPINUP_BUDGET (the repository's conftest sets SPINUP_BUDGET=small)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("SPINUP_BUDGET", raising=False)
    return monkeypatch


def test_budget_is_full_for_a_student(clean_budget_env):
    assert budget_mode() == "full"
    assert budget(full=50, small=3) == 50


@pytest.mark.parametrize("ci_value", ["1", "true", "True", "yes", "github-actions"])
def test_budget_is_small_under_ci(clean_budget_env, ci_value):
    clean_budget_env.setenv("CI", ci_value)
    assert budget(full=50, small=3) == 3


@pytest.mark.parametrize("ci_value", ["", "0", "false", "FALSE", "no"])
def test_a_false_ci_value_keeps_the_full_budget(clean_budget_env, ci_value):
    clean_budget_env.setenv("CI", ci_value)
    assert budget(full=50, small=3) == 50


@pytest.mark.parametrize("ci_value", [None, "1"])
@pytest.mark.parametrize("setting, expected", [("small", 3), ("full", 50), (" Full ", 50), ("SMALL", 3)])
def test_spinup_budget_overrides_ci(clean_budget_env, ci_value, setting, expected):
    if ci_value is not None:
        clean_budget_env.setenv("CI", ci_value)
    clean_budget_env.setenv("SPINUP_BUDGET", setting)
    assert budget(full=50, small=3) == expected


def test_budget_returns_any_object_unchanged(clean_budget_env):
    full, small = dict(epochs=50, hid=(64, 64)), dict(epochs=2, hid=(8,))
    assert budget(full, small) is full
    clean_budget_env.setenv("SPINUP_BUDGET", "small")
    assert budget(full, small) is small


@pytest.mark.parametrize("bad", ["medium", "tiny", "1"])
def test_a_bad_spinup_budget_is_a_one_line_user_error(clean_budget_env, bad):
    clean_budget_env.setenv("SPINUP_BUDGET", bad)
    with pytest.raises(UserError) as info:
        budget(full=50, small=3)
    message = str(info.value)
    assert "\n" not in message
    assert bad in message and "small" in message and "full" in message


# ----------------------------------------------------------------------------------------------
# LiveCurve
# ----------------------------------------------------------------------------------------------
def test_live_curve_records_updates_without_drawing_outside_a_notebook(capsys):
    curve = LiveCurve("AverageEpRet")
    curve.update(0, 10)
    curve.update(1, np.float32(12.5), std=2.0)
    assert curve.xs == [0, 1]
    assert curve.ys == [10.0, 12.5]
    assert np.isnan(curve.stds[0]) and curve.stds[1] == 2.0
    assert capsys.readouterr().out == ""  # no figure repr printed by a script or test


def test_live_curve_as_callback_reads_its_columns():
    curve = LiveCurve("AverageEpRet", xlabel="TotalEnvInteracts")
    curve({"Epoch": 0, "TotalEnvInteracts": 400, "AverageEpRet": 20.0, "StdEpRet": 3.0})
    curve({"Epoch": 1, "LossPi": 0.1})  # a row without the column is ignored
    curve({"Epoch": 2, "AverageEpRet": 30.0})  # no x column: the number of points so far
    assert curve.xs == [400, 1]
    assert curve.ys == [20.0, 30.0]
    assert curve.stds[0] == 3.0 and np.isnan(curve.stds[1])
    assert LiveCurve("AverageEpRet").std_key == "StdEpRet"
    assert LiveCurve("LossPi").std_key is None
    assert LiveCurve("AverageEpRet", band=False).std_key is None


def test_live_curve_replaces_one_display_in_a_notebook(monkeypatch):
    """In a kernel the first point opens one output slot; later points update that same slot."""
    shown = []

    class FakeHandle:
        def update(self, obj):
            shown.append(("update", obj))

    def fake_display(obj, display_id=False):
        shown.append(("display", obj))
        assert display_id is True
        return FakeHandle()

    import IPython.display

    monkeypatch.setattr(notebook.live_curve, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    curve = LiveCurve("AverageEpRet", title="test")
    for epoch, value in enumerate([1.0, 2.0, float("nan"), 4.0]):
        curve({"Epoch": epoch, "AverageEpRet": value, "StdEpRet": 0.5})
    assert [kind for kind, _ in shown] == ["display", "update", "update", "update"]
    assert all(isinstance(obj, Image) and obj.data.startswith(b"\x89PNG") for _, obj in shown)
    figure = curve.figure()
    axes = figure.axes[0]
    assert axes.get_ylabel() == "AverageEpRet" and axes.get_title() == "test"
    np.testing.assert_array_equal(axes.lines[0].get_xdata(), [0, 1, 2, 3])


def test_in_notebook_is_false_in_pytest():
    assert notebook.in_notebook() is False


@pytest.fixture(scope="module")
def tiny_vpg_run(tmp_path_factory):
    """A real two-epoch VPG run on CartPole with a LiveCurve as its epoch callback."""
    import torch

    from spinup_lib import vpg

    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("runs") / "vpg_s0"
    curve = LiveCurve("AverageEpRet")
    vpg(make_env_fn("CartPole-v1"), ac_kwargs=dict(hidden_sizes=(8,)), steps_per_epoch=200, epochs=2,
        train_v_iters=2, logger_kwargs=dict(output_dir=str(run_dir), epoch_callback=curve))
    return str(run_dir), curve


@pytest.mark.slow
def test_live_curve_follows_a_real_run(tiny_vpg_run):
    run_dir, curve = tiny_vpg_run
    progress = pd.read_csv(os.path.join(run_dir, "progress.txt"), sep="\t")
    assert curve.xs == progress["Epoch"].tolist() == [0, 1]
    np.testing.assert_allclose(curve.ys, progress["AverageEpRet"])
    np.testing.assert_allclose(curve.stds, progress["StdEpRet"])
    with open(os.path.join(run_dir, "config.json")) as f:
        assert "epoch_callback" not in f.read()  # a notebook's live plot is not a setting of the run


# ----------------------------------------------------------------------------------------------
# Videos
# ----------------------------------------------------------------------------------------------
def always_push_left(obs):
    return 0


def cartpole_episode_length(seed):
    """Steps until CartPole falls when always pushed left, from the reset with ``seed``."""
    env = make_env_fn("CartPole-v1")()
    env.reset(seed=seed)
    steps = 0
    while True:
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
        if terminated or truncated:
            env.close()
            return steps


def test_video_of_agent_writes_an_mp4_and_returns_a_video(tmp_path):
    path = tmp_path / "left.mp4"
    video = video_of_agent(make_env_fn("CartPole-v1"), always_push_left, path, num_episodes=2, seed=3)
    assert isinstance(video, Video)
    assert video.filename == str(path)
    assert "<video" in video._repr_html_()  # embedded, so it survives export
    frames = iio.imread(path)
    assert frames.shape[1:] == (400, 600, 3)
    # CartPole (50 steps a second) is filmed in real time at 25 fps: each episode gives
    # length // 2 + 1 frames; the second reset is not seeded, so only the total is bounded.
    assert len(frames) >= cartpole_episode_length(3) // 2 + 2


def test_video_of_agent_is_repeatable_with_a_seed(tmp_path):
    a = video_of_agent(make_env_fn("CartPole-v1"), always_push_left, tmp_path / "a.mp4", seed=5)
    b = video_of_agent(make_env_fn("CartPole-v1"), always_push_left, tmp_path / "b.mp4", seed=5)
    assert len(iio.imread(a.filename)) == len(iio.imread(b.filename)) == cartpole_episode_length(5) // 2 + 1


def test_video_of_agent_never_replaces_a_file_unless_forced(tmp_path):
    path = tmp_path / "mine.mp4"
    path.write_bytes(b"a video the user made")
    with pytest.raises(UserError, match="already exists"):
        video_of_agent(make_env_fn("CartPole-v1"), always_push_left, path)
    assert path.read_bytes() == b"a video the user made"
    video_of_agent(make_env_fn("CartPole-v1"), always_push_left, path, force=True)
    assert len(iio.imread(path)) == cartpole_episode_length(0) // 2 + 1


def test_video_of_agent_without_a_path_uses_a_fresh_file():
    first = video_of_agent(make_env_fn("CartPole-v1"), always_push_left)
    second = video_of_agent(make_env_fn("CartPole-v1"), always_push_left)
    assert first.filename != second.filename
    assert os.path.isfile(first.filename) and os.path.isfile(second.filename)


def test_show_video_of_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no video file"):
        notebook.show_video(tmp_path / "nothing.mp4")


@pytest.mark.slow
def test_video_of_run_records_the_saved_agent_in_a_new_file_each_time(tiny_vpg_run):
    run_dir, _ = tiny_vpg_run
    first = video_of_run(run_dir)
    second = video_of_run(run_dir)
    assert first.filename == os.path.join(run_dir, "videos", "agent.mp4")
    assert second.filename == os.path.join(run_dir, "videos", "agent_1.mp4")
    # Same agent, deterministic actions, same seed: the same episode twice.
    assert len(iio.imread(first.filename)) == len(iio.imread(second.filename)) > 1


def test_video_of_run_ends_episodes_at_the_saved_time_limit(tmp_path):
    """Pendulum never terminates: only its 200-step time limit, rebuilt from the saved spec, ends
    an episode. A replay that lost the limit would record forever."""
    import torch

    from spinup_lib.core import MLPActorCritic
    from spinup_lib.logx import Logger

    env = make_env_fn("Pendulum-v1")()
    torch.manual_seed(0)
    ac = MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=(8,))
    logger = Logger(output_dir=str(tmp_path / "pendulum_s0"))
    logger.setup_pytorch_saver(ac, dict(hidden_sizes=(8,)), env)
    logger.save_state()
    logger.close()
    env.close()

    video = video_of_run(str(tmp_path / "pendulum_s0"), path=tmp_path / "pendulum.mp4")
    assert len(iio.imread(video.filename)) == 200 + 1


# ----------------------------------------------------------------------------------------------
# show_source / source_region and hyperparameter_table
# ----------------------------------------------------------------------------------------------
def test_show_source_reads_an_inner_function_from_the_file():
    region = notebook.show_source("spinup_lib.algos.ppo", "compute_loss_pi")
    assert region.path == "spinup_lib/algos/ppo.py"
    assert region.text.startswith("def compute_loss_pi(")
    source = open(os.path.join(os.path.dirname(spinup_lib.__file__), "algos", "ppo.py")).read().splitlines()
    assert source[region.start - 1].strip().startswith("def compute_loss_pi(")
    assert "torch.clamp(ratio" in region.text
    assert "lines" in region._repr_html_() and "compute_loss_pi" in region._repr_html_()


def test_show_source_folds_lines_that_answer_an_exercise():
    region = notebook.show_source("spinup_lib.algos.ppo", "compute_loss_pi", answers="Exercise 1.2")
    html = region._repr_html_()
    # closed <details>: the summary names the exercise, the code is inside the fold only
    assert html.startswith("<details>") and "open" not in html.split(">", 1)[0]
    summary, folded = html.split("</summary>", 1)
    assert "Exercise 1.2" in summary and "try the exercise first" in summary
    assert "clamp" not in summary and "clamp" in folded
    assert "Exercise 1.2" in repr(region) and "clamp" not in repr(region)  # plain text cannot fold
    assert region._repr_markdown_().startswith("<details>")
    assert "<details>" not in notebook.show_source("spinup_lib.algos.ppo", "compute_loss_pi")._repr_html_()


def test_show_source_reads_a_marked_region_without_its_markers():
    # A marked region is found by name: write a small module into the package for the test.
    module_file = os.path.join(os.path.dirname(spinup_lib.__file__), "_region_probe.py")
    with open(module_file, "w") as f:
        f.write("def f(x):\n    # region: the-sum\n    y = x + 1\n    z = y * 2\n    # endregion\n    return z\n")
    try:
        region = notebook.source_region("spinup_lib._region_probe", "the-sum")
        assert region.text == "y = x + 1\nz = y * 2"
        assert (region.start, region.end) == (3, 4)
        # a function that contains a region is shown without the marker lines
        assert "# region" not in notebook.source_region("spinup_lib._region_probe", "f").text
    finally:
        os.remove(module_file)


@pytest.mark.parametrize("module, name", [
    ("spinup_lib.algos.ppo", "no_such_function"),
    ("os", "path"),                      # outside the library: refused, never imported for display
    ("spinup_lib.no_such_module", "x"),
])
def test_show_source_refuses_what_is_not_there(module, name):
    with pytest.raises(UserError):
        notebook.show_source(module, name)


def test_hyperparameter_table_follows_the_signature_and_docstring():
    from spinup_lib.algos.ppo import ppo

    table = notebook.hyperparameter_table(ppo)
    assert list(table.columns) == ["parameter", "default", "description"]
    rows = table.set_index("parameter")
    assert rows.loc["clip_ratio", "default"] == "0.2"
    assert "epsilon" in rows.loc["clip_ratio", "description"]
    assert rows.loc["env_fn", "default"] == "(required)"
    # every hyperparameter of every algorithm is documented in its docstring
    from spinup_lib.algos import ddpg, sac, td3, trpo, vpg
    for fn in (vpg.vpg, trpo.trpo, ppo, ddpg.ddpg, td3.td3, sac.sac):
        undocumented = notebook.hyperparameter_table(fn).query("description == ''")["parameter"].tolist()
        assert undocumented == [], f"{fn.__name__} does not document {undocumented}"


# ----------------------------------------------------------------------------------------------
# q_versus_monte_carlo (chapters 07 and 08: Q overestimation)
# ----------------------------------------------------------------------------------------------
def test_q_versus_monte_carlo_scores_each_state_with_its_true_discounted_return():
    import gymnasium as gym
    import torch

    from spinup_lib.core import DDPGActorCritic, TD3ActorCritic

    env_fn = make_env_fn("Pendulum-v1")
    probe = env_fn()
    torch.manual_seed(0)
    ac = DDPGActorCritic(probe.observation_space, probe.action_space, hidden_sizes=(16,))
    gamma, episode_len = 0.9, 20
    table = notebook.q_versus_monte_carlo(ac, env_fn, gamma, num_episodes=2, episode_len=episode_len, seed=3)
    assert list(table.columns) == ["episode", "t", "mc_return", "q"]
    assert len(table) == 2 * episode_len

    # The same playthrough by hand, long enough that gamma^k is negligible: G_0 and Q(s_0, mu(s_0)).
    env = gym.make("Pendulum-v1", max_episode_steps=1000)
    obs, _ = env.reset(seed=3)
    first_obs, rewards = obs, []
    for _ in range(300):
        obs, reward, *_ = env.step(ac.act(torch.as_tensor(obs, dtype=torch.float32)))
        rewards.append(reward)
    g0 = sum(gamma ** k * r for k, r in enumerate(rewards))
    first = table[(table.episode == 0) & (table.t == 0)].iloc[0]
    assert abs(first.mc_return - g0) <= 0.01 * abs(g0) + 1e-6  # at most tail_tol of the future is missing
    obs_t = torch.as_tensor(first_obs, dtype=torch.float32)
    with torch.no_grad():
        assert np.isclose(first.q, ac.q(obs_t[None], ac.pi(obs_t[None])).item(), atol=1e-5)
    # G_t = r_t + gamma G_{t+1} along each episode.
    ep0 = table[table.episode == 0].mc_return.to_numpy()
    assert np.allclose(ep0[:-1], np.array(rewards[:episode_len - 1]) + gamma * ep0[1:], atol=1e-4)

    twin = TD3ActorCritic(probe.observation_space, probe.action_space, hidden_sizes=(16,))
    twin_table = notebook.q_versus_monte_carlo(twin, env_fn, gamma, num_episodes=1, episode_len=5)
    assert {"q1", "q2"} <= set(twin_table.columns) and "q" not in twin_table.columns


def test_q_versus_monte_carlo_plays_the_smoothed_policy_and_scores_q_at_the_noisy_action():
    # TD3's critic values mu plus clipped noise: with target_noise, the playthrough takes those actions,
    # and Q is read at the action taken. Here the reward is the action and Q(s, a) = a, so both show it.
    import gymnasium as gym
    import torch
    from gymnasium.spaces import Box

    class RewardIsTheAction(gym.Env):
        observation_space = Box(-1.0, 1.0, (3,), np.float32)
        action_space = Box(-2.0, 2.0, (1,), np.float32)

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(3, dtype=np.float32), {}

        def step(self, action):
            return np.zeros(3, dtype=np.float32), float(action[0]), False, False, {}

    class QIsTheAction(torch.nn.Module):
        def forward(self, obs, act):
            return act[:, 0]

    class ConstantPolicy(torch.nn.Module):  # mu(s) = 0.5 everywhere
        def __init__(self):
            super().__init__()
            self.q = QIsTheAction()

        def act(self, obs, deterministic=True):
            return np.array([0.5], dtype=np.float32)

    agent = ConstantPolicy()
    env_fn = lambda max_episode_steps=None: gym.wrappers.TimeLimit(RewardIsTheAction(), max_episode_steps)  # noqa: E731
    gamma, clip = 0.5, 0.25

    plain = notebook.q_versus_monte_carlo(agent, env_fn, gamma, num_episodes=1, episode_len=20)
    assert np.allclose(plain.q, 0.5) and np.allclose(plain.mc_return, 0.5 / (1 - gamma), atol=0.01)

    noisy = notebook.q_versus_monte_carlo(agent, env_fn, gamma, num_episodes=2, episode_len=20, target_noise=0.2,
                                          noise_clip=clip)
    offsets = noisy.q.to_numpy() - 0.5
    assert np.all(np.abs(offsets) <= clip * 2 + 1e-6)       # clipped, in half-widths of the box (h = 2)
    assert np.any(np.abs(offsets) > 0.1) and np.any(np.isclose(np.abs(offsets), clip * 2))
    for _, episode in noisy.groupby("episode"):            # Q at the action taken, which earned that reward
        g, r = episode.mc_return.to_numpy(), episode.q.to_numpy()
        assert np.allclose(g[:-1], r[:-1] + gamma * g[1:], atol=1e-5)
    again = notebook.q_versus_monte_carlo(agent, env_fn, gamma, num_episodes=2, episode_len=20, target_noise=0.2,
                                          noise_clip=clip)
    assert np.array_equal(noisy.q, again.q)                 # the noise is seeded
    with pytest.raises(UserError, match="must be >= 0"):
        notebook.q_versus_monte_carlo(agent, env_fn, gamma, episode_len=5, target_noise=-0.1)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 1.5])
def test_q_versus_monte_carlo_refuses_a_gamma_without_a_discounted_return(gamma):
    from spinup_lib.core import DDPGActorCritic

    probe = make_env_fn("Pendulum-v1")()
    ac = DDPGActorCritic(probe.observation_space, probe.action_space, hidden_sizes=(16,))
    with pytest.raises(UserError):
        notebook.q_versus_monte_carlo(ac, make_env_fn("Pendulum-v1"), gamma)


def test_chapter_data_dir_gives_each_execution_a_new_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = notebook.chapter_data_dir("04_vpg")
    second = notebook.chapter_data_dir("04_vpg")
    assert first != second and os.path.isdir(first) and os.path.isdir(second)
    assert os.path.dirname(first) == str(tmp_path / "data" / "04_vpg")
    assert os.listdir(first) == []
    for bad in ("..", "../x", "/etc", ""):
        with pytest.raises(UserError):
            notebook.chapter_data_dir(bad)
