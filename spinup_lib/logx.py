"""What a run leaves behind: the epoch table, its config and saved agents.

:class:`Logger` writes ``progress.txt`` (one tab-separated row per epoch) and
``config.json``; :class:`EpochLogger` adds per-epoch statistics of values stored many
times an epoch (``store(EpRet=...)``, then ``log_tabular('EpRet', with_min_and_max=True)``).
The same logger saves the agent for replay (``pyt_save/model.pt``), and hands the
checkpoints that let a killed run continue exactly where it was (``checkpoint.pt``) to
:mod:`spinup_lib.checkpoint`, which owns their format.

Nothing is written before the run has something to keep: the run directory, config.json
and progress.txt appear with the first epoch's row (or the first save), so a run that
stops on a mistake or is killed during its first epoch leaves nothing behind that would
block running the corrected command.

With several MPI processes, every process builds the logger and calls the same methods:
statistics span all processes, only process 0 writes the table, config and agent, and
each process writes its own checkpoint (it has its own env and random generators).
"""
import contextlib
import json
import os
import os.path as osp
import sys
import time

import numpy as np
import torch

from spinup_lib.checkpoint import restore_run
from spinup_lib.checkpoint import save_checkpoint as _save_checkpoint
from spinup_lib.env_state import get_env_state, is_env
from spinup_lib.envs import env_spec_json
from spinup_lib.errors import UserError
from spinup_lib.mpi import broadcast, mpi_statistics_scalar, num_procs, proc_id
from spinup_lib.progress_table import ProgressTable
from spinup_lib.run_files import (AGENT_FORMAT, CONFIG_FNAME, SAVE_SUBDIR, atomic_torch_save, atomic_write,
                                  default_data_dir, make_new_folder, refuse_run_folder, remove_stale_temporary_files)
from spinup_lib.serialize import call_record, complete_call_record, convert_json, dotted_path, importable_json

_COLOR_CODES = dict(gray=30, red=31, green=32, yellow=33, blue=34, magenta=35, cyan=36,
                    white=37, crimson=38)


def colorize(text, color="green", bold=False, highlight=False):
    """``text`` in ANSI colour codes when stdout is a terminal; as it is otherwise (a file, a notebook).

    Colours: gray, red, green, yellow, blue, magenta, cyan, white, crimson.
    """
    isatty = getattr(sys.stdout, "isatty", None)
    if not (isatty and isatty()):
        return text
    code = _COLOR_CODES[color] + (10 if highlight else 0)
    attributes = [str(code)] + (["1"] if bold else [])
    return f"\x1b[{';'.join(attributes)}m{text}\x1b[0m"


# ----------------------------------------------------------------------------------------
# Loggers
# ----------------------------------------------------------------------------------------

