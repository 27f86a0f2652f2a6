"""Learning-curve plots from synthetic run directories (no training needed)."""
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # no windows in tests, whatever the machine has

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from spinup_lib import plot  # noqa: E402
from spinup_lib.errors import UserError  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def curves(ax):
    """The data lines of an Axes (seaborn also adds empty lines that only serve the legend)."""
    return [line for line in ax.get_lines() if len(line.get_xdata())]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_run(run_dir, exp_name, returns, test_returns=None, steps_per_epoch=4000, extra=None):
    """Write a run directory as the logger does: progress.txt (tab-separated) and config.json."""
    os.makedirs(run_dir, exist_ok=True)
    n = len(returns)
    table = {"Epoch": np.arange(n), "TotalEnvInteracts": steps_per_epoch * (np.arange(n) + 1),
             "AverageEpRet": np.asarray(returns, dtype=float), "LossPi": np.linspace(1.0, 0.0, n)}
    if test_returns is not None:
        table["AverageTestEpRet"] = np.asarray(test_returns, dtype=float)
    table.update(extra or {})
    pd.DataFrame(table).to_csv(os.path.join(run_dir, "progress.txt"), sep="\t", index=False)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump({"exp_name": exp_name, "seed": 0}, f)
    return str(run_dir)


@pytest.fixture
def bench(tmp_path):
    """data/bench_algo1 (2 seeds), data/bench_algo2 (2 seeds, with test returns), data/other."""
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for seed in (0, 10):
        make_run(data / "bench_algo1" / f"bench_algo1_s{seed}", "bench_algo1", rng.normal(size=6))
        make_run(data / "bench_algo2" / f"bench_algo2_s{seed}", "bench_algo2", rng.normal(size=6),
                 test_returns=rng.normal(size=6) + 100)
    make_run(data / "other" / "other_s0", "other", rng.normal(size=6))
    return data


# ----------------------------------------------------------------------------------------------
# Finding runs
# ----------------------------------------------------------------------------------------------
def test_prefix_autocompletes_to_every_sibling(bench):
    found = plot.find_logdirs([str(bench / "bench_algo")])
    assert found == [str(bench / "bench_algo1"), str(bench / "bench_algo2")]
    datasets = plot.get_all_datasets([str(bench / "bench_algo")])
    assert len(datasets) == 4
    assert sorted({d["Condition1"].iloc[0] for d in datasets}) == ["bench_algo1", "bench_algo2"]


def test_trailing_separator_means_exactly_this_directory(bench):
    assert plot.find_logdirs([str(bench / "bench_algo1") + "/"]) == [str(bench / "bench_algo1") + "/"]
    # without the separator "bench_algo1" is still a prefix, which here matches only itself
    assert plot.find_logdirs([str(bench / "bench_algo1")]) == [str(bench / "bench_algo1")]


def test_units_number_the_runs_of_each_experiment(bench):
    datasets = plot.get_all_datasets([str(bench / "bench_algo")])
    units = sorted((d["Condition1"].iloc[0], d["Unit"].iloc[0], d["Condition2"].iloc[0]) for d in datasets)
    assert units == [("bench_algo1", 0, "bench_algo1-0"), ("bench_algo1", 1, "bench_algo1-1"),
                     ("bench_algo2", 0, "bench_algo2-0"), ("bench_algo2", 1, "bench_algo2-1")]


def test_select_and_exclude(bench):
    subdirs = [str(bench / "bench_algo1"), str(bench / "bench_algo2"), str(bench / "other")]
    assert plot.find_logdirs(subdirs, select=["bench_", "algo2"]) == [str(bench / "bench_algo2")]
    assert plot.find_logdirs(subdirs, exclude=["algo1", "/other"]) == [str(bench / "bench_algo2")]
    datasets = plot.get_all_datasets(subdirs, exclude=["/other"])
    assert {d["Condition1"].iloc[0] for d in datasets} == {"bench_algo1", "bench_algo2"}
    assert len(plot.get_all_datasets([str(bench) + "/"])) == 5


