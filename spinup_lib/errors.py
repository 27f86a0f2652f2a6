"""The one exception type for mistakes a user can make.

Anything the user can fix (a typo in an algorithm name, an unknown environment id,
a run directory that already holds results, a missing checkpoint...) raises
:class:`UserError` with a one-line message that says what was wrong and what to do.
The command line prints that line and exits with status 2, no traceback (:func:`exit_status`).
"""
import sys


class UserError(Exception):
    """A mistake in what the user asked for, explained in one line."""


def exit_status(main, *args, **kwargs):
    """Run a command line's ``main(*args, **kwargs)``; return its exit status.

    A :class:`UserError` is printed to stderr as one line, ``error: <message>``, and gives 2.
    """
    try:
        return main(*args, **kwargs)
    except UserError as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
