"""Grids of experiments: every combination of a set of hyperparameter values, each run named
after the values that differ; run again, a grid goes on where it stopped."""
import itertools
import time

from spinup_lib.errors import UserError
from spinup_lib.experiments import settings
from spinup_lib.experiments.naming import default_shorthand, display_value, path_safe_name, setup_logger_kwargs
from spinup_lib.experiments.plan import FINISHED, check_num_workers, plan_runs, print_plan
from spinup_lib.experiments.ray_runner import import_ray, run_on_ray
from spinup_lib.experiments.runners import run_pool, run_series
from spinup_lib.experiments.settings import DIV_LINE_WIDTH, resolve_num_cpu, wait_before_launch
from spinup_lib.logx import colorize


class ExperimentGrid:
    """Run an algorithm over every combination of a set of hyperparameter values.

    Example::

        eg = ExperimentGrid(name='ppo-bench')
        eg.add('env_name', 'CartPole-v1', '', True)
        eg.add('seed', [0, 10, 20])
        eg.add('ac_kwargs:hidden_sizes', [(32,), (64, 64)], 'hid')
        eg.run(ppo, num_cpu=2)

    Runs are named after the grid plus, for each parameter with several values (or added with
    ``in_name=True``), its shorthand and value: ``ppo-bench_cartpole-v1_hid32``. The seed never
    appears in the name, so runs that differ only by seed share a folder.

    Args:
        name (str): the grid's name, the start of every run's name.
    """

    def __init__(self, name=""):
        self.keys = []
        self.vals = []
        self.shorthands = []
        self.in_names = []
        self.name(name)

    def name(self, name):
        """Set the grid's name (a string)."""
        if not isinstance(name, str):
            raise UserError(f"the grid's name must be a string, got {name!r}")
        self._name = name

    def add(self, key, vals, shorthand=None, in_name=False):
        """Add a parameter with its possible values.

        Args:
            key (str): the thunk's argument name; ``outer:inner`` sets ``outer=dict(inner=...)``.
            vals: one value, or a list of values (a tuple counts as one value).
            shorthand (str): short name used in run names; by default made from the key
                (see :func:`default_shorthand`, turned off by ``DEFAULT_SHORTHAND = False``).
                ``''`` puts the bare value in the name.
            in_name (bool): name runs after this parameter even when it has a single value.
        """
        if not isinstance(key, str) or not key or any(not part for part in key.split(":")):
            raise UserError(f"a grid parameter's key must be a name like 'lr' or 'ac_kwargs:activation', got {key!r}")
        if shorthand is not None and not isinstance(shorthand, str):
            raise UserError(f"the shorthand for '{key}' must be a string, got {shorthand!r}")
        if key in self.keys:
            raise UserError(f"'{key}' was added to the grid twice: give all its values in one add() call")
        for other in self.keys:
            if other.startswith(key + ":") or key.startswith(other + ":"):
                raise UserError(f"'{key}' and '{other}' both set the same argument: use only one of them")
        if not isinstance(vals, list):
            vals = [vals]
        if not vals:
            raise UserError(f"'{key}' needs at least one value")
        if shorthand is None and settings.DEFAULT_SHORTHAND:
            shorthand = default_shorthand(key)
        self.keys.append(key)
        self.vals.append(vals)
        self.shorthands.append(shorthand)
        self.in_names.append(bool(in_name))

    def print(self):
        """Print the parameters, their values, and how many runs the grid holds."""
        line = "=" * DIV_LINE_WIDTH
        print(line)
        print(colorize(f"ExperimentGrid [{self._name}] runs over parameters:\n", color="green", bold=True))
        for key, vals, shorthand in zip(self.keys, self.vals, self.shorthands):
            label = colorize(key.ljust(40), color="cyan", bold=True)
            print(" ", label, f"[{shorthand}]" if shorthand is not None else "", "\n")
            for val in vals:
                print("\t" + display_value(val))
            print()
        total = 1
        for vals in self.vals:
            total *= len(vals)
        num_seeds = len(self.vals[self.keys.index("seed")]) if "seed" in self.keys else 1
        print(" Variants, counting seeds: ".ljust(40), total)
        print(" Variants, not counting seeds: ".ljust(40), total // num_seeds)
        print()
        print(line)

    def variant_name(self, variant):
        """The run name of a variant (a dict as made by :meth:`variants`)."""

        def value_of(tree, key):
            # Nested keys ('a:b') live in nested dicts once a variant is built.
            if key in tree:
                return tree[key]
            head, _, rest = key.partition(":")
            return value_of(tree[head], rest)

        name = self._name
        for key, vals, shorthand, in_name in zip(self.keys, self.vals, self.shorthands, self.in_names):
            if key == "seed" or not (len(vals) > 1 or in_name):
                continue
            label = path_safe_name(shorthand if shorthand is not None else key)
            value = value_of(variant, key)
            if all(isinstance(v, bool) for v in vals):
                # A switch is named only when on: 'ppo_norm' rather than 'ppo_normtrue'.
                name += f"_{label}" if value else ""
            else:
                name += f"_{label}{path_safe_name(value)}"
        return name.lstrip("_")

    def variants(self):
        """Every combination of values, as a list of dicts (``a:b`` keys become nested dicts)."""
        variants = []
        for combination in itertools.product(*self.vals):
            variant = {}
            for key, value in zip(self.keys, combination):
                *outer, last = key.split(":")
                tree = variant
                for part in outer:
                    tree = tree.setdefault(part, {})
                tree[last] = value
            variants.append(variant)
        return variants

    def output_dirs(self, data_dir=None, datestamp=False):
        """The output directory of each variant, in the order of :meth:`variants`."""
        return [
            setup_logger_kwargs(self.variant_name(v), v.get("seed", 0), data_dir, datestamp)["output_dir"]
            for v in self.variants()
        ]

    def check_output_dirs(self, data_dir=None, datestamp=False):
        """Raise UserError if two runs would share a directory, or one holds something else.

        A directory may hold this grid's own run, finished or stopped part way: running the
        grid again skips or resumes it (see :mod:`spinup_lib.experiments.plan`). Anything else (a
        run made with other settings, files of a run without its progress.txt) is refused.
        """
        plan_runs(self, None, data_dir=data_dir, datestamp=datestamp)

    def run(self, thunk, num_cpu=1, data_dir=None, datestamp=False, num_workers=1, ray_address=None,
            dry_run=False):
        """Run every variant: one after the other, several at once, or on a Ray cluster.

        Every output directory is checked before the first run starts. Running the same grid
        again picks it up where it stopped: finished runs are skipped (never written into),
        runs stopped part way resume from their last checkpoint (as ``resume`` does), the
        others start. Each run is a fresh process, so the same seeds give the same numbers
        whichever way the grid runs. See :mod:`spinup_lib.experiments.runners` and docs/GRIDS.md.

        Args:
            thunk (callable or str): the function to run, or the key of a grid parameter whose
                values are the functions to run.
            num_cpu (int or 'auto'): MPI processes per run.
            data_dir (str): folder for results; default :func:`~spinup_lib.run_files.default_data_dir`.
            datestamp (bool): put date and time in the directory names.
            num_workers (int): runs at once on this machine. 1 (the default): one after the
                other, each printing its epoch table. More: each run's output goes to
                ``output.log`` in its folder, the terminal shows one summary line per update,
                a failed run does not stop the others (:class:`~spinup_lib.experiments.plan.GridFailed`
                is raised at the end), and Ctrl-C stops every run. A run of ``num_cpu`` MPI
                processes counts as ``num_cpu``.
            ray_address (str): run each variant as a task on the Ray cluster at this address
                (``'host:port'``, or ``'auto'`` for one started on this machine); results come
                back under ``data_dir`` here. Needs ``pip install -e .[ray]``.
            dry_run (bool): only list which runs are finished, will resume, or will start.

        Returns:
            list of :class:`spinup_lib.experiments.plan.GridRun`: each run's folder, status and outcome.
        """
        if not self.keys:
            raise UserError("the grid is empty: add() some parameters before run()")
        if isinstance(thunk, str) and thunk not in self.keys:
            raise UserError(f"thunk '{thunk}' is not a parameter of the grid")
        num_cpu = resolve_num_cpu(num_cpu)
        num_workers = check_num_workers(num_workers)
        if ray_address is not None:
            if not isinstance(ray_address, str) or not ray_address.strip():
                raise UserError(f"ray_address (--ray) must be a cluster address such as 'auto' or "
                                f"'10.0.0.5:6379', got {ray_address!r}")
            if num_workers > 1:
                raise UserError("give --num_workers or --ray, not both: on a Ray cluster, Ray places the "
                                "runs on the CPUs the cluster has")
        runs = plan_runs(self, thunk, num_cpu, data_dir, datestamp)
        self.print()

        names = sorted({run.exp_name for run in runs})
        line = "=" * DIV_LINE_WIDTH
        print(f"\n{colorize('Preparing to run the following experiments...', bold=True)}\n")
        print("\n".join(names) + f"\n\n{line}")
        print_plan(runs, always=dry_run)
        if dry_run:
            print("Dry run: nothing was started.", flush=True)
            return runs
        if all(run.status == FINISHED for run in runs):
            for run in runs:
                run.outcome = "skipped"
            print("Every run of this grid has finished: nothing to do.", flush=True)
            return runs
        if ray_address is not None:
            import_ray()  # a missing install is said before any waiting

        wait = wait_before_launch()
        if wait > 0:
            print(f"Launching in {wait:g} s: press Ctrl-C to stop "
                  "(SPINUP_WAIT_BEFORE_LAUNCH sets this delay).")
            time.sleep(wait)

        if ray_address is not None:
            return run_on_ray(runs, ray_address, self._name or "grid")
        if num_workers > 1:
            return run_pool(runs, num_workers, self._name or "grid")
        return run_series(runs, data_dir, datestamp)

