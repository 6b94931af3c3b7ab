"""The one exception type for user mistakes.

Library code raises :class:`UserError` when the input (a flag, a file, a checkpoint) is wrong in a
way the user can fix; the message names the file, flag or value and says how to fix it. The CLI
turns it into a one-line red message and exit code 2 (:class:`Diverged`, a run whose losses stopped
being finite, exits 3). Bugs raise anything else, with a traceback.
"""


class UserError(Exception):
    """A mistake the user can fix: bad flag value, missing file, foreign checkpoint, ..."""

    exit_code = 2


class Diverged(UserError):
    """Training produced a NaN or infinite loss or weight; the message names the last good checkpoint."""

    exit_code = 3
