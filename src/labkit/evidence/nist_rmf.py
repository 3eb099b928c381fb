"""NIST AI RMF 1.0 (NIST AI 100-1, January 2023): its subcategories, paraphrased.

The framework's core has four functions (GOVERN, MAP, MEASURE, MANAGE),
each split into categories and subcategories such as ``MEASURE 2.4``.  The
identifiers below are the published ones; the meanings are short
paraphrases written for this workbook (read the framework itself for the
authoritative wording).  A risk register entry maps its controls to these
identifiers, and :func:`normalise` accepts the usual spellings::

    >>> normalise("measure-2.4"), normalise("MANAGE 2.4")
    ('MEASURE 2.4', 'MANAGE 2.4')
    >>> len(SUBCATEGORIES), "MANAGE 2.4" in SUBCATEGORIES
    (72, True)
"""

from __future__ import annotations

import difflib
import re

__all__ = ["SUBCATEGORIES", "FUNCTIONS", "normalise", "closest", "function_of"]

FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")

SUBCATEGORIES: dict[str, str] = {
    "GOVERN 1.1": "Legal and regulatory requirements that apply to the AI are known, managed "
                  "and written down.",
    "GOVERN 1.2": "Trustworthy-AI characteristics are built into policies, processes and "
                  "practices.",
    "GOVERN 1.3": "The amount of risk management needed is set from the organisation's risk "
                  "tolerance.",
    "GOVERN 1.4": "Risk management and its outcomes rest on transparent policies and controls.",
    "GOVERN 1.5": "Ongoing monitoring and periodic review of risk management are planned, with "
                  "roles and review frequency defined.",
    "GOVERN 1.6": "AI systems are inventoried, with resources matched to risk priorities.",
    "GOVERN 1.7": "AI systems can be decommissioned and phased out safely, without adding risk.",
    "GOVERN 2.1": "Roles, responsibilities and lines of communication for AI risk are "
                  "documented and clear to everyone involved.",
    "GOVERN 2.2": "Staff and partners are trained in AI risk management for their duties.",
    "GOVERN 2.3": "Executive leadership takes responsibility for decisions about AI risk.",
    "GOVERN 3.1": "Decisions about AI risk are informed by a diverse team.",
    "GOVERN 3.2": "Roles for human-AI configurations and human oversight are defined.",
    "GOVERN 4.1": "Policies foster critical thinking and a safety-first mindset.",
    "GOVERN 4.2": "Teams document the risks and impacts of the AI they build or use, and "
                  "communicate them.",
    "GOVERN 4.3": "Practices exist for AI testing, identifying incidents and sharing "
                  "information about them.",
    "GOVERN 5.1": "Feedback from people outside the team about impacts is collected and used.",
    "GOVERN 5.2": "Adjudicated feedback from relevant AI actors regularly feeds into design.",
    "GOVERN 6.1": "Policies address risks from third parties, including their rights.",
    "GOVERN 6.2": "Contingency processes handle failures or incidents in high-risk third-party "
                  "data or AI systems.",
    "MAP 1.1": "Intended purpose, context, users, laws and expected settings are understood "
               "and documented.",
    "MAP 1.2": "An interdisciplinary, diverse group establishes the context.",
    "MAP 1.3": "The organisation's mission and goals for the AI are documented.",
    "MAP 1.4": "The business value or context of use is defined (or re-evaluated).",
    "MAP 1.5": "Organisational risk tolerances are set and documented.",
    "MAP 1.6": "System requirements are gathered from relevant actors, with socio-technical "
               "implications considered.",
    "MAP 2.1": "The tasks the system supports and the methods used are defined.",
    "MAP 2.2": "The system's knowledge limits and how people oversee its output are "
               "documented.",
    "MAP 2.3": "Scientific integrity and test, evaluation, verification and validation (TEVV) "
               "considerations are documented.",
    "MAP 3.1": "Potential benefits are examined and documented.",
    "MAP 3.2": "Potential costs of errors, including non-monetary ones, are examined against "
               "risk tolerance.",
    "MAP 3.3": "The targeted scope of application is specified.",
    "MAP 3.4": "Operator proficiency with the system is defined and assessed.",
    "MAP 3.5": "Human oversight processes are defined, assessed and documented.",
    "MAP 4.1": "Technology and legal risks of components, including third-party data and "
               "software, are mapped.",
    "MAP 4.2": "Internal risk controls for components, including third-party AI, are "
               "documented.",
    "MAP 5.1": "Likelihood and size of each impact are identified and documented.",
    "MAP 5.2": "Regular engagement with relevant actors about impacts is in place.",
    "MEASURE 1.1": "Metrics for the most significant risks are chosen; what cannot be "
                   "measured is documented.",
    "MEASURE 1.2": "Metrics and the effectiveness of controls are reviewed and updated "
                   "regularly.",
    "MEASURE 1.3": "Independent assessors and domain experts take part in regular "
                   "assessments.",
    "MEASURE 2.1": "Test sets, metrics and TEVV tools are documented.",
    "MEASURE 2.2": "Evaluations involving people meet requirements and represent the "
                   "population.",
    "MEASURE 2.3": "Performance is measured for conditions like the deployment setting.",
    "MEASURE 2.4": "The system's functionality and behaviour are monitored in production.",
    "MEASURE 2.5": "The system is shown to be valid and reliable; limits of generalisation "
                   "are documented.",
    "MEASURE 2.6": "The system is evaluated regularly for safety, stays within risk tolerance "
                   "and can fail safely.",
    "MEASURE 2.7": "Security and resilience are evaluated and documented.",
    "MEASURE 2.8": "Transparency and accountability risks are examined and documented.",
    "MEASURE 2.9": "The model is explained and its output interpreted in context.",
    "MEASURE 2.10": "Privacy risk is examined and documented.",
    "MEASURE 2.11": "Fairness and bias are evaluated and the results documented.",
    "MEASURE 2.12": "Environmental impact of training and operation is assessed.",
    "MEASURE 2.13": "The effectiveness of the TEVV metrics and processes is evaluated.",
    "MEASURE 3.1": "Existing, unanticipated and emergent risks are identified and tracked over "
                   "time.",
    "MEASURE 3.2": "Risk tracking covers settings where risks are hard to measure.",
    "MEASURE 3.3": "End users can report problems and appeal outcomes, and this feeds "
                   "evaluation.",
    "MEASURE 4.1": "Measurement approaches fit the deployment context and draw on domain "
                   "experts.",
    "MEASURE 4.2": "Trustworthiness results in deployment are validated with experts and "
                   "relevant actors.",
    "MEASURE 4.3": "Measurable performance improvements or declines are identified and "
                   "documented.",
    "MANAGE 1.1": "A decision is made whether the system meets its purpose and whether "
                  "deployment should go ahead.",
    "MANAGE 1.2": "Risk treatment is prioritised by impact, likelihood and resources.",
    "MANAGE 1.3": "Responses to high-priority risks (mitigate, transfer, avoid, accept) are "
                  "planned and documented.",
    "MANAGE 1.4": "Residual risks to acquirers and end users are documented.",
    "MANAGE 2.1": "Resources for managing risk, and non-AI alternatives, are considered.",
    "MANAGE 2.2": "Mechanisms sustain the value of the deployed system.",
    "MANAGE 2.3": "Procedures exist to respond to and recover from a newly found risk.",
    "MANAGE 2.4": "Mechanisms and assigned responsibilities exist to supersede, disengage or "
                  "deactivate a system that behaves outside its intended use.",
    "MANAGE 3.1": "Third-party risks and benefits are monitored and controlled.",
    "MANAGE 3.2": "Pre-trained models are monitored as part of regular maintenance.",
    "MANAGE 4.1": "Post-deployment monitoring plans cover user input, appeal and override, "
                  "decommissioning, incident response, recovery and change management.",
    "MANAGE 4.2": "Continual improvement activities are built into system updates.",
    "MANAGE 4.3": "Incidents and errors are communicated to those affected; tracking, response "
                  "and recovery are documented.",
}

_SHORT = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
_PATTERN = re.compile(r"^\s*([A-Za-z]+)[\s\-_.]*(\d+)\.(\d+)\s*$")


def normalise(identifier: str) -> str:
    """``'MEASURE 2.4'`` from ``'measure-2.4'``, ``'MS 2.4'`` and the like (else unchanged)."""
    match = _PATTERN.match(str(identifier))
    if not match:
        return str(identifier).strip()
    word = match.group(1).upper()
    word = _SHORT.get(word, word)
    return f"{word} {int(match.group(2))}.{int(match.group(3))}"


def closest(identifier: str) -> str | None:
    """The known subcategory nearest to ``identifier``, for error messages."""
    found = difflib.get_close_matches(normalise(identifier), list(SUBCATEGORIES), n=1,
                                      cutoff=0.6)
    return found[0] if found else None


def function_of(identifier: str) -> str:
    """``'MANAGE'`` for ``'MANAGE 2.4'``."""
    return normalise(identifier).split(" ", 1)[0]
