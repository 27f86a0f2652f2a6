"""Tests of spinup_lib.run_utils: directory naming, grids, safe value parsing, fresh processes."""
import json
import os
import os.path as osp
import re

import pytest

from spinup_lib import run_files, run_utils
from spinup_lib.errors import UserError
from spinup_lib.run_utils import (
    ExperimentFailed,
    ExperimentGrid,
    call_experiment,
    default_shorthand,
    parse_value,
    path_safe_name,
    setup_logger_kwargs,
)


# ----------------------------------------------------------------------------------------------
# Thunks run by call_experiment in a child process. They live in this (importable) module: the
# child gets the parent's sys.path, so cloudpickle sends them by reference. The child imports
# this module, so torch is imported only inside the tests that need it (it is slow to import).
# ----------------------------------------------------------------------------------------------
def record_call(seed, logger_kwargs, marker="", env_fn=None, **others):
    """Write what the child process received into its output directory."""
    os.makedirs(logger_kwargs["output_dir"], exist_ok=True)
    record = dict(pid=os.getpid(), seed=seed, marker=marker, exp_name=logger_kwargs["exp_name"],
                  env_id=getattr(env_fn, "env_id", None), others=sorted(others))
    with open(osp.join(logger_kwargs["output_dir"], "call.json"), "w") as f:
        json.dump(record, f)


def raise_user_error(seed, logger_kwargs):
    raise UserError("the thunk refused: fix the thing")


def crash(seed, logger_kwargs):
    raise RuntimeError("a bug in the thunk")


def record_rank(seed, logger_kwargs):
    """Write one file per MPI process."""
    from spinup_lib.mpi import num_procs, proc_id

    os.makedirs(logger_kwargs["output_dir"], exist_ok=True)
    with open(osp.join(logger_kwargs["output_dir"], f"rank{proc_id()}.json"), "w") as f:
        json.dump(dict(pid=os.getpid(), rank=proc_id(), size=num_procs()), f)


def read_call(output_dir):
    with open(osp.join(output_dir, "call.json")) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------
# setup_logger_kwargs
# ----------------------------------------------------------------------------------------------
def test_logger_kwargs_without_seed_is_data_dir_slash_name(tmp_path):
    kwargs = setup_logger_kwargs("exp", data_dir=str(tmp_path))
    assert kwargs == dict(output_dir=osp.join(str(tmp_path), "exp"), exp_name="exp")


def test_logger_kwargs_with_seed_nests_a_seed_folder(tmp_path):
    kwargs = setup_logger_kwargs("exp", seed=7, data_dir=str(tmp_path))
    assert kwargs["output_dir"] == osp.join(str(tmp_path), "exp", "exp_s7")


def test_logger_kwargs_datestamp_format(tmp_path):
    out = setup_logger_kwargs("exp", seed=3, data_dir=str(tmp_path), datestamp=True)["output_dir"]
    outer, inner = osp.relpath(out, str(tmp_path)).split(os.sep)
    outer_match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})_exp", outer)
    inner_match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})_\d{2}-\d{2}-\d{2}-exp_s3", inner)
    assert outer_match and inner_match
    assert outer_match.group(1) == inner_match.group(1)


def test_logger_kwargs_datestamp_without_seed(tmp_path):
    out = setup_logger_kwargs("exp", data_dir=str(tmp_path), datestamp=True)["output_dir"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_exp", osp.relpath(out, str(tmp_path)))


def test_force_datestamp(tmp_path, monkeypatch):
    monkeypatch.setattr(run_utils, "FORCE_DATESTAMP", True)
    out = setup_logger_kwargs("exp", seed=0, data_dir=str(tmp_path))["output_dir"]
    assert re.search(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-exp_s0$", out)


def test_default_data_dir_follows_the_environment_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "a"))
    assert run_utils.DEFAULT_DATA_DIR == str(tmp_path / "a")
    assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "a" / "exp")
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "b"))
    assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "b" / "exp")


def test_default_data_dir_is_data_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SPINUP_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "data" / "exp")


