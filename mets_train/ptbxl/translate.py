"""PTB-XL machine statements (German, Swedish) -> English, with a curated phrase glossary.

PTB-XL's `report` column was written by the ECG carts' interpretation programs: a finite vocabulary of
statements ("sinusrhythmus", "lagetyp normal", "qrs(t) abnorm", "inferiorer infarkt wahrscheinlich alt", ...).
The glossaries (`glossary_de.json`, `glossary_sv.json`) map those statements -- phrases, not words -- to the
English statements the English-language carts of the same database use. Matching is longest phrase first, so
"sonst normales ekg" wins over "normales ekg". Numbers, lead names and wave names pass through untouched;
non-clinical boilerplate ("unbestätigter bericht", the program version, "edit: ..." trailers that list SCP
codes, i.e. the labels) is removed first, see `report_tokens.json`.

Coverage is measured, not assumed: `untranslated_tokens(text)` lists the words of an output that are neither
in the glossary's English output vocabulary nor a number / abbreviation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
LANGUAGES = ("de", "sv")
# A word: letters (incl. umlauts/å), digits and the few joiners that occur inside statements' words.
_WORD = re.compile(r"[0-9a-zäöüåßéè]+", re.IGNORECASE)
_LETTER_OR_DIGIT = "0-9a-zäöüåßéè"


@dataclass(frozen=True)
class Glossary:
    language: str
    phrases: dict[str, str]          # normalised source phrase -> English
    pattern: re.Pattern              # alternation of all phrases, longest first


def normalise_report(text: str) -> str:
    """Lower case, one space between words (the carts padded statements with runs of spaces)."""
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def _phrase_regex(phrase: str) -> str:
    # Spaces in a phrase match any run of whitespace; a phrase only matches whole words.
    body = r"\s+".join(re.escape(part) for part in phrase.split(" "))
    left = f"(?<![{_LETTER_OR_DIGIT}])" if re.match(f"[{_LETTER_OR_DIGIT}]", phrase) else ""
    right = f"(?![{_LETTER_OR_DIGIT}])" if re.search(f"[{_LETTER_OR_DIGIT}]$", phrase) else ""
    return left + body + right


@lru_cache(maxsize=None)
def load_glossary(language: str) -> Glossary:
    """The curated glossary of one language ("de" or "sv")."""
    if language not in LANGUAGES:
        raise ValueError(f"no glossary for language {language!r}; available: {', '.join(LANGUAGES)}")
    data = json.loads((_HERE / f"glossary_{language}.json").read_text(encoding="utf-8"))
    phrases: dict[str, str] = {}
    for section, entries in data["phrases"].items():
        for src, dst in entries.items():
            key = normalise_report(src)
            if key in phrases and phrases[key] != dst:
                raise ValueError(f"glossary_{language}.json: {src!r} translated twice ({section})")
            phrases[key] = dst
    ordered = sorted(phrases, key=len, reverse=True)
    pattern = re.compile("|".join(_phrase_regex(p) for p in ordered))
    return Glossary(language=language, phrases=phrases, pattern=pattern)


@lru_cache(maxsize=None)
def _report_tokens() -> dict:
    return json.loads((_HERE / "report_tokens.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _boilerplate() -> re.Pattern:
    return re.compile("|".join(f"(?:{b})" for b in _report_tokens()["boilerplate"]))


@lru_cache(maxsize=None)
def english_vocabulary() -> frozenset[str]:
    """Every word the glossaries can output, plus the abbreviations of ECG reports (leads, waves, codes)."""
    words: set[str] = set()
    for language in LANGUAGES:
        for dst in load_glossary(language).phrases.values():
            words.update(w.lower() for w in _WORD.findall(dst))
    words.update(a.lower() for a in _report_tokens()["abbreviations"])
    return frozenset(words)


def _is_number_or_abbreviation(word: str, vocabulary: frozenset[str]) -> bool:
    if word in vocabulary:
        return True
    # numbers (4.46 splits into 4 / 46), doses (1x1), lead names with numbers (v1, v2-6 -> v2, 6), "1st"
    return bool(re.fullmatch(r"\d+|\d+x\d*|v\d+|\d+(st|nd|rd|th)|[a-z]\d+", word))


def untranslated_tokens(text: str) -> list[str]:
    """Words of `text` that are not English output of the glossary and not a number/abbreviation."""
    vocabulary = english_vocabulary()
    return [w for w in _WORD.findall(text.lower()) if not _is_number_or_abbreviation(w, vocabulary)]


def remove_boilerplate(text: str) -> str:
    """Drop non-clinical text: cart program version + "unbestätigter bericht", "edit: ..." trailers, ..."""
    return normalise_report(_boilerplate().sub(" ", normalise_report(text)))


def _covered_chars(text: str, glossary: Glossary) -> int:
    return sum(len(m.group(0)) for m in glossary.pattern.finditer(text))


def detect_language(text: str) -> str:
    """"de", "sv" or "en", by glossary hits: the language whose glossary covers most characters of the
    report; English when English-vocabulary words cover more than either glossary."""
    text = normalise_report(text)
    scores = {language: _covered_chars(text, load_glossary(language)) for language in LANGUAGES}
    vocabulary = english_vocabulary()
    scores["en"] = sum(len(w) + 1 for w in _WORD.findall(text)
                       if w in vocabulary and not w.isdigit() and len(w) > 2)
    best = max(scores.values())
    if best == 0 or scores["en"] >= best:
        return "en"
    return max(LANGUAGES, key=lambda language: scores[language])


def translate_report(text: str, language: str | None = None) -> str:
    """The report in English. English reports only lose their boilerplate; German/Swedish statements are
    replaced phrase by phrase (longest first); anything the glossary does not know is left as it was."""
    cleaned = remove_boilerplate(text)
    language = language or detect_language(cleaned)
    if language == "en":
        return cleaned
    glossary = load_glossary(language)
    for bad, good in _report_tokens()["character_fixes"].items():
        cleaned = cleaned.replace(bad, good)
    out = glossary.pattern.sub(lambda m: f" {glossary.phrases[normalise_report(m.group(0))]} ", cleaned)
    out = re.sub(r"\s+([.,;:])", r"\1", out)          # no space before punctuation the glossary emitted
    out = re.sub(r"\.,", ",", out)                      # a qualifier (",  probably old.") joins its statement
    out = re.sub(r"([.,;:])\1+", r"\1", out)
    return normalise_report(out)


@dataclass
class CoverageReport:
    n_reports: int
    n_by_language: dict[str, int]
    n_translated: int                 # German/Swedish reports
    n_fully_translated: int           # ... with no untranslated token left
    top_untranslated: list[tuple[str, int]]

    @property
    def coverage(self) -> float:
        return self.n_fully_translated / self.n_translated if self.n_translated else float("nan")

    def to_dict(self) -> dict:
        return {"n_reports": self.n_reports, "n_by_language": self.n_by_language,
                "n_german_swedish": self.n_translated, "n_fully_translated": self.n_fully_translated,
                "coverage": self.coverage, "top_untranslated": self.top_untranslated}


def measure_coverage(reports: list[str]) -> tuple[CoverageReport, list[str], list[str]]:
    """Translate every report; returns (coverage, languages, translations). Each distinct report is
    translated once (PTB-XL's 21,837 reports hold ~9,900 distinct texts)."""
    from collections import Counter

    done: dict[str, tuple[str, str, list[str]]] = {}
    for report in dict.fromkeys(reports):
        cleaned = remove_boilerplate(report)
        language = detect_language(cleaned)
        english = translate_report(cleaned, language)
        done[report] = (language, english, untranslated_tokens(english) if language != "en" else [])
    languages = [done[r][0] for r in reports]
    translations = [done[r][1] for r in reports]
    leftovers: Counter[str] = Counter()
    n_full = 0
    for report in reports:
        language, _, missing = done[report]
        if language != "en":
            leftovers.update(missing)
            n_full += not missing
    counts = Counter(languages)
    n_translated = sum(n for language, n in counts.items() if language != "en")
    coverage = CoverageReport(n_reports=len(reports), n_by_language=dict(sorted(counts.items())),
                              n_translated=n_translated, n_fully_translated=n_full,
                              top_untranslated=leftovers.most_common(30))
    return coverage, languages, translations