def _plain_value(value):
    """A tensor or numpy scalar as a Python number, so progress.txt holds '1.5', not 'tensor(1.5)'."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Logger:
    """Writes a run's epoch table (progress.txt), config.json, saved agents and checkpoints.

    Only process 0 creates directories and writes the table, config and agent. A
    directory that already holds a run is never written into, unless ``resume=True``.
    """

    def __init__(self, output_dir=None, output_fname="progress.txt", exp_name=None, resume=False,
                 epoch_callback=None):
        """
        Args:
            output_dir (str): the run directory. Default:
                ``<data dir>/tmp/experiments/<unix time>``, where the data dir is
                ``$SPINUP_DATA_DIR`` or ``./data``.
            output_fname (str): name of the epoch table inside output_dir.
            exp_name (str): experiment name, added to config.json.
            resume (bool): continue the run in output_dir: append to its table (whose
                columns must match), keep its config.json. Only for resuming a run.
            epoch_callback (callable): called as ``epoch_callback(row)`` on process 0 after
                each epoch's row is written, with the row as a dict (e.g. to redraw a live
                learning curve in a notebook: ``spinup_lib.notebook.LiveCurve``).

        Raises:
            UserError: output_dir already holds a run (and resume is False), or there is
                nothing to resume.
        """
        self.exp_name = exp_name
        self.resume = resume
        self.epoch_callback = epoch_callback
        self.output_fname = output_fname
        self.output_dir = self._choose_output_dir(output_dir, output_fname, resume)
        self.table = None  # progress.txt (spinup_lib.progress_table), opened at the first write
        self._first_row = True
        self.log_headers = []
        self.log_current_row = {}
        self.config_call = None
        self._call_record = None  # the call as checkpoints keep it (spinup_lib.checkpoint.call_record)
        self._pending_config = None  # config.json's text until the run directory is made
        self._saver = None
        self._latest_epoch = None
        self._latest_time = None  # the last Time logged: a resumed run counts on from it
        self._time_offset = 0.0  # seconds trained before the checkpoint a run resumed from
        self._checkpointed = {}  # what each checkpoint saves (setup_checkpoint)
        self._progress_bar = None

        if proc_id() == 0:
            progress_path = osp.join(self.output_dir, output_fname)
            if resume:
                self._open_for_resume(progress_path)
            else:
                self._check_new(progress_path)

    # -- directory and table file --------------------------------------------------------

    @staticmethod
    def _choose_output_dir(output_dir, output_fname, resume):
        if output_dir is not None:
            return os.fspath(output_dir)
        if resume:
            raise UserError("resume needs the directory of the run to continue (output_dir)")
        chosen = None
        if proc_id() == 0:
            chosen = make_new_folder(osp.join(default_data_dir(), "tmp", "experiments", str(int(time.time()))))
        # The processes may not agree on the clock's second: take process 0's choice.
        return broadcast(chosen) if num_procs() > 1 else chosen

    def _check_new(self, progress_path):
        """Refuse a directory that holds a run; create nothing yet (see :meth:`_materialize`)."""
        if osp.exists(self.output_dir) and not osp.isdir(self.output_dir):
            raise UserError(f"{self.output_dir} is a file, not a directory: choose another output_dir")
        refuse_run_folder(self.output_dir, self.output_fname)
        self.log(f"Logging data to {progress_path}", "green")

    def _materialize(self):
        """Make the run directory, progress.txt and config.json (process 0, once, at the first write)."""
        if proc_id() != 0 or self.table is not None:
            return
        os.makedirs(self.output_dir, exist_ok=True)
        table = ProgressTable(osp.join(self.output_dir, self.output_fname))
        try:
            table.create()
        except FileExistsError:  # another run made it since the check in __init__
            refuse_run_folder(self.output_dir, self.output_fname)
        self.table = table
        if self._pending_config is not None:
            self._write_config()

    def _write_config(self):
        atomic_write(osp.join(self.output_dir, CONFIG_FNAME), self._pending_config)
        self._pending_config = None

    def _open_for_resume(self, progress_path):
        if not osp.isdir(self.output_dir):
            raise UserError(f"cannot resume {self.output_dir}: no such directory")
        # Temporary files of a save that a kill interrupted are of no use any more.
        for folder in (self.output_dir, osp.join(self.output_dir, SAVE_SUBDIR)):
            remove_stale_temporary_files(folder)
        self.table = ProgressTable(progress_path, resume=True)
        self.log(f"Resuming: appending to {progress_path}", "green")

    def close(self):
        """Close progress.txt and the progress bar (also done when the logger is collected)."""
        if self._progress_bar is not None:
            self._progress_bar.close()
            self._progress_bar = None
        if self.table is not None:
            self.table.close()

    # -- printing --------------------------------------------------------------------

    def _print(self, text):
        """Print on process 0, above the progress bar if there is one."""
        if self._progress_bar is not None and not self._progress_bar.disable:
            self._progress_bar.write(text)
        else:
            print(text, flush=True)

    def log(self, msg, color="green"):
        """Print a message (process 0 only), coloured when stdout is a terminal.

        Args:
            msg (str): the message.
            color (str): gray, red, green, yellow, blue, magenta, cyan, white or crimson.
        """
        if proc_id() != 0:
            return
        self._print(colorize(msg, color, bold=True))

    def setup_progress(self, total_epochs, start_epoch=0):
        """Show a progress bar of epochs, advanced by each :meth:`dump_tabular` (process 0).

        Outside a terminal or notebook (e.g. CI logs) there is no bar, only the tables.

        Args:
            total_epochs (int): epochs of the whole run.
            start_epoch (int): epochs already done (when resuming).
        """
        if proc_id() != 0:
            return
        from tqdm.auto import tqdm

        if self._progress_bar is not None:
            self._progress_bar.close()
        # disable=None: no bar when the output is not a terminal (tqdm's own test).
        self._progress_bar = tqdm(total=total_epochs, initial=start_epoch, unit="epoch",
                                  desc=self.exp_name or "epochs", disable=None, dynamic_ncols=True)

    # -- the epoch table ---------------------------------------------------------------

    def log_tabular(self, key, val):
        """Set this epoch's value of column ``key``.

        The columns are the keys logged in the first epoch; a later epoch may leave one
        out (written empty) but cannot add one, since progress.txt has a single header.

        Args:
            key (str): column name.
            val: its value (a number, or anything printable).
        """
        if self._first_row:
            if key not in self.log_headers:
                self.log_headers.append(key)
        elif key not in self.log_headers:
            raise ValueError(f"column '{key}' was not logged in the first epoch; log every "
                             "column from the first epoch on (progress.txt has one header)")
        if key in self.log_current_row:
            raise ValueError(f"'{key}' was already logged this epoch; call dump_tabular() "
                             "to end an epoch before logging the next one")
        value = _plain_value(val)
        if key == "Time" and self._time_offset and isinstance(value, (int, float)):
            value += self._time_offset  # a resumed run's Time counts on (see restore)
        self.log_current_row[key] = value
        if key == "Epoch":
            with contextlib.suppress(TypeError, ValueError):
                self._latest_epoch = int(self.log_current_row[key])
        if key == "Time":
            with contextlib.suppress(TypeError, ValueError):
                self._latest_time = float(self.log_current_row[key])

    def _format_table(self):
        key_width = max([15] + [len(key) for key in self.log_headers])
        line = "-" * (key_width + 22)
        rows = [line]
        for key in self.log_headers:
            val = self.log_current_row.get(key, "")
            shown = "%8.3g" % val if isinstance(val, (int, float)) and not isinstance(val, bool) else val
            rows.append(f"| {key:>{key_width}} | {shown!s:>15} |")
        rows.append(line)
        return "\n".join(rows)

    def dump_tabular(self):
        """End the epoch: print its table, append its row to progress.txt, start a new row.

        Every process must call it (the row is cleared everywhere); process 0 writes.
        """
        if proc_id() == 0:
            self._materialize()
            if self._first_row and self.resume:
                dropped = self.table.continue_from(self.log_headers, self.log_current_row.get("Epoch"))
                if dropped:
                    self.log(f"Resuming {self.table.path}: {dropped}", "yellow")
            self._print(self._format_table())
            self.table.write_row(self.log_headers, [self.log_current_row.get(key, "") for key in self.log_headers])
            if self.epoch_callback is not None:
                self.epoch_callback(dict(self.log_current_row))
            if self._progress_bar is not None:
                self._progress_bar.update(1)
                if self._progress_bar.total is not None and self._progress_bar.n >= self._progress_bar.total:
                    self._progress_bar.close()
                    self._progress_bar = None
        self.log_current_row.clear()
        self._first_row = False

    # -- config ------------------------------------------------------------------------

    def save_config(self, config):
        """Record the algorithm's call: config.json (JSON-safe) and, for checkpoints, the objects.

        Algorithms call ``logger.save_config(locals())`` first thing, so ``config`` is
        the keyword arguments they were called with. The logger itself, if among them, is
        left out (it is not part of the call and holds open files). When resuming,
        config.json is kept as it is.

        Args:
            config (dict): the call's arguments.
        """
        # resume_from (a whole checkpoint) is how this call continues a run, not part of the run.
        self.config_call = {key: value for key, value in dict(config).items()
                            if value is not self and key != "resume_from"}
        if isinstance(self.config_call.get("logger_kwargs"), dict):  # a notebook's live plot is no setting
            self.config_call["logger_kwargs"] = {k: v for k, v in self.config_call["logger_kwargs"].items()
                                                 if k != "epoch_callback"}
        # Recorded now, so a checkpoint keeps the call as it was made, even if the algorithm
        # changes a mutable argument later.
        self._call_record = call_record(self.config_call)
        config_json = convert_json(self.config_call)
        if self.exp_name is not None:
            config_json["exp_name"] = self.exp_name
        if proc_id() != 0:
            return
        output = json.dumps(config_json, indent=4, sort_keys=True)
        self.log("Saving config:" if not self.resume else "Resuming with config:", "cyan")
        self._print(output)
        if not self.resume:
            self._pending_config = output + "\n"  # written with the run directory (_materialize)
            if self.table is not None:
                self._write_config()

    # -- saved agents ---------------------------------------------------------------------

    def setup_pytorch_saver(self, ac, ac_kwargs, env):
        """Say what :meth:`save_state` saves: the actor-critic, how to rebuild it, the env.

        Args:
            ac (torch.nn.Module): the actor-critic, built as
                ``type(ac)(env.observation_space, env.action_space, **ac_kwargs)``.
            ac_kwargs (dict): the keyword arguments it was built with.
            env: the gymnasium env it acts in (its spec lets replay rebuild it).
        """
        self._saver = dict(ac=ac, ac_class=dotted_path(type(ac)),
                           ac_kwargs=importable_json(dict(ac_kwargs or {})),
                           env_spec=env_spec_json(env) if env is not None else None)

    def save_state(self, itr=None):
        """Save the agent to ``pyt_save/model.pt`` (and ``pyt_save/model<itr>.pt``), process 0 only.

        The file holds plain data only (readable with ``torch.load(weights_only=True)``):
        ``format``, ``ac_class`` and ``ac_kwargs`` (to rebuild the actor-critic),
        ``state_dict``, ``env_spec`` (gymnasium EnvSpec JSON or None) and ``epoch``.

        Args:
            itr (int): epoch number; also keeps a snapshot ``model<itr>.pt``. Without it,
                the epoch recorded is the latest the logger saw (logged as ``Epoch``,
                or given to save_state/save_checkpoint), -1 if none.
        """
        if self._saver is None:
            raise RuntimeError("call logger.setup_pytorch_saver(ac, ac_kwargs, env) before save_state()")
        if itr is not None:
            self._latest_epoch = int(itr)
        if proc_id() != 0:
            return
        agent = {
            "format": AGENT_FORMAT,
            "ac_class": self._saver["ac_class"],
            "ac_kwargs": self._saver["ac_kwargs"],
            "state_dict": self._saver["ac"].state_dict(),
            "env_spec": self._saver["env_spec"],
            "epoch": self._latest_epoch if self._latest_epoch is not None else -1,
        }
        self._materialize()
        folder = osp.join(self.output_dir, SAVE_SUBDIR)
        os.makedirs(folder, exist_ok=True)
        atomic_torch_save(agent, osp.join(folder, "model.pt"))
        if itr is not None:
            atomic_torch_save(agent, osp.join(folder, f"model{itr}.pt"))

    # -- checkpoints: where resume continues from -------------------------------------------

    def setup_checkpoint(self, **objects):
        """Say once what each checkpoint saves, besides the loop's variables, and restore puts back.

        ``logger.setup_checkpoint(ac=ac, pi_optimizer=pi_optimizer, env=env)``

        Args:
            **objects: name -> a network or an optimizer (saved as its state dict), a replay
                buffer (saved in chunks of what is new since the last checkpoint), or a
                gymnasium env (its exact state, saved as ``<name>_state``). The env named
                ``env`` is the one whose episode the loop is in (see :meth:`restore`).
        """
        self._checkpointed = dict(objects)

    def save_checkpoint(self, algo, epoch, state=None, **variables):
        """Save everything needed to continue the run after ``epoch`` (every process, its own file).

        After each epoch: ``logger.save_checkpoint('ppo', epoch, o=o)`` saves the objects of
        :meth:`setup_checkpoint` with the loop's variables. A thin layer over
        :func:`spinup_lib.checkpoint.save_checkpoint`, which owns the format.

        Args:
            algo (str): the algorithm's name, e.g. ``'ppo'``.
            epoch (int): the last finished epoch.
            state (dict): more entries, name -> what to save: objects with ``state_dict()``
                (networks, optimizers) are saved as their state dict (restore them with
                :func:`~spinup_lib.checkpoint.restore_checkpoint`), replay buffers as chunks
                of what is new; anything else must be plain data (numbers, strings, arrays,
                lists, dicts). Names in CHECKPOINT_KEYS are taken.
            **variables: the loop's variables (plain data), given back by :meth:`restore`.

        The logger adds the algorithm's call (recorded by :meth:`save_config`, with the env
        of :meth:`setup_pytorch_saver`), the time trained so far (the last ``Time`` logged),
        the random generators' states, the epoch and the number of processes. Written
        atomically to ``checkpoint.pt`` (process 0) or ``checkpoint.rank<k>.pt`` (process k).
        """
        entries = {(f"{name}_state" if is_env(obj) else name): (get_env_state(obj) if is_env(obj) else obj)
                   for name, obj in self._checkpointed.items()}
        for more in (state or {}), variables:
            taken = sorted(set(more) & set(entries))
            if taken:
                raise ValueError(f"checkpoint entries {taken} are given twice")
            entries.update(more)
        self._materialize()
        env_spec = self._saver["env_spec"] if self._saver is not None else None
        call = complete_call_record(self._call_record or {}, env_spec)
        _save_checkpoint(self.output_dir, algo, epoch, entries, call=call, elapsed=self._latest_time)
        self._latest_epoch = int(epoch)

    def restore(self, checkpoint, **variables):
        """Go on where ``checkpoint`` left off: ``start_epoch, o = logger.restore(resume_from, o=o)``.

        Without a checkpoint (a new run), the first epoch is 0 and the variables come back as
        given. With one (as ``spinup_lib.resume`` passes it), the objects of
        :meth:`setup_checkpoint` and the random generators are put back, the variables come
        back as saved, and the Time column counts on. An env that cannot go on with its
        episode (a Box2D world) starts a new one, with a one-line warning that says so
        (:func:`~spinup_lib.checkpoint.restore_run`).

        Returns:
            tuple: the first epoch to run, then the variables, in the order given.
        """
        if checkpoint is None:
            return (0, *variables.values())
        values = restore_run(checkpoint, self._checkpointed, variables)
        self._time_offset = float(checkpoint.get("elapsed") or 0.0)
        return (checkpoint["epoch"] + 1, *values)


def _as_flat_floats(value):
    """A stored value (number, array, tensor) as a flat float64 numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64).ravel()


