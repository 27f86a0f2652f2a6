"""Input is data, never code; names stay inside the data directory (issue 11, items 2 and 3).

Each probe below used to run code or write outside the data directory:
``--act tempfile.mkdtemp``, ``--act builtins.input`` and ``--actor_critic builtins.print`` were
called while the networks were built, ``--seed this.s`` and ``--act evilmod.X`` imported (and so
ran) modules, a crafted ``model.pt`` made test_policy import and call what it named, and
``--exp_name ..`` wrote beside the data directory. Most probes are checked in-process through
the command line's own parsing (:func:`spinup_lib.run.build_grid`); a few run end to end.
"""
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from spinup_lib import run_utils
from spinup_lib.core import MLPActorCritic
from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.logx import Logger
from spinup_lib.run import build_grid
from spinup_lib.test_policy import load_policy_and_env

ENV = ["--env", "CartPole-v1"]

# A module that leaves a mark when imported: importing it is running it.
EVIL_MODULE = """
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "IMPORTED"), "w").close()

import torch


class X(torch.nn.ReLU):
    pass


class Evil(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
"""

# A module of the user's own, with an actor-critic and an activation (for --allow_module).
MY_NETS = """
import torch

from spinup_lib.core import MLPActorCritic


class MyActorCritic(MLPActorCritic):
    pass


class Swish(torch.nn.SiLU):
    pass
"""


def one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.fixture
def evil_dir(tmp_path, monkeypatch):
    """A working directory holding evilmod.py, first on sys.path as with `python -m`."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "evilmod.py").write_text(EVIL_MODULE)
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "evilmod", raising=False)
    yield folder
    sys.modules.pop("evilmod", None)


@pytest.fixture
def my_nets(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_nets.py").write_text(MY_NETS)
    monkeypatch.syspath_prepend(str(folder))
    yield "my_nets"
    sys.modules.pop("my_nets", None)


@pytest.fixture
def nothing_may_be_called(monkeypatch):
    """Fail the test if a probe's function is ever called."""
    import builtins

    def called(*args, **kwargs):
        raise AssertionError("a function named on the command line was called")

    monkeypatch.setattr(tempfile, "mkdtemp", called)
    monkeypatch.setattr(builtins, "input", called)


# ----------------------------------------------------------------------------------------------
# Dotted names on the command line
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, fragments", [
    (["--act", "tempfile.mkdtemp"], ["--act", "activation class", "torch.nn.ReLU", "--allow_module"]),
    (["--act", "builtins.input"], ["--act", "activation class"]),
    (["--actor_critic", "builtins.print"], ["--actor_critic", "actor-critic class", "spinup_lib"]),
    (["--act", "evilmod.X"], ["--act", "activation class"]),
    (["--actor_critic", "evilmod.Evil"], ["--actor_critic", "--allow_module"]),
    (["--seed", "this.s"], ["--seed", "an int", "this.s"]),
    (["--ac_kwargs", "{'activation':'tempfile.mkdtemp'}"], ["--ac_kwargs:activation", "activation class"]),
    (["--act", "torch.nn.Linear"], ["--act", "without arguments"]),        # a layer, not an activation
    (["--act", "torch.nn.functional.relu"], ["--act", "activation class"]),  # a function, not a class
    (["--actor_critic", "torch.nn.ReLU"], ["--actor_critic", "spinup_lib"]),  # a module, not an actor-critic
])
def test_dotted_names_are_only_what_the_flag_takes(evil_dir, nothing_may_be_called, flags, fragments):
    sys.modules.pop("this", None)
    with pytest.raises(UserError) as error:
        build_grid("vpg", [*ENV, *flags, "--data_dir", str(evil_dir / "data")])
    message = one_line(error)
    for fragment in fragments:
        assert fragment in message, message
    assert "evilmod" not in sys.modules and not (evil_dir / "IMPORTED").exists()
    assert "this" not in sys.modules  # `import this` prints the Zen of Python: it must not happen
    assert not (evil_dir / "data").exists()


def test_parse_value_imports_nothing_outside_the_trusted_modules(evil_dir):
    for text in ["evilmod.X", "this.s", "tempfile.mkdtemp", "builtins.print"]:
        assert run_utils.parse_value(text) == text
    assert "evilmod" not in sys.modules and not (evil_dir / "IMPORTED").exists()


