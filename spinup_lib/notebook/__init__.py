"""What the course notebooks reuse: the training budget, inline videos, a live learning curve.

Every chapter reads its training size from :func:`budget`, the one place that decides it:
CI (which sets the ``CI`` environment variable) runs each chapter small, a student runs the
same notebook unedited at full size. ``SPINUP_BUDGET=small`` or ``full`` overrides both.

Videos are recorded with :mod:`spinup_lib.test_policy` and embedded in the notebook, so they
survive when it is exported or shared. Like the rest of the library, these helpers never
replace a file silently: an existing video is kept unless ``force=True``.

The helpers live in ``budget``, ``videos``, ``live_curve``, ``source`` (show_source), ``docs``
(hyperparameter tables), ``q_values``, ``runs`` (training runs: train, train_variants, read_progress,
load_agent...), ``measures`` (experience from a fixed policy, a critic's bias over training), ``tabular``
(a small MDP's model as arrays, value iteration: chapters 01, 02), ``bench`` (chapter 13's
benchmark grid) and ``bench_plots`` (its figures); ``spinup_lib.notebook.X`` gives each of them.
"""
from spinup_lib.notebook import bench as _bench, bench_plots as _bench_plots, measures as _measures, runs as _runs
from spinup_lib.notebook import tabular as _tabular
from spinup_lib.notebook.bench import *  # noqa: F401,F403  (chapter 13: the benchmark grid)
from spinup_lib.notebook.bench_plots import *  # noqa: F401,F403  (chapter 13: its figures)
from spinup_lib.notebook.budget import BUDGET_MODES, BUDGET_VARIABLE, budget, budget_mode, chapter_data_dir
from spinup_lib.notebook.docs import docstring_args, hyperparameter_table
from spinup_lib.notebook.live_curve import LiveCurve
from spinup_lib.notebook.measures import *  # noqa: F401,F403  (collect_episodes, collect_batch, q_bias_over_training)
from spinup_lib.notebook.q_values import q_versus_monte_carlo
from spinup_lib.notebook.runs import *  # noqa: F401,F403  (train, train_variants, read_progress, load_agent...)
from spinup_lib.notebook.source import REGION_END, REGION_START, SourceRegion, show_source, source_region
from spinup_lib.notebook.tabular import *  # noqa: F401,F403  (model_tables, value_iteration: chapters 01, 02)
from spinup_lib.notebook.videos import show_video, video_of_agent, video_of_run
from spinup_lib.replay.display import in_notebook

__all__ = ["BUDGET_MODES", "BUDGET_VARIABLE", "budget", "budget_mode", "chapter_data_dir", "docstring_args",
           "hyperparameter_table", "LiveCurve", "q_versus_monte_carlo", "REGION_END", "REGION_START",
           "SourceRegion", "show_source", "source_region", "show_video", "video_of_agent", "video_of_run",
           "in_notebook"]
__all__ += _bench.__all__ + _bench_plots.__all__ + _runs.__all__ + _measures.__all__ + _tabular.__all__
