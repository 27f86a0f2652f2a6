"""One experiment in a fresh Python process, so that nothing (RNG state, torch threads, MPI) leaks
between experiments: :func:`call_experiment`, and the end-of-run banner."""
import json
import shlex
import signal
import subprocess

from spinup_lib.envs import make_env_fn
from spinup_lib.errors import UserError
from spinup_lib.experiments.child import FreshProcess
from spinup_lib.experiments.naming import check_run_dir_is_free, display_value, setup_logger_kwargs
from spinup_lib.experiments.settings import DIV_LINE_WIDTH, resolve_num_cpu
from spinup_lib.lifecycle import exit_status_text, signal_name, wait_passing_on_signals
from spinup_lib.logx import colorize, convert_json


# ----------------------------------------------------------------------------------------------
# Running one experiment in a fresh process
# ----------------------------------------------------------------------------------------------
class ExperimentFailed(subprocess.CalledProcessError):
    """The process running an experiment stopped with an error, or was killed.

    ``failure`` is the error the experiment reported (``'ValueError: ...'``, its traceback
    printed above), or None when it ended without reporting one (killed by a signal, or the
    interpreter itself failed): the message then says how it ended instead.
    """

    def __init__(self, returncode, cmd, exp_name, failure=None):
        super().__init__(returncode, cmd)
        self.exp_name = exp_name
        self.failure = failure

    def __str__(self):
        if self.failure:
            return f"experiment '{self.exp_name}' failed with {self.failure} (its traceback is above)"
        how = exit_status_text(self.returncode)
        if self.returncode is not None and self.returncode > 128:
            # A shell, or mpirun for a rank, reports death by signal N as status 128 + N.
            how += f", as after {signal_name(self.returncode - 128)}"
        hint = " (out of memory? the system kills the largest process)" if "SIGKILL" in how else ""
        return f"experiment '{self.exp_name}' stopped without reporting an error: {how}{hint}"


def run_in_fresh_process(thunk, kwargs, num_cpu=1, exp_name="experiment"):
    """Call ``thunk(**kwargs)`` in a new Python process (``num_cpu`` MPI processes); wait for it.

    The call is serialised with cloudpickle for ``python -m spinup_lib.experiments.child``
    (:class:`~spinup_lib.experiments.child.FreshProcess`); functions from importable modules
    travel by reference (the child gets this process's ``sys.path``), functions defined in
    ``__main__`` or a notebook travel by value.

    The child never outlives this process: SIGINT, SIGTERM and SIGHUP received while waiting
    are passed on to it (and through it to mpirun and the ranks), and if this process is
    killed outright the child notices and stops (see :mod:`spinup_lib.lifecycle`). Temporary
    folders left by launchers that were killed are removed.

    Raises:
        UserError: the experiment stopped on a user mistake (its message is passed on).
        ExperimentFailed: it stopped on any other error, or was killed.
        KeyboardInterrupt: it was interrupted (Ctrl-C, SIGINT).
        SystemExit: this process received SIGTERM or SIGHUP (after the child stopped).
    """
    child = FreshProcess(thunk, kwargs, num_cpu=resolve_num_cpu(num_cpu))
    try:
        returncode, signum = wait_passing_on_signals(child.process)
        if signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + int(signum))
        message, failure = child.report()
        if message:
            raise UserError(message)
        if returncode in (130, -2):
            raise KeyboardInterrupt
        if returncode != 0:
            raise ExperimentFailed(returncode, child.cmd, exp_name, failure)
    finally:
        child.cleanup()


def call_experiment(exp_name, thunk, seed=0, num_cpu=1, data_dir=None, datestamp=False, **kwargs):
    """Run ``thunk(seed=seed, logger_kwargs=..., **kwargs)`` in a fresh Python process.

    Prints the configuration, chooses the output directory with :func:`setup_logger_kwargs`
    (unless ``logger_kwargs`` is given), refuses a directory that already holds a run, runs the
    call (under MPI when ``num_cpu`` > 1) and then prints the commands that plot the results
    and replay the agent. A fresh process per experiment keeps runs independent.

    Args:
        exp_name (str): name of the experiment (the output directory is named after it).
        thunk (callable): the function to run, usually an algorithm such as ``vpg``.
        seed (int): random seed, passed to ``thunk`` as ``seed``.
        num_cpu (int or 'auto'): number of MPI processes; 'auto' uses every CPU.
        data_dir (str): folder for results; default :func:`~spinup_lib.run_files.default_data_dir`.
        datestamp (bool): put date and time in the directory names.
        **kwargs: everything else ``thunk`` takes. ``env_name='CartPole-v1'`` is a shortcut:
            ``thunk`` gets ``env_fn=spinup_lib.envs.make_env_fn('CartPole-v1')`` instead.

    Returns:
        str: the output directory of the run.

    Raises:
        UserError: a bad argument, an occupied output directory, or a user mistake met by the run.
        ExperimentFailed: the run crashed (its traceback was printed by the child process).
    """
    if not callable(thunk):
        raise UserError(f"the experiment's thunk must be callable, got {thunk!r}")
    num_cpu = resolve_num_cpu(num_cpu)
    kwargs["seed"] = seed

    print(colorize("Running experiment:\n", color="cyan", bold=True))
    print(exp_name + "\n")
    print(colorize("with kwargs:\n", color="cyan", bold=True))
    print(_config_as_json(kwargs) + "\n")

    if "logger_kwargs" in kwargs:
        print("Note: logger_kwargs was given, so call_experiment does not choose the output directory.\n")
    else:
        kwargs["logger_kwargs"] = setup_logger_kwargs(exp_name, seed, data_dir, datestamp)
    output_dir = kwargs["logger_kwargs"].get("output_dir")
    if output_dir and not kwargs["logger_kwargs"].get("resume"):
        check_run_dir_is_free(output_dir)

    kwargs = with_env_fn(kwargs)

    try:
        run_in_fresh_process(thunk, kwargs, num_cpu=num_cpu, exp_name=exp_name)
    except ExperimentFailed as failed:
        print("\n" + "=" * DIV_LINE_WIDTH)
        print(f"The {str(failed)[0].upper()}{str(failed)[1:]}.")
        print("=" * DIV_LINE_WIDTH + "\n")
        raise

    if output_dir:
        print_end_banner(output_dir)
    return output_dir


def with_env_fn(kwargs):
    """``kwargs`` with ``env_name='CartPole-v1'`` made the ``env_fn`` that algorithms take (picklable)."""
    if "env_name" not in kwargs:
        return kwargs
    if "env_fn" in kwargs:
        raise UserError("give env_name or env_fn, not both")
    kwargs = dict(kwargs)
    kwargs["env_fn"] = make_env_fn(kwargs.pop("env_name"))
    return kwargs


def print_end_banner(output_dir):
    """Say where a finished run's results are, and how to plot and replay them."""
    quoted = shlex.quote(str(output_dir))
    plot_cmd = colorize(f"python -m spinup_lib.run plot {quoted}")
    test_cmd = colorize(f"python -m spinup_lib.run test_policy {quoted}")
    print("\n" + "=" * DIV_LINE_WIDTH)
    print(f"End of experiment. Results are in\n    {output_dir}")
    print(f"Plot the learning curve with:\n    {plot_cmd}")
    print(f"Watch the trained agent with:\n    {test_cmd}")
    print("=" * DIV_LINE_WIDTH + "\n", flush=True)


def _config_as_json(config):
    """Pretty JSON of a configuration, for printing (callables by name)."""
    return json.dumps(convert_json(config), indent=4, sort_keys=True, default=display_value)

