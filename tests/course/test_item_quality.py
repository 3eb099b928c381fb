"""Multiple choice across the workbook, read from source/: items a test-wise guess cannot pass.

The rules (item-writing guidance the labs follow): in every item the longest option is at most
twice the shortest; across the workbook the key is the unique longest option in at most 25% of
items and no letter is the key of more than 35%; no option of one item is another item's key.
Items drawn per learner (the timed assessment's bank) are held to the same rules by
tests/labs/test_assessment.py.
"""

from __future__ import annotations

import collections
import itertools
from pathlib import Path

import pytest

from labkit.course.items import lab_items
from labkit.course.layout import Course

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.at(ROOT)
ITEMS = [item for lab in COURSE.labs() for item in lab_items(COURSE, lab)
         if item.kind == "multiple choice" and item.key is not None]


def test_the_workbook_has_its_multiple_choice_items():
    assert len(ITEMS) >= 20
    assert {item.lab for item in ITEMS} >= {"lab0-orientation", "lab1-system-shapes",
                                            "lab2-scaling-cost-reliability",
                                            "lab3-evaluation-governance",
                                            "lab4-llm-serving-agents"}


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: f"{i.lab}:{i.grade_id}")
def test_options_are_close_in_length(item):
    lengths = [len(text) for text in item.options.values()]
    assert len(lengths) >= 3 and max(lengths) <= 2 * min(lengths), item.options


def test_the_key_is_seldom_the_unique_longest_option():
    longest = [f"{i.lab}:{i.grade_id}" for i in ITEMS
               if len(i.options[i.key]) > max(len(t) for k, t in i.options.items() if k != i.key)]
    assert len(longest) <= 0.25 * len(ITEMS), longest


def test_no_letter_is_the_key_of_more_than_35_percent():
    letters = collections.Counter(i.key for i in ITEMS)
    assert max(letters.values()) <= 0.35 * len(ITEMS), letters


def test_no_option_repeats_another_items_key():
    for a, b in itertools.permutations(ITEMS, 2):
        key = a.options[a.key].strip().lower()
        assert key not in {t.strip().lower() for t in b.options.values()}, (a.grade_id, b.grade_id)
