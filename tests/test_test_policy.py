"""Replaying saved agents: loading, episodes, the deterministic flag, video, and user errors.

Agents are saved by the real logger (Logger.setup_pytorch_saver / save_state) from the real
MLPActorCritic, untrained: no algorithm has to run.
"""
import os
import re
import stat
import subprocess
import sys

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import torch

from spinup_lib import test_policy
from spinup_lib.core import MLPActorCritic
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.logx import Logger

EPISODE_LINE = re.compile(r"^Episode (\d+) \t EpRet (-?[\d.]+) \t EpLen (\d+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "data"))


def save_agent(run_dir, env, zero_params=False, snapshots=(), hidden_sizes=(16,)):
    """Save an untrained MLPActorCritic for ``env`` as a run would; return the run directory.

    With ``zero_params`` every weight is 0: the categorical policy is then uniform over actions
    (its most likely action is 0, the first of equal logits) and the Gaussian one is N(0, 1).
    """
    torch.manual_seed(0)
    ac = MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=hidden_sizes,
                        activation=torch.nn.Tanh)
    if zero_params:
        with torch.no_grad():
            for p in ac.parameters():
                p.zero_()
    logger = Logger(output_dir=str(run_dir))
    logger.setup_pytorch_saver(ac, dict(hidden_sizes=hidden_sizes, activation=torch.nn.Tanh), env)
    for itr in snapshots:
        logger.save_state(itr)
    logger.save_state()
    logger.close()
    env.close()
    return str(run_dir), ac


@pytest.fixture
def cartpole_run(tmp_path):
    return save_agent(tmp_path / "cartpole_s0", make_env_fn("CartPole-v1")())[0]


@pytest.fixture
def uniform_cartpole_run(tmp_path):
    return save_agent(tmp_path / "uniform_s0", make_env_fn("CartPole-v1")(), zero_params=True)[0]


def episodes_in(text):
    return [(int(k), float(ret), int(length)) for k, ret, length in EPISODE_LINE.findall(text)]


def replay(capsys, *argv):
    """Run the command line; return its episodes as [(return, length)] read from what it printed."""
    assert test_policy.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    return [(ret, length) for _, ret, length in episodes_in(out)]


def summary_value(text, key):
    return float(re.search(rf"{key} \| (\S+)", text).group(1))


# ----------------------------------------------------------------------------------------------
# Loading and playing
# ----------------------------------------------------------------------------------------------
def test_loads_agent_and_env(tmp_path):
    run_dir, ac = save_agent(tmp_path / "run", make_env_fn("Pendulum-v1")())
    env, get_action = test_policy.load_policy_and_env(run_dir, deterministic=True)
    try:
        assert env.spec.id == "Pendulum-v1"
        obs, _ = env.reset(seed=3)
        action = get_action(obs)
        assert action.shape == env.action_space.shape
        # the same weights as saved: the deterministic action is the saved network's mean
        np.testing.assert_allclose(action, ac.act(obs, deterministic=True), rtol=1e-6)
    finally:
        env.close()


