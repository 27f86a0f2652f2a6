"""Values are checked before training starts (issue 11, item 4).

Every algorithm checks its arguments in its first line (spinup_lib.checks.check_arguments), and
the command line checks every run of a grid before the first starts. Before this, ``--epochs 0``
left an empty run folder, ``--save_freq 0`` divided by zero after an epoch of training,
``--batch_size 0`` trained on NaN, and ``--seed -1`` or ``--env Hopper-v3`` ended in tracebacks.
The table is checked in-process through the command line's parsing (fast); a few rows also run
end to end, as a user would type them.
"""
import inspect
import os
import subprocess
import sys

import pytest

from spinup_lib import ddpg, ppo, sac, td3, trpo, vpg
from spinup_lib.checks import MAX_SEED, check_arguments
from spinup_lib.envs import check_env_id, make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.run import build_grid

ALGOS = dict(vpg=vpg, trpo=trpo, ppo=ppo, ddpg=ddpg, td3=td3, sac=sac)
ON_POLICY, OFF_POLICY = ("vpg", "trpo", "ppo"), ("ddpg", "td3", "sac")
ENV_OF = dict.fromkeys(ON_POLICY, "CartPole-v1") | dict.fromkeys(OFF_POLICY, "Pendulum-v1")

# (algorithms, flags, what the one-line message must contain)
BAD = [
    (ALGOS, ["--epochs", "0"], "--epochs must be an int >= 1"),
    (ALGOS, ["--epochs", "-3"], "--epochs must be an int >= 1"),
    (ALGOS, ["--steps_per_epoch", "0"], "--steps_per_epoch must be an int >= 1"),
    (ALGOS, ["--save_freq", "0"], "--save_freq must be an int >= 1"),
    (ALGOS, ["--gamma", "1.5"], "--gamma must be a number from 0 to 1"),
    (ALGOS, ["--gamma", "-0.1"], "--gamma must be a number from 0 to 1"),
    (ALGOS, ["--seed", "-1"], f"--seed must be an int from 0 to {MAX_SEED}"),
    (ALGOS, ["--seed", str(2**32)], f"--seed must be an int from 0 to {MAX_SEED}"),
    (ALGOS, ["--seed", "0", "-5"], "--seed must be"),  # any run of a grid
    (ALGOS, ["--max_ep_len", "0"], "--max_ep_len must be an int >= 1"),
    (ALGOS, ["--hid", "[64,0]"], "--hid"),
    (ON_POLICY, ["--lam", "2"], "--lam must be a number from 0 to 1"),
    (ON_POLICY, ["--vf_lr", "0"], "--vf_lr must be a number > 0"),
    (ON_POLICY, ["--vf_lr", "-1e-3"], "--vf_lr must be a number > 0"),
    (("vpg", "ppo"), ["--pi_lr", "0"], "--pi_lr must be a number > 0"),
    (("vpg", "ppo"), ["--train_v_iters", "0"], "--train_v_iters must be an int >= 1"),
    (ON_POLICY, ["--train_v_iters", "-1"], "--train_v_iters must be an int >="),
    (("ppo",), ["--train_pi_iters", "0"], "--train_pi_iters must be an int >= 1"),
    (("ppo",), ["--target_kl", "0"], "--target_kl must be a number > 0"),
    (("ppo",), ["--clip_ratio", "0"], "--clip_ratio must be a number > 0"),
    (("trpo",), ["--delta", "0"], "--delta must be a number > 0"),
    (("trpo",), ["--cg_iters", "0"], "--cg_iters must be an int >= 1"),
    (("trpo",), ["--backtrack_coeff", "1"], "--backtrack_coeff must be"),
    (("trpo",), ["--backtrack_iters", "0"], "--backtrack_iters must be an int >= 1"),
    (("trpo",), ["--damping_coeff", "-0.1"], "--damping_coeff must be a number >= 0"),
    (("trpo",), ["--algo", "ppo"], "--algo must be 'trpo' or 'npg'"),
    (OFF_POLICY, ["--batch_size", "0"], "--batch_size must be an int >= 1"),
    (OFF_POLICY, ["--replay_size", "0"], "--replay_size must be an int >= 1"),
    (OFF_POLICY, ["--replay_size", "50"], "--replay_size (50) must be at least --batch_size (100)"),
    (OFF_POLICY, ["--polyak", "1.5"], "--polyak must be a number from 0 to 1"),
    (OFF_POLICY, ["--start_steps", "-1"], "--start_steps must be an int >= 0"),
    (OFF_POLICY, ["--update_after", "-1"], "--update_after must be an int >= 0"),
    (OFF_POLICY, ["--update_every", "0"], "--update_every must be an int >= 1"),
    (OFF_POLICY, ["--num_test_episodes", "-1"], "--num_test_episodes must be an int >= 0"),
    (("td3",), ["--pi_lr", "0"], "--pi_lr must be a number > 0"),
    (("ddpg",), ["--pi_lr", "-0.001"], "--pi_lr must be a number >= 0"),  # 0: a fixed policy, evaluated
    (("ddpg", "td3"), ["--q_lr", "0"], "--q_lr must be a number > 0"),
    (("ddpg", "td3"), ["--act_noise", "-0.1"], "--act_noise must be a number >= 0"),
    (("td3",), ["--policy_delay", "0"], "--policy_delay must be an int >= 1"),
    (("td3",), ["--target_noise", "-1"], "--target_noise must be a number >= 0"),
    (("td3",), ["--noise_clip", "-1"], "--noise_clip must be a number >= 0"),
    (("sac",), ["--lr", "0"], "--lr must be a number > 0"),
    (("sac",), ["--alpha", "-0.2"], "--alpha must be a number >= 0"),
    (("vpg",), ["--steps_per_epoch", "3", "--cpu", "4"], "at least the number of processes (4)"),
    (("vpg",), ["--env", "Hopper-v3"], "use Hopper-v5"),
    (("vpg",), ["--env", "phys2d/CartPole-v1"], 'pip install "gymnasium[jax]", or use CartPole-v1'),
]
CASES = [pytest.param(name, flags, fragment, id=f"{name}{''.join(flags)}")
         for algos, flags, fragment in BAD for name in algos]


