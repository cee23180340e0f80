"""The two base classes of expected failures: bad input (:class:`UserError`) and a setup that
cannot do the job (:class:`SetupError`).

Raise either with a message that names the cause and says how to fix it; the CLI's ``main``
catches both (and the standard exceptions bad input raises) in one place, prints one
``error: ...`` line and exits with status 2, without a traceback. :class:`UserError` subclasses
``ValueError`` so library callers that already catch ``ValueError`` keep working;
:class:`SetupError` deliberately does not, so an ``except ValueError`` that handles bad input
never swallows a missing grader or an endpoint that does not answer.
"""

from __future__ import annotations


class UserError(ValueError):
    """A bad path, recipe value, flag combination or missing optional package (not a bug)."""


class SetupError(RuntimeError):
    """What the command needs is unavailable: a backend or grader library, benchmark data, an
    endpoint that answers (not a bug, not bad input)."""