def test_prints_each_episode_and_the_averages(cartpole_run, capsys):
    assert test_policy.main([cartpole_run, "-n", "4", "-nr", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    episodes = episodes_in(out)
    assert [k for k, _, _ in episodes] == [0, 1, 2, 3]
    assert all(ret == length for _, ret, length in episodes)  # CartPole pays 1 per step
    returns = [ret for _, ret, _ in episodes]
    assert summary_value(out, "AverageEpRet") == pytest.approx(np.mean(returns), rel=1e-3)
    assert summary_value(out, "StdEpRet") == pytest.approx(np.std(returns), rel=1e-3)
    assert summary_value(out, "AverageEpLen") == pytest.approx(np.mean([n for _, _, n in episodes]), rel=1e-3)
    assert "not rendering" not in out  # -nr


def test_same_seed_same_episodes(cartpole_run, capsys):
    first = replay(capsys, cartpole_run, "-n", "5", "-nr", "--seed", "7")
    second = replay(capsys, cartpole_run, "-n", "5", "-nr", "--seed", "7")
    assert first == second


def test_max_episode_length_cuts_episodes(uniform_cartpole_run, capsys):
    results = replay(capsys, uniform_cartpole_run, "-n", "5", "-nr", "-l", "6", "--seed", "0")
    # a CartPole episode lasts at least 8 steps, so every one is cut at 6
    assert [length for _, length in results] == [6] * 5


def test_deterministic_flag_is_honoured(uniform_cartpole_run, capsys):
    # The saved policy is uniform over {0, 1}; its most likely action is 0. With -d every step
    # must push left, exactly like a hand-written always-0 policy from the same seed.
    env = gym.make("CartPole-v1")
    always_left = test_policy.run_policy(env, lambda obs: 0, num_episodes=10, render=False, seed=0,
                                         verbose=False)
    env.close()
    deterministic = replay(capsys, uniform_cartpole_run, "-n", "10", "-nr", "-d", "--seed", "0")
    sampled = replay(capsys, uniform_cartpole_run, "-n", "10", "-nr", "--seed", "0")
    assert deterministic == always_left
    assert sampled != always_left
    # pushing one way topples the pole far sooner than random pushes
    assert max(n for _, n in deterministic) < np.mean([n for _, n in sampled])


def test_get_action_samples_unless_deterministic(uniform_cartpole_run):
    obs = np.array([0.01, -0.02, 0.03, 0.0])
    env, sample = test_policy.load_policy_and_env(uniform_cartpole_run)
    env.close()
    env, mode = test_policy.load_policy_and_env(uniform_cartpole_run, deterministic=True)
    env.close()
    torch.manual_seed(0)
    assert {int(sample(obs)) for _ in range(100)} == {0, 1}
    assert {int(mode(obs)) for _ in range(100)} == {0}


def test_snapshot_by_iteration(tmp_path):
    env = make_env_fn("CartPole-v1")()
    ac = MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=(16,))
    with torch.no_grad():
        for p in ac.parameters():
            p.zero_()  # equal logits: the most likely action is 0
    logger = Logger(output_dir=str(tmp_path / "run"))
    logger.setup_pytorch_saver(ac, dict(hidden_sizes=(16,)), env)
    logger.save_state(3)
    with torch.no_grad():
        list(ac.pi.parameters())[-1].copy_(torch.tensor([0.0, 5.0]))  # now the logits favour action 1
    logger.save_state()  # the latest agent changes, the snapshot of epoch 3 keeps the old weights
    logger.close()
    env.close()

    obs = np.zeros(4)
    for itr, expected_action in ((3, 0), (-1, 1), ("last", 1)):
        env, get_action = test_policy.load_policy_and_env(tmp_path / "run", itr=itr, deterministic=True)
        env.close()
        assert int(get_action(obs)) == expected_action, itr


def test_env_override_by_id_and_by_object(tmp_path):
    # CartPoleEnv built directly has no registry spec, so the run cannot save its env
    from gymnasium.envs.classic_control import CartPoleEnv

    run_dir, _ = save_agent(tmp_path / "run", CartPoleEnv())
    with pytest.raises(UserError, match="could not be saved.*--env ENV_ID"):
        test_policy.load_policy_and_env(run_dir)
    env, get_action = test_policy.load_policy_and_env(run_dir, env="CartPole-v1")
    assert env.spec.id == "CartPole-v1"
    env.close()
    own_env = CartPoleEnv()
    env, get_action = test_policy.load_policy_and_env(run_dir, env=own_env)
    assert env is own_env
    assert test_policy.run_policy(env, get_action, num_episodes=2, render=False, verbose=False)
    env.close()


def test_render_without_display_prints_a_note(cartpole_run, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    test_policy.main([cartpole_run, "-n", "2", "--seed", "0"])
    out = capsys.readouterr().out
    assert out.count("note: not rendering because there is no display") == 1
    assert len(episodes_in(out)) == 2


# ----------------------------------------------------------------------------------------------
# Video
# ----------------------------------------------------------------------------------------------
def read_video(path):
    return iio.imread(path), iio.immeta(path)


def test_video_of_cartpole(cartpole_run, tmp_path, capsys):
    video = tmp_path / "videos" / "cartpole.mp4"  # the folder is created
    assert test_policy.main([cartpole_run, "--video", str(video), "-n", "2", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    results = [(ret, length) for _, ret, length in episodes_in(out)]
    assert len(results) == 2
    assert video.stat().st_size > 0
    assert video.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    frames, meta = read_video(video)
    # CartPole runs 50 steps a second: real time at <= 30 fps is every 2nd step at 25 fps,
    # the first observation's frame included
    assert frames.shape == (sum(n // 2 + 1 for _, n in results), 400, 600, 3)
    assert meta["fps"] == gym.make("CartPole-v1").metadata["render_fps"] / 2 == 25
    assert frames.std() > 10  # a picture, not a blank
    assert "not rendering" not in out
    assert [p.name for p in video.parent.iterdir()] == ["cartpole.mp4"]  # no temporary left


def test_video_defaults_to_one_episode(cartpole_run, tmp_path, capsys):
    video = tmp_path / "one.mp4"
    results = replay(capsys, cartpole_run, "--video", str(video), "--seed", "1")
    assert len(results) == 1
    assert read_video(video)[0].shape[0] == results[0][1] // 2 + 1


def test_record_episodes_for_notebooks(uniform_cartpole_run, tmp_path):
    env, get_action = test_policy.load_policy_and_env(uniform_cartpole_run, render_mode="rgb_array")
    try:
        path = test_policy.record_episodes(env, get_action, tmp_path / "clip.mp4", num_episodes=3,
                                           max_ep_len=5, seed=0, fps=10)
        assert path == str(tmp_path / "clip.mp4")
        frames, meta = read_video(path)
        # 10 fps of an env running 50 steps a second: real time is every 5th step
        assert frames.shape[0] == 3 * (5 // 5 + 1) and meta["fps"] == 10
        with pytest.raises(UserError, match="already exists"):
            test_policy.record_episodes(env, get_action, path)
    finally:
        env.close()
    plain_env, get_action = test_policy.load_policy_and_env(uniform_cartpole_run)
    with pytest.raises(UserError, match="render_mode='rgb_array'"):
        test_policy.record_episodes(plain_env, get_action, tmp_path / "other.mp4")
    plain_env.close()


def test_existing_video_is_not_overwritten_without_force(cartpole_run, tmp_path, capsys):
    video = tmp_path / "mine.mp4"
    video.write_bytes(b"a video of mine")
    with pytest.raises(UserError, match="mine.mp4 already exists.*--force"):
        test_policy.main([cartpole_run, "--video", str(video)])
    assert video.read_bytes() == b"a video of mine"
    test_policy.main([cartpole_run, "--video", str(video), "--force"])
    assert video.read_bytes()[4:8] == b"ftyp"


def test_video_needs_mp4_name(cartpole_run, tmp_path):
    with pytest.raises(UserError, match="ending in .mp4"):
        test_policy.main([cartpole_run, "--video", str(tmp_path / "clip.gif")])


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_video_file_permissions_follow_the_umask(cartpole_run, tmp_path, capsys, umask):
    video = tmp_path / "shared.mp4"
    old = os.umask(umask)
    try:
        test_policy.main([cartpole_run, "--video", str(video), "-l", "4", "--seed", "0"])
    finally:
        os.umask(old)
    assert stat.S_IMODE(video.stat().st_mode) == 0o666 & ~umask  # 0644 for most users, never forced private


@pytest.mark.parametrize("env_id, fps, expected", [
    ("HalfCheetah-v5", None, (1, 20)),       # 20 steps a second: every step, real time
    ("Hopper-v5", None, (5, 25)),            # 125 steps a second: every 5th step
    ("Humanoid-v5", None, (3, 67 / 3)),
    ("CartPole-v1", None, (2, 25)),
    ("Pendulum-v1", None, (1, 30)),
    ("CartPole-v1", 10, (5, 10)),            # an fps asked for keeps real time when it can
    ("HalfCheetah-v5", 60, (1, 60)),         # and plays faster when the env is slower than that
])
def test_video_timing(env_id, fps, expected):
    env = gym.make(env_id)
    try:
        every, video_fps = test_policy.video_timing(env, fps)
    finally:
        env.close()
    assert every == expected[0] and video_fps == pytest.approx(expected[1])
    assert video_fps <= test_policy.MAX_VIDEO_FPS or fps is not None


def test_video_timing_of_an_env_without_a_rate():
    env = gym.make("CartPole-v1")
    env.unwrapped.metadata = {"render_modes": ["rgb_array"]}
    assert test_policy.video_timing(env) == (1, test_policy.DEFAULT_FPS)
    with pytest.raises(UserError, match="fps must be a positive number"):
        test_policy.video_timing(env, 0)
    env.close()


@pytest.mark.parametrize("env_id, camera", [
    ("HalfCheetah-v5", "track"), ("Hopper-v5", "track"), ("Walker2d-v5", "track"), ("Ant-v5", "track"),
    ("Swimmer-v5", "track"), ("Humanoid-v5", "track"), ("HumanoidStandup-v5", "track"),
    ("InvertedPendulum-v5", None), ("InvertedDoublePendulum-v5", None), ("Reacher-v5", None),
    ("Pusher-v5", None),  # fixed bases: the default view shows them whole
])
def test_tracking_camera_of_each_mujoco_env(env_id, camera):
    env = gym.make(env_id)
    try:
        assert test_policy.tracking_camera(env.unwrapped.model) == camera
    finally:
        env.close()


def agent_in_frame(env):
    """Where the agent is in the next frame: (share of pixels, mean column / width), or (0, None).

    The frame is drawn twice, once with the agent's geoms made transparent; the pixels that
    change are the agent (and its shadow)."""
    model = env.unwrapped.model
    agent = model.geom_bodyid > 0  # every geom but the world's (floor)
    shown = env.render().astype(int)
    alpha = model.geom_rgba[agent, 3].copy()
    model.geom_rgba[agent, 3] = 0
    hidden = env.render().astype(int)
    model.geom_rgba[agent, 3] = alpha
    mask = np.abs(shown - hidden).max(axis=-1) > 40
    columns = np.nonzero(mask)[1]
    return mask.mean(), (columns.mean() / mask.shape[1] if columns.size else None)


def move_agent(env, x):
    raw = env.unwrapped
    qpos = raw.data.qpos.copy()
    qpos[0] = x  # HalfCheetah's first coordinate is the torso's x position
    raw.set_state(qpos, raw.data.qvel.copy())


def test_video_camera_follows_the_agent(tmp_path):
    env = gym.make("HalfCheetah-v5", render_mode="rgb_array")
    try:
        assert test_policy.prepare_video_rendering(env, (96, 64)) == "camera 'track'"
        renderer = env.unwrapped.mujoco_renderer
        assert renderer.camera_id == 0 and env.unwrapped.model.camera(0).name == "track"
        env.reset(seed=0)
        for x in (0.0, 10.0, 30.0):  # a good HalfCheetah runs 30 m in its 1000 steps
            move_agent(env, x)
            share, column = agent_in_frame(env)
            assert env.render().shape == (64, 96, 3)
            assert share > 0.01 and 0.35 < column < 0.65, (x, share, column)
    finally:
        env.close()
    # gymnasium's default view stays where the episode began: 10 m on, the agent is out of the picture
    env = gym.make("HalfCheetah-v5", render_mode="rgb_array")
    try:
        assert test_policy.prepare_video_rendering(env, (96, 64), camera="default") == "the env's default view"
        env.reset(seed=0)
        assert agent_in_frame(env)[0] > 0.01
        move_agent(env, 10.0)
        assert agent_in_frame(env) == (0.0, None)
    finally:
        env.close()


def test_video_of_a_fast_mujoco_env_draws_every_kth_step(tmp_path):
    run_dir, _ = save_agent(tmp_path / "hopper_s0", make_env_fn("Hopper-v5")())
    env, get_action = test_policy.load_policy_and_env(run_dir, render_mode="rgb_array")
    drawn = []
    render = env.render
    env.render = lambda: drawn.append(1) or render()  # count what is drawn, not only what is kept
    try:
        path = test_policy.record_episodes(env, get_action, tmp_path / "hop.mp4", num_episodes=2,
                                           max_ep_len=12, seed=0, frame_size=(64, 48))
    finally:
        env.close()
    frames, meta = read_video(path)
    # Hopper runs 125 steps a second: every 5th step at 25 fps, steps 0, 5, 10 of each episode
    # (an early fall would end an episode sooner: an untrained hopper stands for 12 steps)
    assert frames.shape == (2 * (12 // 5 + 1), 48, 64, 3)
    assert len(drawn) == frames.shape[0]  # the steps in between are not rendered at all
    assert meta["fps"] == 25


def test_video_options_and_their_errors(cartpole_run, tmp_path, capsys):
    pendulum_run, _ = save_agent(tmp_path / "pendulum_s0", make_env_fn("InvertedPendulum-v5")())
    env, get_action = test_policy.load_policy_and_env(pendulum_run, render_mode="rgb_array")
    with pytest.raises(UserError, match=r"no camera named 'overhead'.*'auto', 'default' or one of none"):
        test_policy.record_episodes(env, get_action, tmp_path / "a.mp4", camera="overhead")
    with pytest.raises(UserError, match="frame size 8x8 is out of range"):
        test_policy.record_episodes(env, get_action, tmp_path / "a.mp4", frame_size=(8, 8))
    env.close()
    assert not (tmp_path / "a.mp4").exists()
    with pytest.raises(UserError, match="give it as WIDTHxHEIGHT"):
        test_policy.main([pendulum_run, "--video", str(tmp_path / "b.mp4"), "--frame_size", "big"])
    with pytest.raises(UserError, match="add --video FILE.mp4"):
        test_policy.main([cartpole_run, "-nr", "--fps", "10"])
    with pytest.raises(UserError, match="--fps must be a positive number"):
        test_policy.main([cartpole_run, "--video", str(tmp_path / "c.mp4"), "--fps", "0"])
    assert test_policy.main([pendulum_run, "--video", str(tmp_path / "d.mp4"), "-l", "5", "--seed", "0",
                             "--frame_size", "80x60", "--fps", "5", "--camera", "default"]) == 0
    frames, meta = read_video(tmp_path / "d.mp4")
    assert frames.shape == (5 // 5 + 1, 60, 80, 3) and meta["fps"] == 5  # 25 steps a second, 5 fps
    assert "Saved 2 frames (80x60, the env's default view, every 5 steps, 5 fps" in capsys.readouterr().out


def test_progress_bar_while_recording(cartpole_run, tmp_path, capsys):
    env, get_action = test_policy.load_policy_and_env(cartpole_run, render_mode="rgb_array")
    try:
        results = test_policy.run_policy(env, get_action, num_episodes=2, max_ep_len=6, render=False, seed=0,
                                         video_path=tmp_path / "p.mp4", progress=True)
    finally:
        env.close()
    captured = capsys.readouterr()
    assert "recording" in captured.err and "12/12" in captured.err  # 2 episodes of at most 6 steps
    assert [(ret, n) for _, ret, n in episodes_in(captured.out)] == results  # lines intact on stdout


@pytest.mark.slow
def test_video_of_mujoco_env(tmp_path, capsys):
    run_dir, _ = save_agent(tmp_path / "pendulum_s0", make_env_fn("InvertedPendulum-v5")())
    video = tmp_path / "pendulum.mp4"
    results = replay(capsys, run_dir, "--video", str(video), "-l", "15", "-d", "--seed", "0")
    frames, meta = read_video(video)
    width, height = test_policy.DEFAULT_FRAME_SIZE
    assert frames.shape == (results[0][1] + 1, height, width, 3)  # 25 steps a second: every step
    assert meta["fps"] == gym.make("InvertedPendulum-v5").metadata["render_fps"]
    assert frames.max() > 100  # the pendulum is drawn (the background is black)


# ----------------------------------------------------------------------------------------------
# User errors
# ----------------------------------------------------------------------------------------------
def test_missing_path(tmp_path):
    with pytest.raises(UserError, match=r"no saved agent under .*nowhere: expected .*pyt_save/model.pt"):
        test_policy.load_policy_and_env(tmp_path / "nowhere")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(UserError, match="no saved agent under"):
        test_policy.main([str(tmp_path / "empty_run"), "-nr"])


def test_missing_iteration_lists_available_ones(tmp_path):
    run_dir, _ = save_agent(tmp_path / "run", make_env_fn("CartPole-v1")(), snapshots=(0, 10, 20))
    with pytest.raises(UserError, match=r"no snapshot for iteration 5 .*available iterations: 0, 10, 20"):
        test_policy.main([run_dir, "-i", "5", "-nr"])


def test_agent_that_does_not_fit_the_env(cartpole_run):
    with pytest.raises(UserError, match="does not fit the environment Acrobot-v1"):
        test_policy.load_policy_and_env(cartpole_run, env="Acrobot-v1")
    with pytest.raises(UserError, match="unknown environment id"):
        test_policy.load_policy_and_env(cartpole_run, env="CartPole-v99")


def test_file_that_is_not_a_saved_agent(tmp_path):
    (tmp_path / "run" / "pyt_save").mkdir(parents=True)
    (tmp_path / "run" / "pyt_save" / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="cannot read the saved agent"):
        test_policy.load_policy_and_env(tmp_path / "run")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "run" / "pyt_save" / "model.pt")
    with pytest.raises(UserError, match="not a saved agent in format 1"):
        test_policy.load_policy_and_env(tmp_path / "run")


@pytest.mark.slow  # two fresh interpreters importing torch and gymnasium
def test_module_command_line(cartpole_run, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "spinup_lib.test_policy", cartpole_run, "-n", "2", "-nr"],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert len(episodes_in(ok.stdout)) == 2
    bad = subprocess.run([sys.executable, "-m", "spinup_lib.test_policy", str(tmp_path / "missing")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: no saved agent under") and "Traceback" not in bad.stderr