@pytest.mark.parametrize("name, flags, fragment", CASES)
def test_bad_values_are_one_line_errors_before_anything(tmp_path, name, flags, fragment):
    env = [] if "--env" in flags else ["--env", ENV_OF[name]]
    with pytest.raises(UserError) as error:
        build_grid(name, [*env, *flags, "--data_dir", str(tmp_path / "data")])
    message = str(error.value)
    assert "\n" not in message and fragment in message, message
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("flags, fragment", [
    (["vpg", "--env", "CartPole-v1", "--epochs", "0"], "--epochs"),          # used to leave an empty run folder
    (["vpg", "--env", "CartPole-v1", "--save_freq", "0"], "--save_freq"),    # used to divide by zero after an epoch
    (["ddpg", "--env", "Pendulum-v1", "--batch_size", "0"], "--batch_size"),  # used to train on NaN
    (["sac", "--env", "Hopper-v3"], "Hopper-v5"),
    (["ppo", "--env", "phys2d/CartPole-v1"], "jax"),
])
def test_bad_values_end_to_end(tmp_path, flags, fragment):
    data = tmp_path / "data"
    result = subprocess.run([sys.executable, "-m", "spinup_lib.run", *flags, "--steps_per_epoch", "100"],
                            env=dict(os.environ, SPINUP_DATA_DIR=str(data)), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], result.stderr
    assert not data.exists()


def never_called():
    raise AssertionError("the env was built before the arguments were checked")


@pytest.mark.parametrize("name, bad", [
    ("vpg", dict(epochs=0)),
    ("vpg", dict(seed=-1)),
    ("ppo", dict(save_freq=0)),
    ("ppo", dict(gamma=float("nan"))),
    ("trpo", dict(delta=0.0)),
    ("trpo", dict(algo="npg", cg_iters=0)),
    ("ddpg", dict(batch_size=0)),
    ("td3", dict(replay_size=10, batch_size=20)),
    ("sac", dict(lr=-1.0)),
    ("sac", dict(epochs=True)),  # a bool is not a number of epochs
])
def test_algorithms_check_their_arguments_when_called_from_python(tmp_path, name, bad):
    output_dir = tmp_path / "run"
    with pytest.raises(UserError) as error:
        ALGOS[name](never_called, logger_kwargs=dict(output_dir=str(output_dir)), **bad)
    assert "\n" not in str(error.value)
    assert not output_dir.exists()  # checked before the logger made a folder


@pytest.mark.parametrize("name", ALGOS)
def test_every_default_is_in_range(name):
    parameters = inspect.signature(ALGOS[name]).parameters
    arguments = {k: p.default for k, p in parameters.items() if p.default is not inspect.Parameter.empty}
    check_arguments(name, dict(arguments, env_fn=make_env_fn(ENV_OF[name])), num_procs=1)


def test_edge_values_that_mean_something_are_allowed():
    check_arguments("trpo", dict(train_v_iters=0, gamma=0.0, lam=1.0, damping_coeff=0.0))
    check_arguments("sac", dict(start_steps=0, update_after=0, num_test_episodes=0, alpha=0.0, polyak=1.0,
                                replay_size=100, batch_size=100))
    check_arguments("ppo", dict(seed=MAX_SEED, gamma=1))


def test_trpo_runs_with_train_v_iters_zero(tmp_path):
    # An exercise compares TRPO with and without value-function fitting.
    trpo(make_env_fn("CartPole-v1"), steps_per_epoch=100, epochs=1, train_v_iters=0,
         logger_kwargs=dict(output_dir=str(tmp_path)))
    assert len((tmp_path / "progress.txt").read_text().strip().splitlines()) == 2


@pytest.mark.parametrize("env_id, fragment", [
    ("Hopper-v3", "old version"),
    ("HalfCheetah-v2", "use HalfCheetah-v5"),
    ("phys2d/CartPole-v1", "jax"),
    ("tabular/Blackjack-v0", "jax"),
    ("GymV26Environment-v0", "shimmy"),
    ("Hoper-v5", "did you mean Hopper-v5"),
])
def test_env_ids_that_cannot_be_made_say_what_to_do(env_id, fragment):
    with pytest.raises(UserError) as error:
        check_env_id(env_id)
    assert fragment in str(error.value) and "\n" not in str(error.value)