def test_assigned_default_data_dir_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path / "env"))
    # setitem on the module's namespace: undoing it deletes the assignment again.
    monkeypatch.setitem(vars(run_files), "DEFAULT_DATA_DIR", str(tmp_path / "assigned"))
    assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "assigned" / "exp")


def test_one_data_dir_default_for_the_logger_and_the_launcher(tmp_path, monkeypatch):
    from spinup_lib.logx import Logger

    # `~` is expanded, for the logger's own default folder as for setup_logger_kwargs.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPINUP_DATA_DIR", "~/runs")
    assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "home" / "runs" / "exp")
    assert os.path.dirname(Logger().output_dir) == str(tmp_path / "home" / "runs" / "tmp" / "experiments")
    # The documented override, assigned on run_utils, holds for both, until it is deleted.
    run_utils.DEFAULT_DATA_DIR = str(tmp_path / "assigned")
    try:
        assert setup_logger_kwargs("exp")["output_dir"] == str(tmp_path / "assigned" / "exp")
        assert os.path.dirname(Logger().output_dir) == str(tmp_path / "assigned" / "tmp" / "experiments")
    finally:
        del run_utils.DEFAULT_DATA_DIR
    assert run_utils.DEFAULT_DATA_DIR == str(tmp_path / "home" / "runs")


def test_wait_before_launch_reads_the_environment(monkeypatch):
    monkeypatch.setenv("SPINUP_WAIT_BEFORE_LAUNCH", "2.5")
    assert run_utils.WAIT_BEFORE_LAUNCH == 2.5
    monkeypatch.delenv("SPINUP_WAIT_BEFORE_LAUNCH")
    assert run_utils.WAIT_BEFORE_LAUNCH == 0
    monkeypatch.setenv("SPINUP_WAIT_BEFORE_LAUNCH", "soon")
    with pytest.raises(UserError, match="SPINUP_WAIT_BEFORE_LAUNCH"):
        run_utils.wait_before_launch()


# ----------------------------------------------------------------------------------------------
# Names of runs in a grid
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, shorthand", [
    ("clip_ratio", "cli"),
    ("ac_kwargs:hidden_sizes", "ac-hid"),
    ("ac_kwargs:activation", "ac-act"),
    ("pi_lr", "pi"),  # first three characters, then alphanumerics only
    ("a:b__c:defg", "a-b-def"),
])
def test_default_shorthand(key, shorthand):
    assert default_shorthand(key) == shorthand


@pytest.mark.parametrize("value, text", [
    (0.1, "0-1"),
    ([64, 32], "64-32"),
    ((32,), "32"),
    ("CartPole-v1", "cartpole-v1"),
    ("a/b c", "a-b-c"),
    ("keep_under", "keep_under"),
    (path_safe_name, "path_safe_name"),
    (None, "none"),
])
def test_path_safe_name(value, text):
    assert path_safe_name(value) == text


def test_path_safe_name_uses_the_name_of_classes():
    import torch

    assert path_safe_name(torch.nn.ReLU) == "relu"
    assert path_safe_name([torch.nn.ReLU, torch.nn.Tanh]) == "relu-tanh"


def names_of(grid):
    return [grid.variant_name(v) for v in grid.variants()]


def test_only_parameters_with_several_values_appear_in_names():
    grid = ExperimentGrid("exp")
    grid.add("clip_ratio", [0.1, 0.2])
    grid.add("epochs", 10)
    assert names_of(grid) == ["exp_cli0-1", "exp_cli0-2"]


def test_in_name_forces_a_single_value_into_the_name():
    grid = ExperimentGrid("exp")
    grid.add("env_name", "CartPole-v1", "", in_name=True)
    grid.add("epochs", 10, in_name=True)
    assert names_of(grid) == ["exp_cartpole-v1_epo10"]


def test_user_shorthands_and_nested_keys_match_the_documented_example():
    # The original docs' example: ddpg --hid[h] [300] [128,128] --act tanh relu
    import torch

    grid = ExperimentGrid("ddpg")
    grid.add("ac_kwargs:hidden_sizes", [[300], [128, 128]], "h")
    grid.add("ac_kwargs:activation", [torch.nn.Tanh, torch.nn.ReLU])
    assert sorted(names_of(grid)) == [
        "ddpg_h128-128_ac-actrelu", "ddpg_h128-128_ac-acttanh",
        "ddpg_h300_ac-actrelu", "ddpg_h300_ac-acttanh"]