def test_allow_module_opts_in_to_your_own_classes(tmp_path, my_nets):
    args = [*ENV, "--actor_critic", "my_nets.MyActorCritic", "--act", "my_nets.Swish",
            "--data_dir", str(tmp_path / "data")]
    with pytest.raises(UserError, match="--allow_module"):
        build_grid("vpg", args)
    assert "my_nets" not in sys.modules  # refused without being imported

    _, grid, _ = build_grid("vpg", [*args, "--allow_module", my_nets])
    (variant,) = grid.variants()
    module = sys.modules["my_nets"]
    assert variant["actor_critic"] is module.MyActorCritic
    assert variant["ac_kwargs"]["activation"] is module.Swish
    # Still only classes of the right kind, also from an allowed module.
    with pytest.raises(UserError, match="--act"):
        build_grid("vpg", [*ENV, "--act", "my_nets.MLPActorCritic", "--allow_module", my_nets,
                           "--data_dir", str(tmp_path / "data")])


def test_the_usual_dotted_names_still_work(tmp_path):
    _, grid, _ = build_grid("ppo", [*ENV, "--act", "torch.nn.ReLU", "nn.Tanh",
                                    "--actor_critic", "spinup_lib.core.MLPActorCritic",
                                    "--data_dir", str(tmp_path)])
    activations = [v["ac_kwargs"]["activation"] for v in grid.variants()]
    assert activations == [torch.nn.ReLU, torch.nn.Tanh]
    assert grid.variants()[0]["actor_critic"] is MLPActorCritic


@pytest.mark.parametrize("cpu", ["0", "-1", "1000", "1.5", "many"])
def test_cpu_is_bounded(tmp_path, cpu):
    with pytest.raises(UserError) as error:
        build_grid("vpg", [*ENV, "--cpu", cpu, "--data_dir", str(tmp_path)])
    assert "--cpu" in one_line(error)
    assert run_utils.resolve_num_cpu(2) == 2
    assert run_utils.resolve_num_cpu("auto") == os.cpu_count()


def run_cli(*args, cwd, data_dir, timeout=120):
    env = dict(os.environ, SPINUP_DATA_DIR=str(data_dir), SPINUP_WAIT_BEFORE_LAUNCH="0")
    return subprocess.run([sys.executable, "-m", "spinup_lib.run", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(result):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("flags", [["--act", "evilmod.X"], ["--seed", "this.s"], ["--act", "tempfile.mkdtemp"]])
def test_probes_end_to_end(tmp_path, flags):
    # `python -m` puts the working directory first on sys.path: evilmod.py there used to be imported.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "evilmod.py").write_text(EVIL_MODULE)
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "spinup_lib.run", "vpg", *ENV, *flags, "--epochs", "1", "--steps_per_epoch", "100"],
        env=dict(os.environ, SPINUP_DATA_DIR=str(tmp_path / "data"), TMPDIR=str(temp)), cwd=cwd,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert_one_line_error(result)
    assert not (cwd / "IMPORTED").exists()
    assert "Zen of Python" not in result.stdout and "Beautiful is better" not in result.stdout
    assert not list(temp.iterdir())  # tempfile.mkdtemp was never called
    assert not (tmp_path / "data").exists()


# ----------------------------------------------------------------------------------------------
# Experiment names stay inside the data directory
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, fragment", [
    ("..", "folder reference"),
    (".", "folder reference"),
    ("../x", "'/'"),
    ("a/../../x", "'/'"),
    ("/tmp/absolute", "'/'"),
    ("C:\\Users\\x", "':'"),
    ("a" * 300, "300 characters"),
    ("tab\there", "'\\t'"),
    ("", "non-empty"),
])
def test_exp_names_that_leave_the_data_directory_are_refused(tmp_path, name, fragment):
    data = tmp_path / "inner" / "data"
    with pytest.raises(UserError) as error:
        run_utils.setup_logger_kwargs(name, 0, data_dir=str(data))
    assert fragment in one_line(error) and "--exp_name" in one_line(error)
    with pytest.raises(UserError, match="--exp_name"):
        build_grid("vpg", [*ENV, "--exp_name", name, "--data_dir", str(data)])
    assert not (tmp_path / "inner").exists()


def test_a_long_grid_name_is_refused_too(tmp_path):
    grid = run_utils.ExperimentGrid("g" * 190)
    grid.add("env_name", "CartPole-v1")
    grid.add("gamma", [0.9, 0.99], "discount")
    with pytest.raises(UserError, match="characters long"):
        grid.check_output_dirs(data_dir=str(tmp_path))


def test_ordinary_names_are_accepted(tmp_path):
    for name in ["ppo_cartpole", "run-1.5", "2024", "x" * 200]:
        output_dir = run_utils.setup_logger_kwargs(name, 3, data_dir=str(tmp_path), datestamp=True)["output_dir"]
        assert os.path.dirname(os.path.dirname(output_dir)) == str(tmp_path)
        assert len(os.path.basename(output_dir).encode()) <= 255