def test_legend_names_each_matched_directory(bench):
    datasets = plot.get_all_datasets([str(bench / "bench_algo")], legend=["first", "second"])
    names = sorted({(d["Condition1"].iloc[0], d["Condition2"].iloc[0]) for d in datasets})
    assert names == [("first", "first-0"), ("first", "first-1"), ("second", "second-0"), ("second", "second-1")]


def test_legend_count_must_match(bench):
    with pytest.raises(UserError, match="1 legend names for 2 matched directories"):
        plot.get_all_datasets([str(bench / "bench_algo")], legend=["only_one"])


def test_performance_prefers_test_returns(tmp_path):
    on_policy = make_run(tmp_path / "runs" / "vpg", "vpg", [1.0, 2.0, 3.0])
    off_policy = make_run(tmp_path / "runs" / "sac", "sac", [1.0, 2.0, 3.0], test_returns=[10.0, 20.0, 30.0])
    (vpg,) = plot.get_datasets(on_policy)
    (sac,) = plot.get_datasets(off_policy)
    assert vpg["Performance"].tolist() == [1.0, 2.0, 3.0]
    assert sac["Performance"].tolist() == [10.0, 20.0, 30.0]


def test_runs_need_progress_and_config(tmp_path):
    only_progress = tmp_path / "data" / "half"
    only_progress.mkdir(parents=True)
    (only_progress / "progress.txt").write_text("Epoch\tAverageEpRet\n0\t1.0\n")
    with pytest.raises(UserError, match="no runs found under .*progress.txt and config.json"):
        plot.get_all_datasets([str(tmp_path / "data") + "/"])
    with pytest.raises(UserError, match="no runs found"):
        plot.get_all_datasets([str(tmp_path / "nowhere")])


def test_run_with_empty_progress_is_skipped(tmp_path):
    make_run(tmp_path / "d" / "done", "exp", [1.0, 2.0])
    started = tmp_path / "d" / "started"
    started.mkdir()
    (started / "progress.txt").write_text("")
    (started / "config.json").write_text('{"exp_name": "exp"}')
    with pytest.warns(UserWarning, match="empty"):
        datasets = plot.get_all_datasets([str(tmp_path / "d") + "/"])
    assert len(datasets) == 1


# ----------------------------------------------------------------------------------------------
# Smoothing and drawing
# ----------------------------------------------------------------------------------------------
def test_smoothing_is_an_edge_corrected_moving_average():
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    # window 3: interior points average 3 neighbours, the ends only the 2 that exist
    expected = [(1 + 2) / 2, (1 + 2 + 3) / 3, (2 + 3 + 4) / 3, (3 + 4 + 10) / 3, (4 + 10) / 2]
    np.testing.assert_allclose(plot.smooth_values(values, 3), expected)
    np.testing.assert_allclose(plot.smooth_values(values, 1), values)
    # a missing value is left out of the averages around it rather than spreading NaN
    np.testing.assert_allclose(plot.smooth_values([1.0, np.nan, 3.0], 3), [1.0, 2.0, 3.0])


def test_plotted_curve_is_the_smoothed_mean_over_seeds(tmp_path):
    a = [0.0, 4.0, 8.0, 4.0, 0.0]
    b = [2.0, 2.0, 2.0, 2.0, 2.0]
    make_run(tmp_path / "exp" / "exp_s0", "exp", a)
    make_run(tmp_path / "exp" / "exp_s1", "exp", b)
    ax = plot.plot_runs(str(tmp_path / "exp"), value="AverageEpRet", smooth=3)
    (line,) = curves(ax)
    expected = (plot.smooth_values(a, 3) + plot.smooth_values(b, 3)) / 2
    np.testing.assert_allclose(line.get_ydata(), expected)
    np.testing.assert_allclose(line.get_xdata(), 4000 * np.arange(1, 6))
    assert len(ax.collections) == 1  # the +-1 std band