def test_booleans_appear_only_when_true():
    grid = ExperimentGrid("exp")
    grid.add("normalize", [True, False])
    assert names_of(grid) == ["exp_nor", "exp"]


def test_seed_never_appears_and_counts_in_the_grid_size():
    grid = ExperimentGrid("exp")
    grid.add("seed", [0, 10, 20])
    grid.add("lr", [1e-3, 1e-4], "lr")
    grid.add("steps", [1, 2], in_name=True)
    variants = grid.variants()
    assert len(variants) == 3 * 2 * 2
    assert sorted({v["seed"] for v in variants}) == [0, 10, 20]
    names = {grid.variant_name(v) for v in variants}
    assert names == {"exp_lr0-001_ste1", "exp_lr0-001_ste2", "exp_lr0-0001_ste1", "exp_lr0-0001_ste2"}


def test_empty_shorthand_gives_the_bare_value_and_no_name_gives_no_leading_underscore():
    grid = ExperimentGrid()
    grid.add("env_name", ["Hopper-v5", "Walker2d-v5"], "")
    assert names_of(grid) == ["hopper-v5", "walker2d-v5"]


def test_without_default_shorthand_the_whole_key_is_used(monkeypatch):
    monkeypatch.setattr(run_utils, "DEFAULT_SHORTHAND", False)
    grid = ExperimentGrid("exp")
    grid.add("ac_kwargs:hidden_sizes", [[8], [16]])
    grid.add("clip_ratio", [0.1, 0.3])
    assert names_of(grid)[0] == "exp_ac_kwargs-hidden_sizes8_clip_ratio0-1"


def test_deleting_an_assigned_switch_returns_it_to_its_default(tmp_path):
    # The module docstring's promise: assigned, then deleted, a setting is back to its default and
    # the grid and the naming go on working (they read the settings at every use).
    run_utils.DEFAULT_SHORTHAND = False
    run_utils.FORCE_DATESTAMP = True
    try:
        grid = ExperimentGrid("exp")
        grid.add("clip_ratio", [0.1, 0.3])
        assert names_of(grid)[0] == "exp_clip_ratio0-1"
    finally:
        del run_utils.DEFAULT_SHORTHAND
        del run_utils.FORCE_DATESTAMP
    assert run_utils.DEFAULT_SHORTHAND is True and run_utils.FORCE_DATESTAMP is False
    grid = ExperimentGrid("exp")
    grid.add("clip_ratio", [0.1, 0.3])
    assert names_of(grid)[0] == "exp_cli0-1"
    assert setup_logger_kwargs("exp", seed=0, data_dir=str(tmp_path))["output_dir"] == str(tmp_path / "exp" / "exp_s0")
    del run_utils.DEFAULT_SHORTHAND  # never assigned now: nothing to undo, no error
    assert run_utils.DEFAULT_SHORTHAND is True


def test_variants_build_nested_dicts_in_order():
    import torch

    grid = ExperimentGrid("exp")
    grid.add("ac_kwargs:hidden_sizes", [(8,), (16,)])
    grid.add("ac_kwargs:activation", torch.nn.ReLU)
    grid.add("a:b:c", [1, 2])
    variants = grid.variants()
    assert variants[0] == {"ac_kwargs": {"hidden_sizes": (8,), "activation": torch.nn.ReLU}, "a": {"b": {"c": 1}}}
    assert [v["ac_kwargs"]["hidden_sizes"] for v in variants] == [(8,), (8,), (16,), (16,)]
    assert [v["a"]["b"]["c"] for v in variants] == [1, 2, 1, 2]
    assert grid.variant_name(variants[-1]) == "exp_ac-hid16_a-b-c2"


def test_a_tuple_is_one_value_and_a_list_is_several():
    grid = ExperimentGrid("exp")
    grid.add("hid", (64, 64))
    assert len(grid.variants()) == 1
    grid.add("seed", [1, 2])
    assert len(grid.variants()) == 2


