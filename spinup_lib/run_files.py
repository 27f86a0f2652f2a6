"""The files a run leaves, and the folder that holds them.

* where runs go unless told otherwise (:func:`default_data_dir`);
* the names of a run's files, and whether a folder already holds a run
  (:func:`existing_run_files`, :func:`refuse_run_folder`: a new run never writes into one);
* every file written all at once (:class:`AtomicFile`), so that a run killed part way never
  leaves one half-written; :func:`load_plain_file` reads a file torch.save wrote, as plain data;
* the complete rows of a table a killed run may have left half-written (:func:`complete_lines`).
"""
import contextlib
import os
import os.path as osp
import pickle
import re
import shlex

import torch

from spinup_lib.errors import UserError
from spinup_lib.lifecycle import process_is_alive

PROGRESS_FNAME = "progress.txt"
CONFIG_FNAME = "config.json"
#: Where a run saves its agent for replay (``model.pt``, ``model<epoch>.pt``), and that file's layout version.
SAVE_SUBDIR = "pyt_save"
AGENT_FORMAT = 1
#: Folder of a run directory holding the replay buffers' chunks (spinup_lib.buffer_chunks).
CHUNKS_DIRNAME = "checkpoint_chunks"
#: Files and folders that make a directory a run's: a new run never writes into one.
RUN_FILES = (PROGRESS_FNAME, CONFIG_FNAME, "checkpoint.pt", SAVE_SUBDIR, CHUNKS_DIRNAME)

_TEMPORARY_FILE = re.compile(r"^\..+\.(\d+)\.tmp(\.\w+)?$")


class AtomicFile:
    """A file written all at once, so that a run killed while writing it keeps the previous one.

    ``with AtomicFile(path) as temporary:`` gives a temporary file ``.<name>.<pid>.tmp`` in the
    same folder to write; when the block ends without error it is flushed to disk and renamed
    over ``path`` in one step (``os.replace``), and after an error it is removed. A temporary
    file left by a process killed outright is removed by :func:`remove_stale_temporary_files`.
    ``suffix`` ends the temporary name, for writers that read the format from it (``.mp4``).
    """

    def __init__(self, path, suffix=""):
        self.path = os.fspath(path)
        self.folder = osp.dirname(osp.abspath(self.path))
        self.temporary = osp.join(self.folder, f".{osp.basename(self.path)}.{os.getpid()}.tmp{suffix}")

    def __enter__(self):
        # Made now with mode 0o666, so that the umask decides its permissions as for open().
        os.close(os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        return self.temporary

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False

    def commit(self):
        """Put the temporary file in place of ``path``: on disk first, then renamed in one step."""
        try:
            descriptor = os.open(self.temporary, os.O_RDWR)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(self.temporary, self.path)
        except BaseException:
            self.discard()
            raise
        _fsync_directory(self.folder)

    def discard(self):
        """Remove the temporary file; ``path`` stays as it was."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.temporary)


def atomic_write(path, data):
    """Write ``data`` (text, as UTF-8, or bytes) to ``path`` all at once (see :class:`AtomicFile`)."""
    with AtomicFile(path) as temporary, open(temporary, "wb") as file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)


def atomic_torch_save(obj, path):
    """``torch.save(obj, path)`` all at once (see :class:`AtomicFile`); a failed save re-raises."""
    with AtomicFile(path) as temporary, open(temporary, "wb") as file:
        torch.save(obj, file)


def _fsync_directory(folder):
    """Make a rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_stale_temporary_files(folder):
    """Remove the temporary files of :func:`atomic_torch_save` that a killed process left in ``folder``.

    Only files named ``.<name>.<pid>.tmp`` whose process no longer runs are removed.

    Returns:
        list of str: the paths removed.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY_FILE.match(name)
        if match and not process_is_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(osp.join(folder, name))
                removed.append(osp.join(folder, name))
    return removed



def load_plain_file(path):
    """``torch.load(path, weights_only=True)``, with one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise UserError(f"{path} holds Python objects ({found.group(1)}), not plain data: it was written by "
                            "an older spinup_lib or by another program, and is not loaded since loading it "
                            "could run code") from None
        raise UserError(f"checkpoint {path} is corrupt or unreadable (not a file torch.save wrote); "
                        "restore it from a copy or start a new run") from None
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"checkpoint {path} is corrupt or unreadable ({reason}); "
                        "restore it from a copy or start a new run") from None


# ----------------------------------------------------------------------------------------
# Where runs go, and folders that already hold one
# ----------------------------------------------------------------------------------------

def __getattr__(name):
    # Read when used: the environment variable as it is then, unless a value was assigned here
    # (or as spinup_lib.run_utils.DEFAULT_DATA_DIR, which assigns it here).
    if name == "DEFAULT_DATA_DIR":
        return default_data_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_data_dir():
    """Where runs go unless told otherwise.

    ``DEFAULT_DATA_DIR`` if assigned (``spinup_lib.run_utils.DEFAULT_DATA_DIR = path``; ``del``
    undoes it), else ``$SPINUP_DATA_DIR``, else ``./data`` under the working directory. ``~`` is
    expanded.
    """
    assigned = globals().get("DEFAULT_DATA_DIR")
    if assigned is not None:
        return osp.expanduser(os.fspath(assigned))
    from_env = os.environ.get("SPINUP_DATA_DIR")
    if from_env:
        return osp.expanduser(from_env)
    return osp.abspath("data")


def make_new_folder(stem):
    """Create the folder ``stem``, or ``stem_1``, ``stem_2``... the first that does not exist; return its path.

    Made at once (empty), so that a second run or execution started in the same second, whose
    stem is the same, takes the next name.
    """
    path, number = stem, 0
    while True:
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            number += 1
            path = f"{stem}_{number}"


def existing_run_files(output_dir, output_fname=PROGRESS_FNAME):
    """The files in ``output_dir`` that show a run was there (sorted names; empty if none).

    A run directory is recognised by its table, config.json, checkpoints or saved agents,
    so one whose progress.txt was deleted is still a run's (and is not written into).
    """
    try:
        names = os.listdir(output_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    markers = set(RUN_FILES) | {output_fname}
    return sorted(name for name in names
                  if name in markers or (name.startswith("checkpoint.rank") and name.endswith(".pt")))


def refuse_run_folder(output_dir, output_fname=PROGRESS_FNAME, instead="another exp_name, seed or data_dir"):
    """Raise UserError if ``output_dir`` holds files of a run, saying what to do ``instead``."""
    found = existing_run_files(output_dir, output_fname)
    if output_fname in found:
        raise UserError(f"{output_dir} already holds a run ({output_fname}): choose {instead}, or continue "
                        f"it with `python -m spinup_lib.run resume {shlex.quote(str(output_dir))}`")
    if found:
        raise UserError(f"{output_dir} holds files of a run ({', '.join(found)}) but no {output_fname}: it is "
                        f"not written into; choose {instead}, or move those files away")


def complete_lines(text):
    """The lines of ``text`` that end in a newline: a row half-written when a run was killed does not count."""
    return text[: text.rfind("\n") + 1].splitlines()


def first_free_path(path):
    """``path`` if nothing is there, else ``<stem>_1<ext>``, ``<stem>_2<ext>``... whichever is free."""
    stem, ext = osp.splitext(path)
    candidate, number = path, 0
    while osp.exists(candidate):
        number += 1
        candidate = f"{stem}_{number}{ext}"
    return candidate
