"""coprod-kg locate: the span, its line and section, or the nearest passage and the diff.

Expected lines and wording are read from the report's text (see ../shared/source)."""

from __future__ import annotations

import pytest

from conftest import ROOT, SOURCE
from curate_helpers import run_cli

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"the report's text is not at {SOURCE}")


def locate(text):
    return run_cli("--project", ROOT, "locate", "slay-stephens-2013", text)


def test_a_verbatim_span_gives_its_line_and_section():
    code, out, _ = locate("A&E use decreased by 30 per cent after six months")
    assert code == 0
    assert out.strip() == ("found in `slay-stephens-2013` at line 606, section Appendix 1: "
                           "Croydon Service User Network (appendix-croydon-sun)")


def test_whitespace_and_line_breaks_do_not_matter():
    code, out, _ = locate("A&E use   decreased\nby 30 per cent")
    assert code == 0 and "line 606" in out


def test_a_changed_word_is_named():
    code, out, _ = locate("A&E use decreased by 40 per cent after six months")
    assert code == 1
    assert "closest passage" in out and "at line 606" in out
    assert "changed word: the quote has '40' where the source has '30'" in out


def test_straight_quotes_for_curly_ones_are_named():
    # Line 276 prints "people’s time, skills, and expertise" with a curly apostrophe.
    code, out, _ = locate("people's time, skills, and expertise")
    assert code == 1 and "at line 276" in out
    assert "quote marks (curly and straight quotes differ): the quote has \"'\" where the source " \
           "has '’'" in out


def test_a_hyphen_for_a_space_is_named():
    # Line 135: "some of which can be more co-produced than others".
    code, out, _ = locate("some of which can be more co produced than others")
    assert code == 1 and "at line 135" in out
    assert "hyphenation or dash: the quote has ' ' where the source has '-'" in out


def test_an_unknown_source_suggests_one():
    code, _, err = run_cli("--project", ROOT, "locate", "slay-stephens", "x")
    assert code == 2 and "did you mean `slay-stephens-2013`?" in err
