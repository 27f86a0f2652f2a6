"""A run's epoch table, progress.txt: a header, then one tab-separated row per epoch.

Written line by line by process 0, each row flushed, so a table is read while its run goes on.
A new run's file is created at its first write, and never over another run's
(:meth:`ProgressTable.create`). A resumed run continues its old table: the columns must be the
same, and before the first new row, the rows of epochs that run again (their checkpoint was not
saved) and a row half-written when the run was killed are dropped (:meth:`ProgressTable.continue_from`).
"""
import os
import os.path as osp
import weakref

from spinup_lib.errors import UserError
from spinup_lib.run_files import atomic_write, complete_lines


class ProgressTable:
    """The epoch table at ``path``: with ``resume``, the one a run left there, continued."""

    def __init__(self, path, resume=False):
        self.path = os.fspath(path)
        self.file = None
        self.header = None  # the columns of the table on disk
        self._finalizer = None
        if resume:
            if osp.exists(self.path):
                with open(self.path) as file:
                    first_line = file.readline()
                if first_line.endswith("\n"):
                    self.header = first_line.rstrip("\n").split("\t")
            # Nothing is changed before the first row shows that the columns match.
            self._open("a")

    def _open(self, mode):
        self.file = open(self.path, mode)
        # Closes the file when the table is garbage collected or Python exits.
        self._finalizer = weakref.finalize(self, self.file.close)

    def create(self):
        """Create the (empty) file; FileExistsError if another run made one since the folder was checked."""
        self._open("x")

    def continue_from(self, columns, first_epoch):
        """Before a resumed run's first row: check its ``columns``, drop the rows it writes again.

        Args:
            columns (list of str): the columns the run logs.
            first_epoch: the Epoch of its first row (None: keep every row).

        Returns:
            str: what was dropped, in words, or None when the table was left as it was.

        Raises:
            UserError: the run logs other columns than the table has.
        """
        folder, name = osp.split(self.path)
        if self.header is not None and self.header != list(columns):
            missing = [key for key in self.header if key not in columns]
            extra = [key for key in columns if key not in self.header]
            detail = f"missing {missing}, new {extra}" if missing or extra else "in another order"
            raise UserError(f"cannot resume {folder}: this run logs other columns than its {name} ({detail}); "
                            "resume with the same algorithm and library version")
        with open(self.path) as file:
            content = file.read()
        lines = complete_lines(content)
        if self.header is None:  # no header yet: the table starts afresh
            header, rows, kept = [], [], []
        else:
            header, rows = lines[:1], lines[1:]
            kept = [row for row in rows if not _is_redone(row, columns, first_epoch)]
        new_content = "".join(line + "\n" for line in header + kept)
        if new_content == content:
            return None
        self.close()
        atomic_write(self.path, new_content)
        self._open("a")
        return (f"dropped {len(rows) - len(kept)} rows of epochs that run again"
                + (" and a half-written row" if not content.endswith("\n") else ""))

    def write_row(self, columns, values):
        """Append a row (after the header, when the table has none yet)."""
        if self.header is None:
            self.file.write("\t".join(columns) + "\n")
            self.header = list(columns)
        self.file.write("\t".join(map(str, values)) + "\n")
        self.file.flush()

    def close(self):
        if self.file is not None:
            self._finalizer.detach()
            self.file.close()


def _is_redone(row, columns, first_epoch):
    """True for an old row whose Epoch is at or after the first epoch a resumed run logs."""
    if "Epoch" not in columns or first_epoch is None:
        return False
    fields = row.split("\t")
    try:
        return float(fields[list(columns).index("Epoch")]) >= float(first_epoch)
    except (IndexError, ValueError, TypeError):
        return False  # not a number: keep the row
