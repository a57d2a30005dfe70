"""Report translation: phrases, boilerplate, numbers, language detection, and coverage on real reports."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from helpers import data_dir_or_none, needs_data
from mets_train.ptbxl.translate import (detect_language, english_vocabulary, load_glossary, measure_coverage,
                                       remove_boilerplate, translate_report, untranslated_tokens)

DATA = data_dir_or_none("ptbxl")


@pytest.mark.parametrize("report, english", [
    ("sinusrhythmus lagetyp normal normales ekg", "sinus rhythm. normal axis. normal ecg."),
    ("sinusrhythmus linkstyp sonst normales ekg 4.46                          unbestätigter bericht",
     "sinus rhythm. left axis. otherwise normal ecg."),
    ("sinusrhythmus lagetyp normal qrs(t) abnorm    inferiorer infarkt     alter unbest. 4.46   unbestätigter bericht",
     "sinus rhythm. normal axis. abnormal qrs(t). inferior infarction, age undetermined."),
    ("vorhofflimmern/-flattern ueberdrehter linkstyp linksanteriorer hemiblock",
     "atrial fibrillation/flutter. left axis deviation. left anterior fascicular block."),
    ("sinusrhythmus lagetyp normal st & t abnorm, wahrscheinlich    anterolaterale ischämie oder linksbelastung",
     "sinus rhythm. normal axis. st & t abnormal, probably anterolateral ischemia or left ventricular strain."),
    ("sinusrytm vänster el-axel eljest normalt ekg", "sinus rhythm. left axis deviation. otherwise normal ecg."),
    ("fÖrmaksflimmer med hÖg kammarfrekvens vÄnster el-axel",
     "atrial fibrillation with rapid ventricular response. left axis deviation."),
    ("sinusrytm avvikande qrs(t) förlopp inferior infarkt ålder ej bestämmbar",
     "sinus rhythm. abnormal qrs(t). inferior infarction, age undetermined."),
    # numbers and lead names are kept
    ("sinusrhythmus st-hebung in v1-v3 t neg in ii,iii,avf", "sinus rhythm. st elevation in v1-v3 t wave inverted in ii,iii,avf"),
    # mis-encoded umlaut ("#" for "ü") in some carts' output
    ("sinusrhythmus lagetyp normal mässige amplitudenkriterien f#r linkshypertrophie",
     "sinus rhythm. normal axis. moderate voltage criteria for left ventricular hypertrophy."),
])
def test_phrase_translation(report, english):
    assert translate_report(report) == english
    assert untranslated_tokens(english) == []


def test_boilerplate_and_english_reports():
    # "edit:" trailers list the SCP codes (the labels): removed with the rest of the non-clinical text
    assert remove_boilerplate("sinus rhythm. normal ecg. Edit: NORM 100, (NORM 100)") == "sinus rhythm. normal ecg."
    assert remove_boilerplate("schrittmacher ekg 4.46  unbestätigter beri") == "schrittmacher ekg"
    assert translate_report("Sinus rhythm.  Normal ECG.") == "sinus rhythm. normal ecg."     # English stays
    assert detect_language("sinus rhythm. left axis deviation.") == "en"
    assert detect_language("sinusrhythmus linkstyp") == "de"
    assert detect_language("sinusrytm normalt ekg") == "sv"
    # an unknown German word stays and is reported as untranslated
    out = translate_report("sinusrhythmus quatschwort normales ekg")
    assert out == "sinus rhythm. quatschwort normal ecg." and untranslated_tokens(out) == ["quatschwort"]


def test_glossaries_are_phrases_and_english_vocabulary_holds_no_german():
    de, sv = load_glossary("de"), load_glossary("sv")
    assert sum(" " in k for k in de.phrases) > 150 and sum(" " in k for k in sv.phrases) > 60
    vocabulary = english_vocabulary()
    # the measure would be meaningless if source words were accepted as English
    for word in ("sinusrhythmus", "lagetyp", "linkstyp", "infarkt", "wahrscheinlich", "ekg", "vänster",
                 "förmaksflimmer", "möglich", "ableitungen", "unbestätigter"):
        assert word not in vocabulary


@needs_data("ptbxl")
def test_coverage_on_a_random_sample_of_real_reports():
    import pandas as pd
    reports = pd.read_csv(Path(DATA) / "ptbxl" / "ptbxl_database.csv", dtype=str, keep_default_na=False)["report"]
    sample = random.Random(0).sample(list(reports), 2500)
    coverage, languages, translations = measure_coverage(sample)
    assert coverage.n_translated > 1500
    assert coverage.coverage >= 0.98          # docs/ptbxl_translation.md: all 21,837 reports
    assert {"de", "sv", "en"} <= set(languages)
