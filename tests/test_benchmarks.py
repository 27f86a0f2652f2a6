"""The benchmark scripts' bookkeeping: the exercise pass bars, and the MuJoCo grid's commands and its
``--collect`` (copying runs into the repository without machine paths, then tables and plots).
The runs themselves are too long for CI; here they are small synthetic progress.txt files whose
scores we know. Cost: a few seconds (one subprocess)."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCHMARKS = osp.join(REPO, "benchmarks")
sys.path.insert(0, BENCHMARKS)

import exercise_bars  # noqa: E402
import mujoco_grid  # noqa: E402
from common import run_dir_of  # noqa: E402
from spinup_lib.errors import UserError  # noqa: E402
from spinup_lib.notebook.bench import read_grid  # noqa: E402


def progress(column, scores):
    return pd.DataFrame({column: scores})


@pytest.mark.parametrize("scores, met", [
    ([0, 0, 0, 0, 0, 400, 450, 500, 550, 600], False),   # last 5 average exactly 500: not above it
    ([0, 0, 0, 0, 0, 420, 450, 500, 550, 600], True),    # last 5 average 504 > 500
    ([900] * 5 + [100, 100, 100, 100, 1000], True),      # a 1000 among the last 5
    ([1000] * 5 + [100, 200, 300, 400, 500], False),     # a 1000, but not in the last 5; mean 300
])
def test_exercise_1_2_bar(scores, met):
    assert exercise_bars.ppo_bar(progress("AverageEpRet", scores)) is met


def test_exercise_1_3_bars():
    assert exercise_bars.final_above_300(progress("AverageTestEpRet", [50, 350, 301]))
    assert not exercise_bars.final_above_300(progress("AverageTestEpRet", [50, 350, 299]))
    assert exercise_bars.reaches_150(progress("AverageTestEpRet", [20, 150, 90]))
    assert not exercise_bars.reaches_150(progress("AverageTestEpRet", [20, 149, 90]))


def write_run(data_dir, algo, env, seed, scores, epochs_asked, partial_line=False):
    """A run as the library leaves it in the grid's data folder: progress.txt (tab-separated) and config.json,
    whose output_dir and any other path are absolute paths of this machine."""
    name = f"{algo}_{env}"
    run_dir = run_dir_of(name, seed, data_dir)
    os.makedirs(run_dir)
    column = "AverageEpRet" if algo == "ppo" else "AverageTestEpRet"
    epochs = np.arange(len(scores))
    text = pd.DataFrame({"Epoch": epochs, column: scores, "EpLen": 1000.0, "TotalEnvInteracts": (epochs + 1) * 4000,
                         "Time": (epochs + 1) * 10.0}).to_csv(sep="\t", index=False)
    with open(osp.join(run_dir, "progress.txt"), "w") as f:
        f.write(text + ("99\t1.0\t1000" if partial_line else ""))  # a row the logger is still writing
    with open(osp.join(run_dir, "config.json"), "w") as f:
        json.dump(dict(exp_name=name, seed=seed, epochs=epochs_asked,
                       logger_kwargs=dict(output_dir=run_dir, exp_name=name),
                       somewhere=[osp.expanduser("~/x.txt"), f"load('{data_dir}/a')", "/opt/elsewhere/b"]), f)


PLAN = dict(envs=["HalfCheetah-v5"], algos=["ppo", "sac"], seeds=[0, 1], steps_per_epoch=4000,
            epochs=dict(ppo={"HalfCheetah-v5": 6}, sac={"HalfCheetah-v5": 5}),
            idle_minutes_per_run=dict(ppo=1, sac=2))


def test_mujoco_grid_commands_are_the_grid_in_its_order():
    commands = mujoco_grid.grid_commands(mujoco_grid.read_plan(mujoco_grid.PLAN_FILE), "DIR", 2)
    assert [(algo, env) for algo, env, _ in commands][:7] == [
        (algo, "HalfCheetah-v5") for algo in ("ppo", "trpo", "vpg", "sac", "td3", "ddpg")] + [("ppo", "Hopper-v5")]
    assert " ".join(commands[3][2]) == ("python -m spinup_lib.run sac --env HalfCheetah-v5 --seed 0 1 2 --epochs 25 "
                                        "--steps_per_epoch 4000 --exp_name sac_HalfCheetah-v5 --data_dir DIR "
                                        "--num_workers 2")


def test_mujoco_grid_collect_copies_runs_without_machine_paths_and_rebuilds_results(tmp_path):
    data, results, plan_path = tmp_path / "data", tmp_path / "results", tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    write_run(str(data), "ppo", "HalfCheetah-v5", 0, [0, 100, 200, 300, 400, 500], epochs_asked=6)
    write_run(str(data), "ppo", "HalfCheetah-v5", 1, [0, 50, 100], epochs_asked=6, partial_line=True)
    write_run(str(data), "sac", "HalfCheetah-v5", 0, [1000, 2000, 3000, 4000, 5000], epochs_asked=5)
    (data / "mujoco_grid_launches.json").write_text(json.dumps(
        [dict(revision="abc123", commands=[f"python -m spinup_lib.run ppo --data_dir {data}"])]))

    done = subprocess.run([sys.executable, osp.join(BENCHMARKS, "mujoco_grid.py"), "--collect", "--data_dir",
                           str(data), "--results_dir", str(results), "--plan", str(plan_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    # progress.txt as logged, less the row still being written; the launch record's revision kept.
    kept = pd.read_table(results / "ppo_HalfCheetah-v5" / "s1" / "progress.txt")
    assert list(kept.AverageEpRet) == [0, 50, 100]
    assert json.loads((results / "launches.json").read_text())[0]["revision"] == "abc123"
    config = json.loads((results / "ppo_HalfCheetah-v5" / "s0" / "config.json").read_text())
    assert config["logger_kwargs"]["output_dir"] == "<data_dir>/ppo_HalfCheetah-v5/ppo_HalfCheetah-v5_s0"
    assert config["somewhere"] == ["<path removed>", "load('<data_dir>/a')", "<path removed>"]
    for path in results.rglob("*"):  # no path of this machine in anything committed
        if path.suffix in (".txt", ".json", ".csv"):
            text = path.read_text()
            assert str(tmp_path) not in text and osp.expanduser("~") not in text, path

    runs = pd.read_csv(results / "runs.csv").set_index(["algo", "seed"])
    assert runs.loc[("ppo", 0), "finished"] and not runs.loc[("ppo", 1), "finished"]
    assert runs.loc[("sac", 0), "final"] == 5000 and runs.loc[("sac", 0), "steps"] == 20000
    status = pd.read_csv(results / "status.csv", dtype=str).set_index("algo")
    assert status.loc["ppo", "under_way"] == "1 (3/6 epochs)" and status.loc["sac", "not_started"] == "1"
    assert (results / "curves_HalfCheetah-v5.png").exists()
    # Still to train: ppo s1 3 epochs and sac s1 5 epochs, at the 10 s per epoch their runs kept; td3
    # (2 seeds), never started, at the plan's 3 idle minutes per run.
    with_td3 = dict(PLAN, algos=["ppo", "sac", "td3"], epochs=dict(PLAN["epochs"], td3={"HalfCheetah-v5": 4}),
                    idle_minutes_per_run=dict(PLAN["idle_minutes_per_run"], td3=3))
    assert mujoco_grid.remaining_seconds(with_td3, read_grid(str(results))[0]) == (pytest.approx(80), 360)
    assert "about 0.0 h of training at the pace" in done.stdout

    # A shorter copy of a run never replaces the committed one.
    shutil.rmtree(run_dir_of("ppo_HalfCheetah-v5", 0, str(data)))
    write_run(str(data), "ppo", "HalfCheetah-v5", 0, [0, 100], epochs_asked=6)
    assert mujoco_grid.collect(PLAN, str(data), str(results)) == 0
    assert len(pd.read_table(results / "ppo_HalfCheetah-v5" / "s0" / "progress.txt")) == 6

    # The grid goes on from another data folder (another machine): its launch records are added to the
    # committed ones, which stay; collecting the same folder twice adds nothing.
    elsewhere = tmp_path / "elsewhere"
    write_run(str(elsewhere), "sac", "HalfCheetah-v5", 1, [1000, 2000, 3000, 4000, 5000], epochs_asked=5)
    (elsewhere / "mujoco_grid_launches.json").write_text(json.dumps(
        [dict(revision="abc123", commands=[f"python -m spinup_lib.run sac --data_dir {elsewhere}"])]))
    for _ in range(2):
        mujoco_grid.collect(PLAN, str(elsewhere), str(results))
    assert json.loads((results / "launches.json").read_text()) == [
        dict(revision="abc123", commands=["python -m spinup_lib.run ppo --data_dir <data_dir>"]),
        dict(revision="abc123", commands=["python -m spinup_lib.run sac --data_dir <data_dir>"])]


def test_mujoco_grid_collect_of_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        mujoco_grid.collect(PLAN, str(tmp_path / "absent"), str(tmp_path / "results"))


def test_the_committed_grid_results_hold_no_path_of_any_machine():
    checked = 0
    for root, _, files in os.walk(mujoco_grid.GRID_RESULTS):
        for name in files:
            if name.endswith((".txt", ".json", ".csv")):
                with open(osp.join(root, name), encoding="utf-8") as f:
                    found = mujoco_grid._ABSOLUTE.search(f.read())
                assert found is None, f"{osp.join(root, name)} holds the path {found.group()}"
                checked += 1
    assert checked >= 3  # the launch record and at least one run's progress.txt and config.json


# ----------------------------------------------------------------------------------------------
# Speed against a revision, and the learning comparison that a rounding change needs
# ----------------------------------------------------------------------------------------------
def test_compare_speed_takes_the_ratio_per_repetition_and_refuses_an_unknown_revision(tmp_path):
    import compare_speed

    rows = [dict(algo="sac", repeat=r, code=code, steps_per_s=speed, cpu_steps_per_s=speed)
            for r, (old, new) in enumerate([(70, 77), (80, 80), (60, 72)]) for code, speed in (("old", old), ("new", new))]
    summary = compare_speed.summarize(rows).set_index("algo").loc["sac"]
    assert summary["repeats"] == 3
    assert summary["ratio_median"] == pytest.approx(1.1)  # ratios 1.1, 1.0, 1.2: per repetition, not of medians
    assert (summary["ratio_min"], summary["ratio_max"]) == (pytest.approx(1.0), pytest.approx(1.2))
    with pytest.raises(UserError, match="not a revision"):
        compare_speed.export_revision("no-such-revision-xyz", str(tmp_path))


def test_learning_comparison_compares_old_and_new_seeds_at_equal_steps(tmp_path):
    import learning_comparison

    runs_dir = tmp_path / "runs"
    rng = np.random.default_rng(0)
    for code, shift in (("old", 0.0), ("new", 5.0)):
        for seed in (0, 1, 2):
            run = runs_dir / f"sac_{code}" / f"sac_{code}_s{seed}"
            run.mkdir(parents=True)
            epochs = 12 if code == "new" else 10  # the comparison stops where every run has reached
            steps = np.arange(1, epochs + 1) * 1000
            score = steps / 10 + shift + rng.normal(0, 20, epochs)
            pd.DataFrame({"TotalEnvInteracts": steps, "AverageTestEpRet": score}).to_csv(
                run / "progress.txt", sep="\t", index=False)
    out = tmp_path / "out"
    assert learning_comparison.collect(str(runs_dir), ["sac"], str(out)) == 6
    assert not list(out.rglob("*.json"))  # progress tables only: no config with machine paths
    per_epoch, summary = learning_comparison.compare(learning_comparison.load(str(out), "sac"))
    assert summary["steps"] == 10_000 and len(per_epoch) == 10
    assert summary["seeds_old"] == summary["seeds_new"] == 3
    assert summary["share_new_inside_old_range"] > 0.5  # a shift of 5 inside a spread of 20
    with pytest.raises(UserError, match="collect them first"):
        learning_comparison.load(str(out), "td3")


def test_mujoco_grid_does_not_train_again_a_run_committed_as_finished(tmp_path):
    # A fresh machine: an empty data folder, and the repository holding ppo seed 0 finished and seed 1 half done.
    data, results, plan_path = tmp_path / "data", tmp_path / "results", tmp_path / "plan.json"
    plan_path.write_text(json.dumps(PLAN))
    write_run(str(data), "ppo", "HalfCheetah-v5", 0, [0, 100, 200, 300, 400, 500], epochs_asked=6)
    write_run(str(data), "ppo", "HalfCheetah-v5", 1, [0, 50, 100], epochs_asked=6)
    assert mujoco_grid.collect(PLAN, str(data), str(results)) == 2
    shutil.rmtree(data)

    done = subprocess.run([sys.executable, osp.join(BENCHMARKS, "mujoco_grid.py"), "--dry_run", "--data_dir",
                           str(data), "--results_dir", str(results), "--plan", str(plan_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("python -m spinup_lib.run")]
    assert [" ".join(line.split()[3:8]) for line in commands] == [
        "ppo --env HalfCheetah-v5 --seed 1", "sac --env HalfCheetah-v5 --seed 0"]
    assert "--seed 0 1" in commands[1] and "1 run(s) committed as finished" in done.stdout
