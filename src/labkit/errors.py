"""One base class for the errors labkit raises on purpose.

Every error that reports bad input (a knob name or value, a seed, a file, a
learner's answer) derives from :class:`LabkitError`, and its message names
what was wrong, the rule and the value.  Front ends catch this one class:
``labkit`` (the CLI) prints the message and exits with status 2, panels show
it as a message instead of a traceback.  Anything else that escapes is a bug.

Errors that are also plain value errors keep :class:`ValueError` as a second
base, so ``except ValueError`` in older code still catches them.

>>> from labkit.knobs import KnobError
>>> issubclass(KnobError, LabkitError) and issubclass(KnobError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["LabkitError", "MonitorError"]


class LabkitError(Exception):
    """Bad input to labkit; the message names the thing, the rule and the value."""


class MonitorError(LabkitError, ValueError):
    """Bad input to the monitoring simulator (an alert rule, a metric, a record)."""