@pytest.mark.parametrize("bad", [
    lambda: ExperimentGrid(name=3),
    lambda: ExperimentGrid("x").add(5, [1]),
    lambda: ExperimentGrid("x").add("lr", [1], shorthand=2),
    lambda: ExperimentGrid("x").add("lr", []),
])
def test_grid_rejects_bad_input(bad):
    with pytest.raises(UserError):
        bad()


def test_a_key_added_twice_is_an_error():
    grid = ExperimentGrid("x")
    grid.add("lr", [1, 2])
    with pytest.raises(UserError, match="twice"):
        grid.add("lr", [3])


def test_a_dict_and_its_sub_key_cannot_both_be_set():
    import torch

    grid = ExperimentGrid("x")
    grid.add("ac_kwargs", dict(hidden_sizes=(4,)))
    with pytest.raises(UserError, match="same argument"):
        grid.add("ac_kwargs:activation", torch.nn.ReLU)


def test_print_counts_variants_with_and_without_seeds(capsys):
    grid = ExperimentGrid("exp")
    grid.add("seed", [0, 1, 2])
    grid.add("lr", [1, 2])
    grid.print()
    out = capsys.readouterr().out
    assert re.search(r"counting seeds:\s+6", out)
    assert re.search(r"not counting seeds:\s+2", out)


def test_output_dirs_follow_the_naming_rules(tmp_path):
    grid = ExperimentGrid("exp")
    grid.add("lr", [1, 2])
    grid.add("seed", [0, 5])
    dirs = grid.output_dirs(data_dir=str(tmp_path))
    assert dirs == [str(tmp_path / name / f"{name}_s{seed}")
                    for name, seed in [("exp_lr1", 0), ("exp_lr1", 5), ("exp_lr2", 0), ("exp_lr2", 5)]]


def test_check_output_dirs_refuses_an_existing_run_and_touches_nothing(tmp_path):
    grid = ExperimentGrid("exp")
    grid.add("seed", [0, 1])
    existing = tmp_path / "exp" / "exp_s1"
    existing.mkdir(parents=True)
    (existing / "progress.txt").write_text("Epoch\n0\n")
    with pytest.raises(UserError, match="already holds a run"):
        grid.check_output_dirs(data_dir=str(tmp_path))
    assert (existing / "progress.txt").read_text() == "Epoch\n0\n"
    assert not (tmp_path / "exp" / "exp_s0").exists()


def test_check_output_dirs_refuses_two_runs_in_one_directory(tmp_path):
    grid = ExperimentGrid("exp")
    grid.add("ac_kwargs:hidden_sizes", [[32, 32], (32, 32)], "h")
    with pytest.raises(UserError, match="both write to"):
        grid.check_output_dirs(data_dir=str(tmp_path))


