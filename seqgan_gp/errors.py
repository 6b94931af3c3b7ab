"""The one exception type for user mistakes.

Library code raises :class:`UserError` when the input (a flag, a file, a checkpoint) is wrong in a
way the user can fix; the message names the file, flag or value and says how to fix it. The CLI
turns it into a one-line red message and exit code 2. Bugs raise anything else, with a traceback.
"""


class UserError(Exception):
    """A mistake the user can fix: bad flag value, missing file, foreign checkpoint, ..."""
