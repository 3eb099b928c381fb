"""Per-lab scenarios and task judges shared by each lab notebook and its hidden tests.

One package per lab (``labkit.labs.lab1`` ...: ``scenarios``, ``analysis``,
``judges``, views) and :mod:`labkit.labs.common` for what they share: the one
judge signature ``judge_*(answer, *, seeds) -> list[str]``, the one form check
of a knob answer, seeded cases, tables and the panel builder.  The seeds used
for grading live in the notebooks' hidden tests, never in these modules.
"""