# ----------------------------------------------------------------------------------------------
# parse_value
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("3", 3),
    ("-0.5", -0.5),
    ("1e-3", 1e-3),
    ("True", True),
    ("None", None),
    ("[64,64]", [64, 64]),
    ("(32,)", (32,)),
    ("{'a':1}", {"a": 1}),
    ("'quoted'", "quoted"),
])
def test_parse_value_reads_literals(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("text, module, name", [
    ("torch.nn.ReLU", "torch.nn", "ReLU"),
    ("nn.Tanh", "torch.nn", "Tanh"),
    ("torch.nn.functional.relu", "torch.nn.functional", "relu"),
])
def test_parse_value_resolves_dotted_names(text, module, name):
    import importlib

    assert parse_value(text) is getattr(importlib.import_module(module), name)


def test_parse_value_resolves_classes_of_this_library():
    from spinup_lib.core import MLPActorCritic

    assert parse_value("spinup_lib.core.MLPActorCritic") is MLPActorCritic


# Dotted names outside torch.nn and spinup_lib are text: their modules are not even imported.
@pytest.mark.parametrize("text", ["CartPole-v1", "auto", "hello", "some.unknown_module.thing", "a b",
                                  "os.path.join", "tempfile.mkdtemp", "builtins.input", "torch.Tensor"])
def test_parse_value_leaves_other_text_as_text(text):
    assert parse_value(text) == text


def test_parse_value_reports_a_typo_in_an_attribute_with_suggestions():
    with pytest.raises(UserError, match=r"torch\.nn\.ReLU"):
        parse_value("torch.nn.Relu")


@pytest.mark.parametrize("template", [
    "__import__('os').system('touch {path}')",
    "open('{path}', 'w').write('x')",
    "exec(\"open('{path}', 'w')\")",
])
def test_parse_value_never_runs_code(tmp_path, template):
    target = tmp_path / "pwned"
    text = template.format(path=target)
    assert parse_value(text) == text
    assert not target.exists()


# ----------------------------------------------------------------------------------------------
# call_experiment: a fresh process per run
# ----------------------------------------------------------------------------------------------
def test_call_experiment_runs_the_thunk_in_another_process(tmp_path, capsys):
    output_dir = call_experiment("fresh", record_call, seed=4, data_dir=str(tmp_path), marker="m")
    assert output_dir == str(tmp_path / "fresh" / "fresh_s4")
    record = read_call(output_dir)
    assert record["pid"] != os.getpid()
    assert (record["seed"], record["marker"], record["exp_name"]) == (4, "m", "fresh")
    out = capsys.readouterr().out
    assert "python -m spinup_lib.run plot " + output_dir in out
    assert "python -m spinup_lib.run test_policy " + output_dir in out


def test_call_experiment_turns_env_name_into_env_fn(tmp_path):
    output_dir = call_experiment("env", record_call, data_dir=str(tmp_path), env_name="CartPole-v1")
    record = read_call(output_dir)
    assert record["env_id"] == "CartPole-v1"
    assert "env_name" not in record["others"]


def test_call_experiment_rejects_an_unknown_env_before_launching(tmp_path):
    with pytest.raises(UserError, match="CartPole-v1"):
        call_experiment("env", record_call, data_dir=str(tmp_path), env_name="CartPole-v7")
    assert not (tmp_path / "env").exists()


def test_call_experiment_passes_on_a_user_error_from_the_child(tmp_path):
    with pytest.raises(UserError, match="^the thunk refused: fix the thing$"):
        call_experiment("refuse", raise_user_error, data_dir=str(tmp_path))


def test_call_experiment_reports_a_crash(tmp_path, capfd):
    with pytest.raises(ExperimentFailed) as info:
        call_experiment("crash", crash, data_dir=str(tmp_path))
    assert info.value.returncode != 0
    assert "crash" in str(info.value)
    assert "RuntimeError: a bug in the thunk" in capfd.readouterr().err


def test_call_experiment_refuses_an_existing_run(tmp_path):
    run_dir = tmp_path / "taken" / "taken_s0"
    run_dir.mkdir(parents=True)
    (run_dir / "progress.txt").write_text("old")
    with pytest.raises(UserError, match="already holds a run"):
        call_experiment("taken", record_call, data_dir=str(tmp_path))
    assert sorted(os.listdir(run_dir)) == ["progress.txt"]


@pytest.mark.parametrize("num_cpu", [0, -1, 1.5, "many", True])
def test_call_experiment_rejects_bad_num_cpu(tmp_path, num_cpu):
    with pytest.raises(UserError, match="num_cpu"):
        call_experiment("x", record_call, num_cpu=num_cpu, data_dir=str(tmp_path))


def test_grid_run_launches_every_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINUP_DATA_DIR", str(tmp_path))
    grid = ExperimentGrid("grid")
    grid.add("seed", 3)
    grid.add("marker", ["a", "b"], "m")
    grid.run(record_call)
    for marker in "ab":
        record = read_call(tmp_path / f"grid_m{marker}" / f"grid_m{marker}_s3")
        assert (record["seed"], record["marker"]) == (3, marker)


@pytest.mark.slow
def test_call_experiment_with_two_mpi_processes(tmp_path):
    output_dir = call_experiment("mpi", record_rank, num_cpu=2, data_dir=str(tmp_path))
    records = []
    for rank in (0, 1):
        with open(osp.join(output_dir, f"rank{rank}.json")) as f:
            records.append(json.load(f))
    assert [r["size"] for r in records] == [2, 2]
    assert len({r["pid"] for r in records} | {os.getpid()}) == 3
