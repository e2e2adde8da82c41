"""Tables (SPEC §8 `table` format): columns line up on a terminal whatever the text."""

from __future__ import annotations

import unicodedata

import pytest

from supportctl.render import display_width, format_table
from tests.conftest import jsonl, run, small_store_docs, ticket


def test_numbers_align_right_text_left_and_no_line_ends_in_spaces() -> None:
    table = format_table([["1028", "Export fails", None], [7, "Hi", "x"]], ["ID", "SUBJECT", "T"])
    assert table.splitlines() == [
        "  ID  SUBJECT       T",
        "1028  Export fails",
        "   7  Hi            x",
    ]


def test_a_column_is_two_wider_than_its_header_and_mixed_ids_are_text() -> None:
    table = format_table([["A-1", "ok"], ["7", "no"]], ["ID", "STATUS"])
    assert table.splitlines() == ["ID    STATUS", "A-1   ok", "7     no"]


def test_wide_characters_take_two_columns_and_colour_codes_none() -> None:
    assert display_width("日本語") == 6
    assert display_width("a – “b” …") == 9  # dashes, quotes and ellipsis are narrow
    assert display_width("café ＡＢ") == 9  # fullwidth letters are wide


@pytest.mark.parametrize(
    "text, width",  # as wcwidth 0.7 counts them
    [
        ("Thumbs 👍🏽 up", 12),  # a skin tone joins its emoji
        ("Family 👨\u200d👩\u200d👧 trip", 14),  # one emoji drawn from a ZWJ sequence
        ("zero\u200bwidth", 9),  # zero-width space
        ("שלום\u200f world", 10),  # a direction mark
        ("❤\ufe0f love", 7),  # emoji presentation (VS16) makes it wide
        ("🇯🇵 flag", 7),
        ("한국어", 6),
        (unicodedata.normalize("NFD", "한국어"), 6),  # decomposed Hangul, as macOS writes it
        ("ｶﾀｶﾅ", 4),  # half-width katakana
        ("ข้อความภาษาไทย", 13),  # Thai with its marks
        ("नमस्ते", 4),  # Devanagari with spacing marks
        ("soft\xad" + "hyphen\xad\u0301", 12),  # the soft hyphen shows as one
    ],
)
def test_display_width_of_scripts_and_emoji(text: str, width: int) -> None:
    assert display_width(text) == width
    assert display_width("e\u0301") == 1  # a combining accent
    assert display_width("\x1b[31mred\x1b[0m") == 3
    table = format_table(
        [["日本語の件名", "open"], ["\x1b[1mbold\x1b[0m", "new"]], ["SUBJECT", "S"]
    )
    lines = table.splitlines()
    assert [display_width(line[: line.rindex(" ") + 1]) for line in lines[1:]] == [14, 14]


def test_a_japanese_subject_keeps_the_listing_aligned() -> None:
    docs = [*small_store_docs()[:11], ticket("1001", "bob", "acme", subject="ログインできません")]
    docs.append(ticket("1002", "bob", "acme", subject="Login fails"))
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    result = run("--user", "bob", "tickets", "list", "--columns", "id,subject,status")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    starts = [display_width(line[: line.index("open")]) for line in lines[1:]]
    assert len(starts) == 2 and starts[0] == starts[1] == display_width(
        lines[0][: lines[0].index("STATUS")]
    )
