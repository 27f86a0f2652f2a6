"""Names: a run's output directory from its experiment name, seed and date, and the names of
grid values in run names."""
import numbers
import os
import os.path as osp
import string
import time

from spinup_lib.errors import UserError
from spinup_lib.experiments import settings
from spinup_lib.run_files import default_data_dir, refuse_run_folder


# ----------------------------------------------------------------------------------------------
# Output directories
# ----------------------------------------------------------------------------------------------
def setup_logger_kwargs(exp_name, seed=None, data_dir=None, datestamp=False):
    """Choose a run's output directory; return ``dict(output_dir=..., exp_name=...)`` for the logger.

    * no seed, no datestamp: ``data_dir/exp_name``
    * a seed: ``data_dir/exp_name/exp_name_s<seed>``
    * datestamp: ``data_dir/YYYY-MM-DD_exp_name/YYYY-MM-DD_HH-MM-SS-exp_name_s<seed>``
      (and ``data_dir/YYYY-MM-DD_exp_name`` without a seed)

    Args:
        exp_name (str): name of the experiment; runs that differ only by seed share it.
        seed (int): the run's random seed, or None to leave it out of the path.
        data_dir (str): folder that holds all experiments (``~`` is expanded); default
            :func:`spinup_lib.run_files.default_data_dir`.
        datestamp (bool): put the date (and time) in the names; forced by ``FORCE_DATESTAMP``.
    """
    check_exp_name(exp_name)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise UserError(f"seed must be an int, got {seed!r}")
    datestamp = datestamp or settings.FORCE_DATESTAMP
    now = time.localtime()  # one clock reading, so the outer and inner stamps agree
    relpath = (time.strftime("%Y-%m-%d_", now) if datestamp else "") + exp_name
    if seed is not None:
        subfolder = f"{exp_name}_s{seed}"
        if datestamp:
            subfolder = time.strftime("%Y-%m-%d_%H-%M-%S-", now) + subfolder
        relpath = osp.join(relpath, subfolder)
    data_dir = osp.expanduser(os.fspath(data_dir)) if data_dir else default_data_dir()
    return dict(output_dir=osp.join(str(data_dir), relpath), exp_name=exp_name)


# A run's folder is '<date>-<time>-<exp_name>_s<seed>': 200 characters leave room for the rest
# within the 255 bytes file systems allow in one name.
MAX_EXP_NAME_LENGTH = 200
_SEPARATORS = "/\\:"  # ':' too: on Windows 'C:name' is a path on drive C


def check_exp_name(exp_name):
    """Raise UserError unless ``exp_name`` names one folder inside the data directory.

    Refused: empty names, '.' and '..', path separators (so no absolute paths and no way
    out of the data directory), control characters, and names over 200 characters.
    """
    if not isinstance(exp_name, str) or not exp_name.strip():
        raise UserError(f"the experiment name (--exp_name) must be a non-empty string, got {exp_name!r}")
    shown = exp_name if len(exp_name) <= 40 else exp_name[:37] + "..."
    if exp_name in (".", ".."):
        raise UserError(f"the experiment name (--exp_name) '{exp_name}' is a folder reference, not a name: "
                        "use letters, digits, '-' and '_' (results go in data_dir/NAME)")
    bad = sorted({c for c in exp_name if c in _SEPARATORS or ord(c) < 32 or ord(c) == 127})
    if bad:
        raise UserError(f"the experiment name (--exp_name) {shown!r} contains {', '.join(map(repr, bad))}: "
                        "a name is one folder inside the data directory (choose the directory with "
                        "--data_dir / data_dir=), so use letters, digits, '-', '_' and '.'")
    if len(exp_name.encode("utf-8")) > MAX_EXP_NAME_LENGTH:
        raise UserError(f"the experiment name (--exp_name) {shown!r} is {len(exp_name)} characters long: "
                        f"use at most {MAX_EXP_NAME_LENGTH} (shorter names or grid shorthands)")


#: What to do instead of writing into a folder that holds a run, in the command line's words.
INSTEAD_OF_A_USED_FOLDER = "another --exp_name or --data_dir, add --dt for a dated folder"


def check_run_dir_is_free(output_dir):
    """Raise UserError if ``output_dir`` already holds a run.

    A run is recognised by its progress.txt, and also by its config.json, checkpoints or saved
    agents (so a run whose progress.txt was deleted is not overwritten either).
    """
    refuse_run_folder(output_dir, instead=INSTEAD_OF_A_USED_FOLDER)


_ALPHANUMERIC = set(string.ascii_letters + string.digits)
_PATH_SAFE = _ALPHANUMERIC | set("-_")


def path_safe_name(value):
    """A value as text that is safe in a directory name.

    Objects with a ``__name__`` (functions, classes) give that name, lists and tuples join their
    items with '-', and everything is lower-cased with characters other than letters, digits,
    '-' and '_' replaced by '-': ``0.1`` -> ``0-1``, ``[64, 32]`` -> ``64-32``,
    ``torch.nn.ReLU`` -> ``relu``.
    """
    if hasattr(value, "__name__"):
        return path_safe_name(value.__name__)
    if isinstance(value, (list, tuple)):
        return "-".join(path_safe_name(item) for item in value)
    text = str(value).lower()
    return "".join(c if c in _PATH_SAFE else "-" for c in text)


def default_shorthand(key):
    """First three letters of each ':'-separated part of ``key`` (alphanumerics only), joined by '-'.

    ``clip_ratio`` -> ``cli``, ``ac_kwargs:hidden_sizes`` -> ``ac-hid``.
    """
    return "-".join("".join(c for c in part[:3] if c in _ALPHANUMERIC) for part in key.split(":"))


def display_value(value):
    """A short readable form of a value, for printing."""
    if hasattr(value, "__module__") and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)
