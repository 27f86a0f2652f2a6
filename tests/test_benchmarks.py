"""The benchmark scripts' bookkeeping: the exercise pass bars, and how mujoco_runs.py scores and
reports a folder of runs (``--collect``). The runs themselves are too long for CI; here they are
small synthetic progress.txt files whose scores we know."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCHMARKS = osp.join(REPO, "benchmarks")
sys.path.insert(0, BENCHMARKS)

import exercise_bars  # noqa: E402
from common import run_dir_of  # noqa: E402


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


def write_run(invocation_dir, algo, env, seed, scores, steps_per_epoch=4000):
    """A finished run as the logger leaves it: progress.txt (tab-separated) and config.json."""
    name = f"{algo}_{env}"
    run_dir = run_dir_of(name, seed, invocation_dir)
    os.makedirs(run_dir)
    column = "AverageEpRet" if algo == "ppo" else "AverageTestEpRet"
    epochs = np.arange(len(scores))
    pd.DataFrame({"Epoch": epochs, column: scores, "TotalEnvInteracts": (epochs + 1) * steps_per_epoch,
                  "Time": (epochs + 1) * 10.0}).to_csv(osp.join(run_dir, "progress.txt"), sep="\t", index=False)
    with open(osp.join(run_dir, "config.json"), "w") as f:
        json.dump(dict(exp_name=name, seed=seed), f)


def collect(folder, results_dir):
    return subprocess.run([sys.executable, osp.join(BENCHMARKS, "mujoco_runs.py"), "--collect", str(folder),
                           "--results_dir", str(results_dir), "--algos", "sac", "ppo", "--envs", "HalfCheetah-v5"],
                          capture_output=True, text=True, cwd=REPO)


def test_mujoco_collect_scores_runs_and_keeps_the_invocation_record(tmp_path):
    folder, results = tmp_path / "mujoco_2026-01-01_00-00-00", tmp_path / "results"
    sac_scores = {0: [0, 100, 200, 300, 400, 500, 600], 1: [0, 100, 200, 300, 400, 500, 800]}
    for seed, scores in sac_scores.items():
        write_run(str(folder), "sac", "HalfCheetah-v5", seed, scores)
    write_run(str(folder), "ppo", "HalfCheetah-v5", 0, [10, 20, 30, 40, 50])
    plan = [dict(algo="sac", env="HalfCheetah-v5", seed=0, epochs=7, steps=28000, command="sac ...")]
    with open(folder / "plan.json", "w") as f:
        json.dump(dict(machine=dict(cpu_model="test cpu"), plan=plan, budget_minutes=12, jobs=2,
                       seeds=[0, 1], calibrated_steps_per_s={"sac HalfCheetah-v5": 150.0}), f)

    done = collect(folder, results)
    assert done.returncode == 0, done.stderr
    summary = pd.read_csv(results / "mujoco.csv").set_index("algo")
    sac = summary.loc["sac"]
    assert sac["seeds"] == 2 and sac["steps"] == 28000
    assert sac["final_mean"] == pytest.approx(700) and sac["final_std"] == pytest.approx(np.std([600, 800], ddof=1))
    assert sac["last5_mean"] == pytest.approx((400 + 440) / 2)  # mean(200..600) = 400, mean(200..800) = 440
    assert summary.loc["ppo", "final_mean"] == pytest.approx(50) and summary.loc["ppo", "last5_mean"] == pytest.approx(30)
    runs = pd.read_csv(results / "mujoco_runs.csv")
    assert set(runs["score_column"]) == {"AverageTestEpRet", "AverageEpRet"}
    assert (results / "mujoco_HalfCheetah-v5.png").exists()
    assert json.loads((results / "mujoco_plan.json").read_text()) == plan
    machine = json.loads((results / "mujoco_machine.json").read_text())
    assert machine["cpu_model"] == "test cpu" and machine["budget_minutes"] == 12 and machine["jobs"] == 2

    # Collecting again without plan.json keeps what the first report recorded of this folder.
    os.remove(folder / "plan.json")
    assert collect(folder, results).returncode == 0
    machine = json.loads((results / "mujoco_machine.json").read_text())
    assert machine["budget_minutes"] == 12 and machine["seeds"] == [0, 1]


def test_mujoco_collect_of_a_folder_without_runs_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    done = collect(tmp_path / "empty", tmp_path / "results")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: no finished run") and "\n" not in done.stderr.strip()