def test_estimator_by_name_and_count(tmp_path):
    make_run(tmp_path / "exp" / "exp_s0", "exp", [1.0, 5.0])
    make_run(tmp_path / "exp" / "exp_s1", "exp", [3.0, 2.0])
    ax = plot.plot_runs(str(tmp_path / "exp"), value="AverageEpRet", estimator="max")
    np.testing.assert_allclose(curves(ax)[0].get_ydata(), [3.0, 5.0])
    ax = plot.plot_runs(str(tmp_path / "exp"), value="AverageEpRet", count=True)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exp-0", "exp-1"]
    with pytest.raises(UserError, match="unknown estimator 'eval'"):
        plot.plot_runs(str(tmp_path / "exp"), estimator="eval")


def test_plot_runs_draws_on_a_given_axes(bench):
    fig, (left, right) = plt.subplots(1, 2)
    returned = plot.plot_runs(str(bench / "bench_algo"), ax=right)
    assert returned is right
    assert right.get_ylabel() == "Performance" and right.get_xlabel() == "TotalEnvInteracts"
    assert len(curves(right)) == 2 and not curves(left)


def test_missing_column_lists_available_ones(bench):
    with pytest.raises(UserError, match="column 'LossQ' is not in progress.txt.*available columns: Epoch, "
                                        "TotalEnvInteracts, AverageEpRet, LossPi"):
        plot.plot_runs(str(bench / "bench_algo"), value="LossQ")
    with pytest.raises(UserError, match="column 'Steps'"):
        plot.make_plots([str(bench / "bench_algo")], xaxis="Steps", save=str(bench / "x.png"))


# ----------------------------------------------------------------------------------------------
# Saving figures (command line)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extension, signature", [(".png", PNG_SIGNATURE), (".pdf", b"%PDF"), (".svg", b"<svg")])
def test_save_writes_the_requested_format(bench, tmp_path, extension, signature):
    target = tmp_path / f"curves{extension}"
    assert plot.main([str(bench / "bench_algo"), "-s", "2", "--save", str(target)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"data", f"curves{extension}"}
    head = target.read_bytes()[:2000]
    assert head.startswith(signature) if extension != ".svg" else signature in head


def test_several_values_make_several_files(bench, tmp_path):
    target = tmp_path / "fig.png"
    written = plot.make_plots([str(bench / "bench_algo")], values=["Performance", "LossPi"], save=str(target))
    assert written == [str(tmp_path / "fig_Performance.png"), str(tmp_path / "fig_LossPi.png")]
    assert all(open(path, "rb").read(8) == PNG_SIGNATURE for path in written)


def test_explicit_save_replaces_and_says_so(bench, tmp_path, capsys):
    target = tmp_path / "curves.png"
    target.write_bytes(b"old figure")
    plot.main([str(bench / "bench_algo"), "--save", str(target)])
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert "replaced the existing file" in capsys.readouterr().out


def test_headless_default_saves_without_overwriting(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert not plot.can_show_windows()
    (tmp_path / "Performance.png").write_bytes(b"a figure of mine")
    plot.main([str(bench / "bench_algo")])
    plot.main([str(bench / "bench_algo")])
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["Performance.png", "Performance_1.png",
                                                               "Performance_2.png"]
    assert (tmp_path / "Performance.png").read_bytes() == b"a figure of mine"
    assert (tmp_path / "Performance_2.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "saved Performance plot to Performance_1.png" in capsys.readouterr().out


def test_bad_save_extension(bench, tmp_path):
    with pytest.raises(UserError, match=r"cannot save a plot as '.*curves.jpg': use a file name ending in .png"):
        plot.main([str(bench / "bench_algo"), "--save", str(tmp_path / "curves.jpg")])
    assert not (tmp_path / "curves.jpg").exists()


def test_bad_smoothing_window(bench, tmp_path):
    with pytest.raises(UserError, match="--smooth"):
        plot.main([str(bench / "bench_algo"), "-s", "0", "--save", str(tmp_path / "c.png")])


@pytest.mark.slow  # two fresh interpreters importing pandas and matplotlib
def test_module_command_line(bench, tmp_path):
    target = tmp_path / "cli.png"
    ok = subprocess.run([sys.executable, "-m", "spinup_lib.plot", str(bench / "bench_algo"), "--count",
                         "--save", str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    bad = subprocess.run([sys.executable, "-m", "spinup_lib.plot", str(tmp_path / "missing")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: no runs found under") and "Traceback" not in bad.stderr
