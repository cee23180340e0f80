"""The one exception type for expected failures caused by the user's input.

Raise :class:`UserError` with a message that names the input and says how to fix it; the CLI's
``main`` prints it as one line and exits with status 2, without a traceback. It subclasses
``ValueError`` so library callers that already catch ``ValueError`` keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """A bad path, recipe value, flag combination or missing optional package (not a bug)."""
