"""The files a run leaves: each written so that a run killed part way never leaves one half-written.

A file is written to a temporary file ``.<name>.<pid>.tmp`` in the same folder and renamed over
its final name in one step (:func:`atomic_torch_save`); a temporary file left by a process killed
outright is removed by :func:`remove_stale_temporary_files`. :func:`load_plain_file` reads a file
``torch.save`` wrote, as plain data only.
"""
import contextlib
import os
import os.path as osp
import pickle
import re

import torch

from spinup_lib.errors import UserError
from spinup_lib.lifecycle import process_is_alive

_TEMPORARY_FILE = re.compile(r"^\..+\.(\d+)\.tmp$")


def atomic_torch_save(obj, path):
    """``torch.save(obj, path)`` such that ``path`` is never left half-written.

    The data goes to a temporary file ``.<name>.<pid>.tmp`` in the same directory, is flushed
    to disk, then renamed over ``path`` in one step (``os.replace``). A run killed during the
    save keeps its previous file; a failed save removes the temporary file and re-raises. (A
    temporary file left by a process killed outright is removed by
    :func:`remove_stale_temporary_files`.)
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    temporary = osp.join(folder, f".{osp.basename(path)}.{os.getpid()}.tmp")
    # os.open with mode 0o666 lets the umask decide permissions, like a plain open() would.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_directory(folder)


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

