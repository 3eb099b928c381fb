"""The NIST AI RMF 1.0 subcategory table."""

from __future__ import annotations

import re

from labkit.evidence.nist_rmf import FUNCTIONS, SUBCATEGORIES, closest, function_of, normalise

# The twelve the workbook's reference lists for risk register entries.
REFERENCE = ("GOVERN 1.5", "GOVERN 2.1", "GOVERN 4.3", "GOVERN 6.2", "MAP 3.5", "MEASURE 2.4",
             "MEASURE 2.6", "MEASURE 3.1", "MANAGE 2.3", "MANAGE 2.4", "MANAGE 4.1",
             "MANAGE 4.3")


def test_the_framework_has_72_subcategories_in_four_functions() -> None:
    """AI RMF 1.0's core: GOVERN 19, MAP 18, MEASURE 22, MANAGE 13 subcategories."""
    counts = {f: sum(1 for k in SUBCATEGORIES if k.startswith(f + " ")) for f in FUNCTIONS}
    assert counts == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}
    assert all(re.fullmatch(r"(GOVERN|MAP|MEASURE|MANAGE) \d\.\d{1,2}", k) for k in
               SUBCATEGORIES)
    assert all(v.endswith(".") and len(v.split()) >= 5 for v in SUBCATEGORIES.values())


def test_the_reference_subcategories_are_present() -> None:
    assert set(REFERENCE) <= set(SUBCATEGORIES)


def test_spellings_are_normalised() -> None:
    assert normalise("measure-2.4") == "MEASURE 2.4"
    assert normalise("MS 2.4") == "MEASURE 2.4"
    assert normalise("gv_1.05") == "GOVERN 1.5"
    assert normalise(" whatever ") == "whatever"
    assert function_of("mg 4.3") == "MANAGE"
    assert closest("MEASURE 2.44") == "MEASURE 2.4"
    assert closest("xyz") is None
