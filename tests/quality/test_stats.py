from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.data.report.stats import distribution, encoding_problems, language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The cat is on the table and it is happy", "en"),
        ("El gato está en la mesa y es feliz con los niños", "es"),
        ("Le chat est sur la table et il est content pour vous", "fr"),
        ("Der Hund ist nicht in dem Haus und das ist gut", "de"),
        ("这是一个中文句子", "zh"),
        ("これは日本語の文です", "ja"),
        ("안녕하세요 반갑습니다", "ko"),
        ("Привет как дела", "cyrillic"),
        ("xyzzy qwerty", "latin-other"),
        ("123 456 !!", "unknown"),
    ],
)
def test_language(text, lang):
    assert language(text) == lang


def test_encoding_problems():
    assert encoding_problems("plain text") == []
    assert encoding_problems("Itâ€™s broken") == ["mojibake"]
    assert encoding_problems("café “quoted” ﬁne") == []  # real accents, quotes, ligatures
    assert encoding_problems("lost \ufffd byte") == ["replacement_char"]
    assert set(encoding_problems("a\x00b\x07")) == {"nul_byte", "control_chars"}
    assert encoding_problems("tab\tand\nnewline\r\n") == []


def test_distribution():
    d = distribution(range(1, 101))
    assert (d["count"], d["min"], d["max"], d["p50"]) == (100, 1.0, 100.0, 50.5)
    assert sum(d["histogram"]["counts"]) == 100
    assert len(d["histogram"]["edges"]) == len(d["histogram"]["counts"]) + 1
    assert distribution([]) == {"count": 0}
    assert distribution([5, 5, 5])["histogram"]["counts"][0] == 3


# characters ftfy's badness pattern is made of, ASCII context around them, and plain text
_MOJIBAKE_ALPHABET = "aZ .,?!\n\t0ÃÂÎÐØÙ€œŠš¢£Ÿž\xa0\xad®©°·»–—´’“”…×²³ВГРСЂў√±≈‚Äìàµβ¬¦¤\x85é"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_MOJIBAKE_ALPHABET, max_size=40))
def test_mojibake_precheck_is_exactly_ftfys_badness(text):
    """The windowed pre-check says what ftfy's badness pattern says on the whole text (the
    only reason ftfy.fix_encoding would change a text), for any mix of those characters."""
    from ftfy.badness import is_bad

    from forge.data.report.stats import _badness, _maybe_mojibake

    assert _badness() is not None  # the installed ftfy's pattern is one the shortcut covers
    assert _maybe_mojibake(text) == (not text.isascii() and is_bad(text))


def test_mojibake_found_in_long_text_far_from_the_start():
    text = "plain words " * 300 + "Itâ€™s broken" + " and more plain words" * 100 + " ½ ok"
    assert encoding_problems(text) == ["mojibake"]
    assert encoding_problems(text.replace("â€™", "’")) == []


_ASCII_WORDS = ["the", "and", "of", "der", "die", "le", "la", "el", "de", "que", "het", "x_1"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_ASCII_WORDS),
            st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=8),
        ),
        max_size=60,
    )
)
def test_ascii_words_split_in_c_are_the_regex_words(parts):
    """language() splits ASCII text into words with bytes.translate; the vote must be the one
    the `\\w+` words of the case-folded text give."""
    from forge.data.report.stats import _LANGS_OF, _WORD, _latin_language

    text = " ".join(p.upper() if i % 3 == 0 else p for i, p in enumerate(parts))
    if any("A" <= c <= "Z" or "a" <= c <= "z" for c in text):
        assert language(text) == _latin_language(_WORD.findall(text.casefold()), _LANGS_OF)
    else:
        assert language(text) == "unknown"
