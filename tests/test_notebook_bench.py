"""How chapter 13 and benchmarks/mujoco_grid.py read the committed grid runs and set them beside the
published curves (spinup_lib.notebook.bench), on small synthetic runs whose answers are known.
Cost: about a second (no training; one small plot)."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from spinup_lib.notebook import (bend_reading_error, compare_at_end, compare_at_published_steps,
                                 cut_window_shortfall, grid_run_dir, grid_status, last_episodes_mean,
                                 log_interval_of, original_half_window, plot_grid_env, read_grid, reference_at,
                                 reference_shape, smoothed_at, smoothed_curve, untrained_score, untrained_score_error,
                                 welch_interval, whole_window, whole_window_points)
from spinup_lib.plot import smooth_values

# A reference curve for each bend: PPO bends up (convex) between 100k and 200k, SAC bends down.
REFERENCE = pd.DataFrame(dict(env="HalfCheetah", algo=["ppo"] * 4 + ["sac"] * 4,
                              steps=[50_000, 100_000, 200_000, 300_000] * 2,
                              **{"return": [100, 200, 600, 1000, 1000, 2000, 2500, 2600]}))
REFERENCE_STD = pd.DataFrame(dict(env=["HalfCheetah"], algo=["ppo"], steps=[100_000], std=[50.0]))


def write_run(results_dir, algo, env, seed, scores, epochs_asked=None, ep_len=1000.0):
    """A committed run as benchmarks/mujoco_grid.py --collect leaves it (4000-step epochs)."""
    folder = grid_run_dir(str(results_dir), algo, env, seed)
    os.makedirs(folder)
    epochs = np.arange(len(scores))
    column = "AverageEpRet" if algo in ("vpg", "trpo", "ppo") else "AverageTestEpRet"
    pd.DataFrame({"Epoch": epochs, column: scores, "EpLen": ep_len, "TotalEnvInteracts": (epochs + 1) * 4000,
                  "Time": (epochs + 1) * 2.0}).to_csv(os.path.join(folder, "progress.txt"), sep="\t", index=False)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(exp_name=f"{algo}_{env}", seed=seed, epochs=epochs_asked or len(scores)), f)


def test_the_original_window_is_11_epochs_of_4000_steps_on_policy_and_of_10k_off_policy():
    assert original_half_window("ppo") == 20_000 and original_half_window("vpg") == 20_000
    assert original_half_window("sac") == 50_000 and original_half_window("ddpg") == 50_000


def test_on_policy_smoothing_is_the_plotting_tools_11_epoch_moving_average():
    scores = np.random.default_rng(0).normal(size=60).cumsum()
    steps = (np.arange(60) + 1) * 4000
    assert smoothed_curve(steps, scores, original_half_window("ppo")) == pytest.approx(smooth_values(scores, 11))


def test_smoothed_at_is_a_centred_mean_cut_at_the_run_end():
    steps, scores = np.arange(1, 11) * 10, np.arange(1, 11, dtype=float)  # score = step / 10
    assert smoothed_at(steps, scores, 50, 20) == (pytest.approx(5.0), True)       # 30..70
    value, full = smoothed_at(steps, scores, 100, 20)                            # 80..100 only
    assert value == pytest.approx(9.0) and not full
    assert np.isnan(smoothed_at(steps, scores, 500, 20)[0])


def test_reference_interpolation_and_the_way_it_errs():
    assert reference_at(REFERENCE, "HalfCheetah-v5", "ppo", 150_000) == pytest.approx(400)
    assert np.isnan(reference_at(REFERENCE, "HalfCheetah-v5", "trpo", 150_000))  # no published TRPO curve
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "ppo", 150_000) == "convex"
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "sac", 150_000) == "concave"
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "sac", 100_000) == "published"
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "sac", 70_000) == ""  # no stretch before


def test_grid_status_and_comparisons_count_finished_runs_only(tmp_path):
    flat = [0.0] * 12 + [210.0] * 38           # 50 epochs = 200k steps; 210 from 52k steps on
    write_run(tmp_path, "ppo", "HalfCheetah-v5", 0, flat)
    write_run(tmp_path, "ppo", "HalfCheetah-v5", 1, [x + 20 for x in flat])
    write_run(tmp_path, "ppo", "HalfCheetah-v5", 2, flat[:10], epochs_asked=50)   # under way
    runs, curves = read_grid(str(tmp_path))
    assert list(runs.finished) == [True, True, False] and list(runs.steps) == [200_000, 200_000, 40_000]
    assert len(curves) == 110

    plan = dict(envs=["HalfCheetah-v5"], algos=["ppo", "sac"], seeds=[0, 1, 2], steps_per_epoch=4000,
                epochs=dict(ppo={"HalfCheetah-v5": 50}, sac={"HalfCheetah-v5": 25}))
    status = grid_status(runs, plan).set_index("algo")
    assert status.loc["ppo", "finished"] == "0 1" and status.loc["ppo", "under_way"] == "2 (10/50 epochs)"
    assert status.loc["sac", "not_started"] == "0 1 2" and status.loc["sac", "steps_asked"] == 100_000

    table = compare_at_published_steps(runs, curves, REFERENCE, REFERENCE_STD).set_index("steps")
    assert list(table.index) == [50_000, 100_000, 200_000]       # the published steps the runs reach
    assert (table.seeds == 2).all()
    # At 100k the window 80k..120k holds 210 (seed 0) and 230 (seed 1) only: mean 220, std 14.1.
    assert table.loc[100_000, "ours"] == pytest.approx(220) and table.loc[100_000, "ours_std"] == pytest.approx(
        np.std([210, 230], ddof=1))
    assert table.loc[100_000, "original"] == 200 and table.loc[100_000, "original_std"] == 50
    assert table.loc[100_000, "ratio"] == pytest.approx(1.1) and table.loc[100_000, "difference"] == pytest.approx(20)
    assert table.loc[100_000, "full_window"]
    assert not table.loc[200_000, "full_window"]               # 200k is the runs' last step
    # R0: the first epochs score 0 and 20, mean 10; the original gained 190 over it by 100k, ours 210.
    assert untrained_score(runs, curves, "ppo", "HalfCheetah-v5") == pytest.approx(10)
    assert table.loc[100_000, "untrained"] == pytest.approx(10)
    assert table.loc[100_000, "gain_ratio"] == pytest.approx(210 / 190)
    # At 50k the window 30k..70k holds five epochs of 0 and five of 210 (+20 for seed 1): ours 115, original 100.
    assert table.loc[50_000, "gain_ratio"] == pytest.approx((115 - 10) / (100 - 10))
    # An original that gained no more over R0 than the error of reading it off the plot (15 on HalfCheetah) gives
    # no ratio: it would divide by noise.
    near = REFERENCE.assign(**{"return": np.where(REFERENCE.steps == 50_000, 24.0, REFERENCE["return"])})
    table = compare_at_published_steps(runs, curves, near, REFERENCE_STD).set_index("steps")
    assert np.isnan(table.loc[50_000, "gain_ratio"]) and table.loc[100_000, "gain_ratio"] == pytest.approx(210 / 190)
    # Nor one whose gain exceeds the reading error but not that plus twice R0's standard error over seeds
    # (first epochs 0 and 20: standard error 10; 15 + 2 x 10 = 35 > a gain of 30).
    assert untrained_score_error(runs, curves, "ppo", "HalfCheetah-v5") == pytest.approx(10)
    near = REFERENCE.assign(**{"return": np.where(REFERENCE.steps == 50_000, 40.0, REFERENCE["return"])})
    assert np.isnan(compare_at_published_steps(runs, curves, near, REFERENCE_STD).set_index("steps")
                    .loc[50_000, "gain_ratio"])

    end = compare_at_end(runs, curves, REFERENCE).iloc[0]
    assert end["steps"] == 200_000 and end["shape"] == "published" and end["final"] == pytest.approx(220)


def test_last_episodes_mean_weights_epochs_by_their_episodes():
    # Epochs of 4000 steps: 4 episodes of 1000 steps, or 40 of 100 steps.
    curve = pd.DataFrame(dict(score=[0.0, 10.0, 20.0, 30.0], ep_len=[1000.0, 100.0, 100.0, 100.0]))
    assert last_episodes_mean(curve, episodes=80) == pytest.approx(25.0)     # the last two epochs
    assert last_episodes_mean(curve, episodes=100) == pytest.approx(20.0)    # 40 + 40 + 40 episodes
    assert last_episodes_mean(curve.iloc[:1], episodes=100) == pytest.approx(0.0)  # all there is


def test_an_empty_grid_gives_empty_tables_that_filter_like_full_ones(tmp_path):
    runs, curves = read_grid(str(tmp_path))
    assert runs.empty and curves.empty
    assert runs[runs.finished].empty and list(runs[runs.finished].columns) == list(runs.columns)
    table = compare_at_published_steps(runs, curves, REFERENCE, REFERENCE_STD)
    assert table[table.full_window].empty and "original_std" in table[table.full_window].columns
    assert compare_at_end(runs, curves, REFERENCE).empty


def test_whole_window_excludes_a_half_window_at_each_end():
    steps = np.arange(1, 26) * 4000                                  # a 100k-step off-policy run
    assert not whole_window(steps, 100_000, original_half_window("sac")).any()   # no logged step at exactly 50k
    steps = np.arange(1, 27) * 4000                                  # 104k steps: 52k - 50k >= 0, 52k + 50k <= 104k
    assert list(steps[whole_window(steps, 104_000, original_half_window("sac"))]) == [52_000]
    assert list(whole_window([20_000, 50_000, 51_000], 100_000, 50_000)) == [False, True, False]


def test_a_window_is_whole_when_the_run_logged_every_step_it_could_in_it():
    # TD3 on HalfCheetah: 37 epochs of 4000 steps end at 148k. The window at 100k (50k..150k) holds every log the
    # run could make there (52k..148k; its next, 152k, lies beyond), so it is whole, though no log reaches 150k.
    steps = np.arange(1, 38) * 4000.0
    assert smoothed_at(steps, np.ones_like(steps), 100_000, 50_000) == (1.0, True)
    assert smoothed_at(steps, np.ones_like(steps), 100_000, 50_000, log_interval=None)[1] is False   # exact steps
    assert smoothed_at(steps[:-1], np.ones(36), 100_000, 50_000)[1] is False      # 144k: 148k is missing
    assert whole_window([100_000], 148_000, 50_000, log_interval=4000)[0]
    assert not whole_window([100_000], 144_000, 50_000, log_interval=4000)[0]
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "sac", 148_000, log_interval=4000) == [50_000, 100_000]
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "sac", 148_000) == [50_000]
    assert cut_window_shortfall(REFERENCE, "HalfCheetah-v5", "sac", 100_000, 148_000, log_interval=4000) == 0.0
    assert log_interval_of(steps) == 4000 and log_interval_of([4000]) is None


def test_whole_window_points_are_the_published_points_a_run_covers_with_a_whole_window():
    # SAC's window is 50k either side: a 100k run covers only 50k; a 152k run 50k and 100k. PPO's is 20k.
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "sac", 100_000) == [50_000]
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "sac", 152_000) == [50_000, 100_000]
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "ppo", 220_000) == [50_000, 100_000, 200_000]
    assert whole_window_points(REFERENCE, "HalfCheetah-v5", "trpo", 1_000_000) == []      # no curve


def test_welch_interval_matches_the_t_test_and_needs_two_members_a_side():
    from scipy import stats
    a, b = np.array([1.0, 2.0, 4.0]), np.array([0.0, 0.5, 1.0, 2.5, 3.0, 0.0])
    low, high, df = welch_interval(a.mean(), a.std(ddof=1), 3, b.mean(), b.std(ddof=1), 6)
    test = stats.ttest_ind(a, b, equal_var=False)
    assert test.df == pytest.approx(df)
    # The interval excludes 0 exactly when the two-sided test rejects at 5%, and is centred on the difference.
    assert (low + high) / 2 == pytest.approx(a.mean() - b.mean())
    interval = test.confidence_interval(0.95)
    assert (low, high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert all(np.isnan(welch_interval(1.0, np.nan, 1, 0.0, 1.0, 10)))


def test_the_plotted_mean_is_solid_only_where_the_window_is_whole(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for seed in (0, 1):
        write_run(tmp_path, "sac", "HalfCheetah-v5", seed, np.arange(38.0) * 100 + seed)   # 152k steps
    runs, curves = read_grid(str(tmp_path))
    fig, ax = plt.subplots()
    plot_grid_env(ax, runs, curves, REFERENCE, "HalfCheetah-v5", ["sac"])
    solid = [line for line in ax.lines if line.get_linestyle() == "-" and len(line.get_xdata()) > 0
             and line.get_alpha() is None]
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(solid) == 1 and solid[0].get_label() == "ours SAC (2 seeds)"
    # Logged every 4000 steps up to 152k, the run has every log it could in the window at 104k (54k..154k).
    assert min(solid[0].get_xdata()) == 52_000 and max(solid[0].get_xdata()) == 104_000
    assert len(dotted) == 1 and max(dotted[0].get_xdata()) == 152_000
    plt.close(fig)


def test_the_plot_marks_the_compared_points_and_draws_runs_under_way_unsmoothed(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for seed in (0, 1):                  # 100k steps: SAC's window (50k either side) is whole only at 50k
        write_run(tmp_path, "sac", "HalfCheetah-v5", seed, np.arange(25.0) * 100 + seed)
    write_run(tmp_path, "sac", "HalfCheetah-v5", 2, np.arange(5.0) * 100, epochs_asked=25)    # under way
    runs, curves = read_grid(str(tmp_path))
    fig, ax = plt.subplots()
    plot_grid_env(ax, runs, curves, REFERENCE, "HalfCheetah-v5", ["sac"], reference_std=REFERENCE_STD)
    labels = [line.get_label() for line in ax.lines]
    assert "ours SAC (2 seeds), window whole only at 50k" in labels
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    # At 50k the window 0..100k holds every epoch of both seeds: mean 1200 + 0.5.
    assert len(diamonds) == 1 and list(diamonds[0].get_xdata()) == [50_000]
    assert diamonds[0].get_ydata()[0] == pytest.approx(np.mean(np.arange(25.0) * 100) + 0.5)
    under_way = [line for line in ax.lines if line.get_label() == "ours SAC, under way (unsmoothed)"]
    assert len(under_way) == 1 and under_way[0].get_linestyle() == "-."
    assert list(under_way[0].get_ydata()) == list(np.arange(5.0) * 100)      # the raw scores
    original = [line for line in ax.lines if line.get_label().startswith("original SAC")]
    assert len(original) == 1 and original[0].get_linestyle() == "None"     # points only, no line between
    plt.close(fig)


def test_cut_window_shortfall_is_what_the_originals_own_curve_loses_to_a_trailing_window():
    # SAC rises 1000 -> 2000 between 50k and 100k: a run ending at 100k covers 50k..100k of the window, mean 1500.
    assert cut_window_shortfall(REFERENCE, "HalfCheetah-v5", "sac", 100_000, 100_000) == pytest.approx(500)
    assert cut_window_shortfall(REFERENCE, "HalfCheetah-v5", "sac", 100_000, 150_000) == 0.0     # whole window
    # PPO is linear at slope 0.004 between 100k and 200k: a run ending at 180k, 40k short, reads 0.004 * 40k / 2 low.
    shortfall = cut_window_shortfall(REFERENCE, "HalfCheetah-v5", "ppo", 160_000, 160_000)
    assert shortfall == pytest.approx(0.004 * 20_000 / 2)
    assert np.isnan(cut_window_shortfall(REFERENCE, "HalfCheetah-v5", "trpo", 100_000, 100_000))


def test_a_bend_within_the_reading_error_of_its_three_points_is_undetermined():
    # PPO's slope doubles at 100k: the 200k point lies 200 above the line of the stretch before, a stretch half
    # as long (k = 2). Each point read to within e, the departure is read to within e * sqrt(1 + 9 + 4) = 3.74 e.
    assert bend_reading_error(1.0, 2.0) == pytest.approx(np.sqrt(14))
    assert bend_reading_error(2.0, 1.0) == pytest.approx(2 * np.sqrt(6))
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "ppo", 150_000, reading_error=53) == "convex"
    assert reference_shape(REFERENCE, "HalfCheetah-v5", "ppo", 150_000, reading_error=54) == "undetermined"
    tie = pd.DataFrame(dict(env="Hopper", algo="vpg", steps=[0, 100, 200], **{"return": [0.0, 10.0, 20.0]}))
    assert reference_shape(tie, "Hopper-v5", "vpg", 150) == "undetermined"      # equal slopes: neither way


def test_steps_tick_labels_read_in_thousands_and_millions():
    from spinup_lib.notebook.bench_plots import steps_label
    assert [steps_label(x) for x in (0, 25_000, 150_000, 1_000_000, 2_500_000)] == ["0", "25k", "150k", "1M", "2.5M"]
