"""Replay buffers in checkpoints, saved in chunks of what is new since the previous checkpoint.

A replay buffer is not stored in the checkpoint itself: each checkpoint appends the transitions
stored since the previous one to ``checkpoint_chunks/<name>/<first>-<end>.pt`` (global step
indices), and the checkpoint lists the chunks that make up the buffer, with its ring pointer and
size (:class:`ReplayChunks`). So a checkpoint costs time in proportion to the steps of an epoch,
not to the size of the buffer (see benchmarks/checkpoint_cost.py). Chunks are written before the
checkpoint that lists them, and chunks no longer listed are removed after it, so a checkpoint on
disk always finds its chunks.
"""
import contextlib
import os
import os.path as osp
import weakref

import numpy as np
import torch

from spinup_lib.errors import UserError
from spinup_lib.run_files import (_TEMPORARY_FILE, CHUNKS_DIRNAME, atomic_torch_save, load_plain_file,
                                  remove_stale_temporary_files)

REPLAY_FIELDS = ("obs", "obs2", "act", "rew", "done")

# buffer -> dict(folder, total, chunks): what the latest checkpoint on disk holds of it.
_replay_logs = weakref.WeakKeyDictionary()


def is_replay_buffer(value):
    from spinup_lib.core import ReplayBuffer

    return isinstance(value, ReplayBuffer)


def _chunk_folder(run_dir, name, rank):
    return osp.join(run_dir, CHUNKS_DIRNAME, name if rank == 0 else f"{name}.rank{rank}")


def save_replay_buffer(buffer, run_dir, name, rank):
    """Write the transitions stored since the last checkpoint; return (descriptor, after_save).

    Global index g (the g-th transition ever stored) lives in slot ``g % max_size``; the
    buffer holds indices ``[total - size, total)``. ``after_save`` is called once the
    checkpoint listing the chunks is on disk: it removes chunks no longer needed.
    """
    folder = _chunk_folder(run_dir, name, rank)
    key = osp.realpath(folder)
    total, max_size = int(buffer.total_stored), int(buffer.max_size)
    oldest = total - int(buffer.size)  # the oldest transition still in the buffer
    log = _replay_logs.get(buffer)
    if log is None or log["folder"] != key or log["total"] > total:
        chunks, start = [], oldest  # nothing on disk to build on: write the whole buffer once
    else:
        chunks = [chunk for chunk in log["chunks"] if chunk[1] > oldest]
        start = max(log["total"], oldest)
    if total > start:
        chunk_name = f"{start:012d}-{total:012d}.pt"
        slots = np.arange(start, total) % max_size
        data = {field: torch.from_numpy(getattr(buffer, f"{field}_buf")[slots]) for field in REPLAY_FIELDS}
        data.update(start=start, end=total)
        os.makedirs(folder, exist_ok=True)
        atomic_torch_save(data, osp.join(folder, chunk_name))
        chunks.append([start, total, chunk_name])
    descriptor = {"__replay_chunks__": dict(
        folder=osp.relpath(folder, run_dir), chunks=[list(c) for c in chunks], ptr=int(buffer.ptr),
        size=int(buffer.size), max_size=max_size, total=total, rng=buffer.rng.bit_generator.state,
        shapes={field: list(getattr(buffer, f"{field}_buf").shape[1:]) for field in REPLAY_FIELDS})}

    def after_save():
        _replay_logs[buffer] = dict(folder=key, total=total, chunks=chunks)
        keep = {chunk[2] for chunk in chunks}
        with contextlib.suppress(OSError):
            for file_name in os.listdir(folder):
                if file_name not in keep and not _TEMPORARY_FILE.match(file_name):
                    os.remove(osp.join(folder, file_name))
        remove_stale_temporary_files(folder)

    return descriptor, after_save


class ReplayChunks:
    """A replay buffer as a checkpoint lists it: chunk files in ``folder``, ring pointer and size."""

    def __init__(self, run_dir, record):
        self.record = record
        self.folder = osp.join(os.fspath(run_dir), record["folder"])

    def __repr__(self):
        return f"ReplayChunks({self.folder!r}, size={self.record['size']})"

    def load_into(self, buffer):
        """Fill ``buffer`` (a core.ReplayBuffer of the same size) with the saved transitions."""
        record = self.record
        if record["max_size"] != buffer.max_size:
            raise UserError(f"checkpoint replay buffer holds {record['max_size']} steps, this run asks for "
                            f"{buffer.max_size}: resume with the run's own replay_size")
        for field in REPLAY_FIELDS:
            if list(getattr(buffer, f"{field}_buf").shape[1:]) != list(record["shapes"][field]):
                raise UserError(f"the checkpoint's replay buffer holds {field} of shape {record['shapes'][field]}, "
                                "not this env's: resume with the run's own env")
        total, size = int(record["total"]), int(record["size"])
        oldest = total - size
        covered = oldest
        for start, end, name in sorted(record["chunks"]):
            path = osp.join(self.folder, name)
            if not osp.isfile(path):
                raise UserError(f"the checkpoint's replay buffer chunk {path} is missing: restore it from a "
                                "copy of the run or start a new run")
            data = load_plain_file(path)
            if not isinstance(data, dict) or data.get("start") != start or data.get("end") != end:
                raise UserError(f"{path} is not the replay buffer chunk the checkpoint lists")
            if start > covered:
                break
            indices = np.arange(start, end)
            wanted = indices >= oldest
            slots = indices[wanted] % buffer.max_size
            for field in REPLAY_FIELDS:
                getattr(buffer, f"{field}_buf")[slots] = data[field].numpy()[wanted]
            covered = max(covered, end)
        if covered < total:
            raise UserError(f"the checkpoint's replay buffer chunks in {self.folder} stop at step {covered} "
                            f"of {total}: restore them from a copy of the run or start a new run")
        buffer.ptr, buffer.size, buffer.total_stored = int(record["ptr"]), size, total
        buffer.rng.bit_generator.state = record["rng"]
        _replay_logs[buffer] = dict(folder=osp.realpath(self.folder), total=total,
                                    chunks=[list(c) for c in record["chunks"]])