def test_exp_name_dot_dot_end_to_end(tmp_path):
    data = tmp_path / "data"
    result = run_cli("vpg", *ENV, "--exp_name", "..", "--epochs", "1", "--steps_per_epoch", "100",
                     cwd=tmp_path, data_dir=data)
    assert "--exp_name" in assert_one_line_error(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# Saved agents: model.pt is data
# ----------------------------------------------------------------------------------------------
def save_agent(run_dir):
    env = make_env_fn("CartPole-v1")()
    ac = MLPActorCritic(env.observation_space, env.action_space, hidden_sizes=(8,), activation=torch.nn.Tanh)
    logger = Logger(output_dir=str(run_dir))
    logger.setup_pytorch_saver(ac, dict(hidden_sizes=(8,), activation=torch.nn.Tanh), env)
    logger.save_state()
    logger.close()
    env.close()
    return run_dir / "pyt_save" / "model.pt"


def craft(model_path, **changes):
    saved = torch.load(model_path, weights_only=True)
    for key, value in changes.items():
        if key == "activation":
            saved["ac_kwargs"]["activation"] = value
        elif key == "env_entry_point":
            saved["env_spec"] = saved["env_spec"].replace(
                '"gymnasium.envs.classic_control.cartpole:CartPoleEnv"', f'"{value}"', 1)
        elif key == "wrapper":
            saved["env_spec"] = saved["env_spec"].replace(
                '"additional_wrappers": []',
                f'"additional_wrappers": [{{"name": "W", "entry_point": "{value}", "kwargs": {{}}}}]', 1)
        else:
            saved[key] = value
    torch.save(saved, model_path)


@pytest.mark.parametrize("changes, fragment", [
    (dict(ac_class="evilmod.Evil"), "outside the modules allowed"),
    (dict(ac_class="os.system"), "outside the modules allowed"),
    (dict(ac_class="builtins.print"), "outside the modules allowed"),
    (dict(ac_class="spinup_lib.core.discounted_cumsum"), "not a subclass of torch.nn.Module"),
    (dict(ac_class="spinup_lib.core.OnPolicyBuffer"), "not a subclass of torch.nn.Module"),
    (dict(activation="tempfile.mkdtemp"), "--allow_module"),
    (dict(activation="evilmod.X"), "--allow_module"),
    (dict(activation="torch.nn.functional.relu"), "not a subclass of torch.nn.Module"),
    (dict(env_entry_point="os:getcwd"), "entry point"),
    (dict(wrapper="os:system"), "wrapper"),
    (dict(ac_kwargs=["not", "a", "dict"]), "not a dict"),
])
def test_a_crafted_saved_agent_runs_nothing(tmp_path, evil_dir, nothing_may_be_called, monkeypatch, changes, fragment):
    model_path = save_agent(tmp_path / "run")
    craft(model_path, **changes)
    getcwd_calls = []
    monkeypatch.setattr(os, "getcwd", lambda: getcwd_calls.append(1) or str(evil_dir))
    with pytest.raises(UserError) as error:
        load_policy_and_env(str(tmp_path / "run"))
    assert fragment in one_line(error), one_line(error)
    assert "evilmod" not in sys.modules and not (evil_dir / "IMPORTED").exists()
    assert not getcwd_calls


def test_a_saved_agent_of_your_own_class_needs_allow_modules(tmp_path, my_nets):
    model_path = save_agent(tmp_path / "run")
    craft(model_path, ac_class="my_nets.MyActorCritic", activation="my_nets.Swish")
    with pytest.raises(UserError, match="outside the modules allowed"):
        load_policy_and_env(str(tmp_path / "run"))
    assert "my_nets" not in sys.modules
    env, get_action = load_policy_and_env(str(tmp_path / "run"), allow_modules=[my_nets])
    obs, _ = env.reset(seed=0)
    assert env.action_space.contains(get_action(obs))
    env.close()


def test_a_crafted_saved_agent_end_to_end(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "evilmod.py").write_text(EVIL_MODULE)
    model_path = save_agent(tmp_path / "run")
    craft(model_path, ac_class="evilmod.Evil")
    result = run_cli("test_policy", tmp_path / "run", "-n", "1", "-nr", cwd=cwd, data_dir=tmp_path / "data")
    assert "outside the modules allowed" in assert_one_line_error(result)
    assert not (cwd / "IMPORTED").exists()
