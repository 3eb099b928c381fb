"""Per-lab scenarios and task judges shared by each lab notebook and its hidden tests.

One module per lab (``labkit.labs.lab1`` ...): scenarios as knob dicts, small
scorecards, and ``judge_*`` functions that run labkit on given seeds and return
a list of problems in words.  The seeds used for grading live in the notebooks'
hidden tests, never in these modules.
"""