class EpochLogger(Logger):
    """A Logger that also computes per-epoch statistics of values stored during the epoch.

    ``store(EpRet=ret)`` any number of times, then at the end of the epoch
    ``log_tabular('EpRet', with_min_and_max=True)`` writes the columns AverageEpRet,
    StdEpRet, MaxEpRet and MinEpRet, computed over the values of all processes.

    A key with no values in an epoch (e.g. no episode finished) is logged as NaN rather
    than failing: it happens legitimately with short epochs or many processes, and every
    process must still take part in computing the statistics.
    """

    def __init__(self, *args, **kwargs):
        """Same arguments as :class:`Logger`."""
        super().__init__(*args, **kwargs)
        self.epoch_dict = {}

    def store(self, **kwargs):
        """Add values to this epoch's lists, one per key.

        Each value may be a number, a numpy array or a torch tensor (arrays add all
        their elements).
        """
        for key, value in kwargs.items():
            self.epoch_dict.setdefault(key, []).append(_as_flat_floats(value))

    def _stored_values(self, key):
        stored = self.epoch_dict.get(key, [])
        return np.concatenate(stored) if stored else np.zeros(0)

    def log_tabular(self, key, val=None, with_min_and_max=False, average_only=False):
        """Log a column, or statistics of the values stored under ``key`` this epoch.

        Args:
            key (str): column name, or the key given to :meth:`store`.
            val: a value to log as it is; if None, log statistics of the stored values
                (then clear them): ``Average<key>`` and ``Std<key>``.
            with_min_and_max (bool): also ``Max<key>`` and ``Min<key>``.
            average_only (bool): only the average, in a column named ``<key>``.
        """
        if val is not None:
            super().log_tabular(key, val)
        else:
            stats = mpi_statistics_scalar(self._stored_values(key), with_min_and_max=with_min_and_max)
            super().log_tabular(key if average_only else "Average" + key, stats[0])
            if not average_only:
                super().log_tabular("Std" + key, stats[1])
            if with_min_and_max:
                super().log_tabular("Max" + key, stats[3])
                super().log_tabular("Min" + key, stats[2])
        self.epoch_dict[key] = []

    def get_stats(self, key):
        """Mean and standard deviation of the values stored under ``key`` (all processes)."""
        return mpi_statistics_scalar(self._stored_values(key))
