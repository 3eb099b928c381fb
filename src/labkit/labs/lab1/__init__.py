"""Lab 1, system shapes: the scenarios, scorecards and task judges the notebook shares.

The lab notebook and its hidden tests both import this package, so a scenario
is written down once.  Its modules: ``scenarios`` (knob dicts, budgets, allowed
task knobs, the case each seed stands for), ``draws`` (each learner's numbers
and the task scenarios built from them), ``analysis`` (scorecards, tables next
to theory, what an audit trail says), ``judges`` (graded tasks), ``views`` (a
figure) and ``sketch`` (the CPD system sketch's checks).

Each graded task has a judge with the labs' one signature,
``judge_*(answer, *, seeds) -> list[str]`` (see :mod:`labkit.labs.common`), and
``learner=`` (default: this kernel's learner): it runs labkit with the
learner's answer on the given seeds, with the learner's own numbers, and
returns a list of problems, each one sentence saying what failed, on which seed
and where to look, never naming an answer that passes (an empty list means it
passes).  The seeds a learner is graded on live in the notebook's hidden tests,
not here.  ``VARIANTS`` maps each check cell with numbers of its own to the
draw of those numbers.

Activities:

1. *Three shapes, one workload*: batch, real-time and retrieval-augmented (RAG)
   serving of the same traffic, against five budgets (latency, cost, quality,
   freshness, leaks).
2. *Latency is a design constraint*: utilisation against queueing, and the
   fewest replicas for a p95 budget (Erlang C, confirmed by simulation).
3. *Boundaries*: writes that go straight through against an approval path
   with a review queue.
4. *Orchestration and traceability*: reading the audit trail of a harmful
   answer (see :func:`harmful_request_ids` and ``Result.trace``).
5. *The data path has a capacity too*: a retrieval hop with one server holds
   every request up while the model idles; more model replicas do not help,
   and :func:`hop_table` shows where the time goes.

Every activity opens with a prediction the learner writes before the run
(``prediction_N``, not marked), shown next to the result with :func:`beside`;
``labkit evidence`` gathers the predictions into the evidence pack.

>>> sorted(SHAPES)
['batch', 'rag', 'realtime']
>>> judge_replicas(3, seeds=(1,), learner="ada")[0]
'replicas_needed: 3 is not the fewest replicas whose p95 (Erlang C) meets the 450 ms budget ...'
"""

from __future__ import annotations

from labkit.labs.common import beside, knob_answer_problems, panel, table
from labkit.labs.lab1.analysis import (
                                       broken_budgets,
                                       compare_shapes,
                                       harmful_request_ids,
                                       hop_table,
                                       incident_requests,
                                       incident_run,
                                       review_wait_theory_s,
                                       shape_scorecard,
                                       utilisation_table,
)
from labkit.labs.lab1.draws import (
                                       VARIANTS,
                                       boundary_draw,
                                       boundary_task,
                                       hop_draw,
                                       hop_task,
                                       incident_draw,
                                       incident_scenario,
                                       little_draw,
                                       replica_draw,
                                       replica_task,
                                       shape_budgets,
                                       shape_draw,
                                       shape_workload,
)
from labkit.labs.lab1.judges import (
                                       EXPLAIN_KEYS,
                                       JUDGES,
                                       collect_explanations,
                                       hop_budget_problems,
                                       judge_boundary,
                                       judge_hops,
                                       judge_incident_report,
                                       judge_q4,
                                       judge_replicas,
                                       judge_shape,
)
from labkit.labs.lab1.scenarios import (
                                       BOUNDARY_SCENARIO,
                                       BOUNDARY_TASK_KNOBS,
                                       DATAPATH_SCENARIO,
                                       HOP_BUDGETS,
                                       HOP_TASK_KNOBS,
                                       HOPS,
                                       INCIDENT_CASES,
                                       INCIDENT_SCENARIO,
                                       LATENCY_SCENARIO,
                                       REPLICA_BASE,
                                       REVIEW_P95_BUDGET_S,
                                       SHAPE_BUDGETS,
                                       SHAPE_CHANGE_TIMES_S,
                                       SHAPE_TASK_KNOBS,
                                       SHAPE_WORKLOAD,
                                       SHAPES,
                                       incident_case,
                                       shape_case,
)
from labkit.labs.lab1.sketch import sketch_data, sketch_problems
from labkit.labs.lab1.views import utilisation_figure

__all__ = [
    "SHAPE_WORKLOAD", "SHAPES", "SHAPE_BUDGETS", "SHAPE_TASK_KNOBS", "SHAPE_CHANGE_TIMES_S",
    "shape_case", "shape_draw", "shape_workload", "shape_budgets", "shape_scorecard",
    "compare_shapes", "judge_shape",
    "LATENCY_SCENARIO", "REPLICA_BASE", "replica_draw", "replica_task", "utilisation_table",
    "judge_replicas",
    "BOUNDARY_SCENARIO", "BOUNDARY_TASK_KNOBS", "REVIEW_P95_BUDGET_S", "boundary_draw",
    "boundary_task", "review_wait_theory_s", "judge_boundary",
    "INCIDENT_SCENARIO", "INCIDENT_CASES", "incident_case", "incident_draw", "incident_scenario",
    "incident_run", "incident_requests", "harmful_request_ids", "EXPLAIN_KEYS",
    "collect_explanations", "judge_incident_report",
    "little_draw", "judge_q4",
    "DATAPATH_SCENARIO", "HOPS", "HOP_TASK_KNOBS", "HOP_BUDGETS", "hop_draw", "hop_task",
    "hop_table", "hop_budget_problems", "judge_hops", "beside", "broken_budgets",
    "JUDGES", "VARIANTS", "knob_answer_problems", "table", "utilisation_figure", "panel",
    "sketch_problems", "sketch_data",
]
