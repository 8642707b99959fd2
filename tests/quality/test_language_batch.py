"""`languages` (the report's batch language guess) and `encoding_problems` against reference
implementations kept here: the guesses and problem codes must be the very same on every text,
real (../shared/data) or random."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.data.report.stats import _STOPWORDS, encoding_problems, language, languages

# -- the reference: language() and encoding_problems() as they were, word by word ------------
_LANGS_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _w in _words.split():
        _LANGS_OF[_w] = (*_LANGS_OF.get(_w, ()), _lang)
_SCRIPTS = (
    ("CJK", "zh"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CYRILLIC", "cyrillic"),
    ("GREEK", "el"),
    ("ARABIC", "ar"),
    ("HEBREW", "he"),
    ("DEVANAGARI", "hi"),
    ("THAI", "th"),
)


def reference_language(text: str) -> str:
    """language() as of forge 2026-12-05 (before the batch version), unchanged."""
    sample = text[:2000]
    raw = sample.encode("utf-8", "surrogatepass")
    latin = len(raw) - len(raw.translate(None, bytes(range(65, 91)) + bytes(range(97, 123))))
    scripts: Counter[str] = Counter()
    scripts["LATIN"] = latin  # the ASCII letters first: they win a tie
    for ch in re.findall(r"[^\x00-\x7f]", sample):
        if not ch.isalpha():
            continue
        if ord(ch) < 0x250:
            scripts["LATIN"] += 1
            continue
        name = unicodedata.name(ch, "")
        for key, code in _SCRIPTS:
            if key in name:
                scripts[code] += 1
                break
        else:
            scripts["LATIN" if "LATIN" in name else "other"] += 1
    scripts = +scripts
    if not scripts:
        return "unknown"
    top, _ = scripts.most_common(1)[0]
    if top == "zh" and scripts["ja"]:
        return "ja"
    if top != "LATIN":
        return "unknown" if top == "other" else top
    words = re.findall(r"\w+", sample.casefold())
    hits: Counter[str] = Counter()
    for w in words:  # word by word: ties go to the language seen first
        for lang in _LANGS_OF.get(w, ()):
            hits[lang] += 1
    if not hits:
        return "latin-other"
    best, n = max(hits.items(), key=lambda kv: (kv[1], kv[0] == "en"))
    return best if n >= 2 and n >= 0.05 * len(words) else "latin-other"


def reference_encoding_problems(text: str) -> list[str]:
    found = []
    if "\x00" in text:
        found.append("nul_byte")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text.replace("\x00", "")):
        found.append("control_chars")
    if "\ufffd" in text:
        found.append("replacement_char")
    if not text.isascii():
        import ftfy

        if ftfy.fix_encoding(text) != text:
            found.append("mojibake")
    return found


def check(texts: list[str]) -> None:
    want = [reference_language(t) for t in texts]
    assert [language(t) for t in texts] == want
    got = languages(texts)
    bad = [(t[:80], g, w) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert not bad, bad[:5]


# -- real text --------------------------------------------------------------------------------
def _strings(obj, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)


def test_languages_on_real_text(shared_data):
    texts: list[str] = []
    for path in sorted((shared_data / "chat").iterdir()):
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            rows = json.loads(raw)
        _strings(rows, texts)
        # whole rows too, as the report measures them (several messages in one text)
        if isinstance(rows, list):
            texts.extend(json.dumps(r, ensure_ascii=False) for r in rows[:300])
    for path in sorted((shared_data / "markdown").rglob("*.md"))[:1500]:
        texts.append(path.read_text(encoding="utf-8", errors="replace"))
    play = (shared_data / "text" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    texts.extend(play[i : i + 3000] for i in range(0, len(play), 2500))
    assert len(texts) > 20000
    check(texts)
    got = [encoding_problems(t) for t in texts[::7]]
    assert got == [reference_encoding_problems(t) for t in texts[::7]]


# -- built and random text --------------------------------------------------------------------
_EVERY_STOPWORD = sorted({w for words in _STOPWORDS.values() for w in words.split()})


def test_languages_on_each_language_and_script():
    texts = [
        " ".join(words.split()[k : k + 6]) + " " + " ".join(words.split()[:4])
        for words in _STOPWORDS.values()
        for k in range(0, 12, 3)
    ]
    texts += [
        "The cat is on the table and it is happy",
        "El gato está en la mesa y es feliz con los niños",
        "Der Hund ist nicht in dem Haus und das ist gut für mich",
        "Ele não é o que disse da casa",
        "Non è vero che la casa è nel bosco",
        "这是一个中文句子",
        "これは日本語の文です",
        "Привет как дела",
        "Γειά σου κόσμε and the of",
        "de la de la",  # es and fr tie: first-seen order decides
        "la de la de",
        "het de de het",
        "die der die der und und",
        "",
        "123 456 !!",
        "“Quoted” — the dash, the bullet • and the degree ° of it",
        "ſ the ﬁ and ß of K",
        "x² the and ½ of",
        "\u0345 the and of",
        "ΣΑΣ the and of to is in that it",
        "the " * 600 + "de la " * 2000,  # beyond the 2000-character sample
        "a" * 5000,
        "_ the_ __and__ of1 2to",
        "\x80\x84Ê",  # C1 controls next to letters: the buffer's own byte codes
        "é\x81 the and é\x85 ü \x82 para é",
        "Ele não é o que disse, não é da casa, é do pai",
        "Non è vero che è la casa nel bosco è",
        "Für mich ist das nicht für dich und für sie",
        "Ωmega µ ª º ǅ ſ the of and",
        "ÀÉÎÕÜ àéîõü the and of",
        "\ud800 the and of it",  # a lone surrogate (as surrogateescape leaves them)
        "\udcff é the and of it \ud83d",
    ]
    check(texts)


_ALPHABET = st.sampled_from(
    list("abcdeilnorstuAEILNOT0129_ \n\t.,'-?")
    + list("’“”•–—°×·\xa0\u2028\u0345")  # separators, and one that folds into a letter
    + list("éèüãÉÈÜÃñßſﬁK²½µªǅ")  # Latin letters, digits that are words, folding oddities
    + list("\x80\x81\x82\x83\x84\x85")  # C1 controls: the bytes the vote codes letters as
    + list("中ひカ한ЖΣσع")  # other scripts
)
_WORD = st.one_of(
    st.sampled_from(_EVERY_STOPWORD),
    st.sampled_from(_EVERY_STOPWORD).map(str.upper),
    st.text(_ALPHABET, max_size=7),
)
_TEXT = st.lists(_WORD, max_size=40).flatmap(
    lambda words: st.sampled_from([" ", "  ", "\n", ", ", "’", "•"]).map(
        lambda sep: sep.join(words)
    )
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT, max_size=30))
def test_languages_on_random_text(texts):
    check(texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=20))
def test_languages_on_any_unicode(texts):
    check(texts)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.sampled_from(list("ab \n\t\r\x00\x01\x07\x0b\x1f\x7f\x80\x9fé\ufffd’")), max_size=30)
)
def test_encoding_problems_as_the_reference(text):
    assert encoding_problems(text) == reference_encoding_problems(text)


def test_languages_of_a_long_batch_in_chunks():
    texts = [("the and of " if i % 3 else "de la que el ") * (i % 7) for i in range(3000)]
    check(texts)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_languages_of_tiny_batches(n):
    check(["the cat and the dog"] * n)


_PROBLEM_TEXT = st.text(
    st.sampled_from(list("ab the and \n\t\x00\x07\x1f\x7fé\ufffd’Ã©â€™")), max_size=20
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PROBLEM_TEXT, max_size=12))
def test_text_stats_add_many_is_add_one_by_one(texts):
    """The batch (one control-character pass over all texts, languages at once) counts and
    keeps the examples that adding each text in turn does."""
    from forge.data.report.common import TextStats

    one, many = TextStats(), TextStats()
    where = [["train", str(i)] for i in range(len(texts))]
    for t, w in zip(texts, where, strict=True):
        one.add(t, w)
    many.add_many(texts, where)
    assert list(many.languages.items()) == list(one.languages.items())
    assert list(many.encoding.items()) == list(one.encoding.items())
    assert many.examples == one.examples


def test_encoding_problems_with_a_lone_surrogate():
    assert encoding_problems("a\ud800\x07 b") == ["control_chars"]
    assert encoding_problems("\x00\ud800") == ["nul_byte"]
    assert encoding_problems("\ud800 plain") == []
