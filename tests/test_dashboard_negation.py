"""Negated phrases ("no atrial fibrillation") and phrases the model does not know ("banana") beyond the Reader's
ranking: the Compare page lists each negated phrase for both ECGs in the Reader's words with the difference of
the finding's score, the Batch page names them under the table and in its CSV instead of dropping them, and
"Why this score" explains a negated phrase as the finding it was scored as and never offers an unknown one.

Driven in Streamlit's AppTest as a user does (dashboard_fixtures); what is expected is taken from the library
(METS.rank, knowledge.negation_words), never from the dashboard's own code. The shipped weights (weights/, with
reference ECGs and the known-phrase threshold) tell known from unknown phrases; the random test checkpoint
(the `app` fixture) has no reference ECGs."""
from __future__ import annotations

import re

import pytest

from dashboard_fixtures import REPO, downloaded_csv, errors, go_to, markdown_html, open_demo

SHIPPED = REPO / "weights"
SINUS, BRADYCARDIA = "Synthetic: sinus rhythm, 70 bpm", "Synthetic: sinus bradycardia, 48 bpm"


def type_prompts(at, *phrases: str):
    """Type `phrases` in the Reader's phrase box (the page open), one per line."""
    at.text_area(key="prompts_text").input("\n".join(phrases)).run()
    assert not at.exception and not errors(at), errors(at)
    return at


def library_ranking(weights, demo: str, phrases) -> dict:
    """The library's ranking of a demo ECG: prompt -> Match."""
    from dashboard.demo import make_demo
    from mets_core import METS
    return {m.prompt: m for m in METS.from_pretrained(weights).rank(make_demo(demo), list(phrases))}


def readers_words(match) -> str:
    """What the Reader says of a negated Match (the one sentence of knowledge.negation_words)."""
    from mets_core.knowledge import negation_words
    return negation_words(match.prompt, match.negates, match.percentile, match.known)


def block(html: str, testid: str) -> str:
    """The HTML of the element with data-testid=`testid` (up to its list's end)."""
    start = html.index(f'data-testid="{testid}"')
    return html[start:html.index("</ul>", start)]


def item(html: str, prompt: str) -> str:
    found = re.search(fr'<li [^>]*data-prompt="{re.escape(prompt)}"[^>]*>(.*?)</li>', html, re.S)
    assert found, f"no item for {prompt!r} in {html!r}"
    return found.group(0)


def captions(at) -> list[str]:
    return [str(c.value) for c in at.caption]


# ---------------------------------------------------------------------------------------------- Compare

def test_compare_lists_a_negated_phrase_for_each_ecg_with_the_findings_percentile_and_difference(shipped_app):
    phrases = ("atrial fibrillation", "sinus bradycardia", "no atrial fibrillation", "no banana", "banana")
    open_demo(shipped_app, SINUS)
    open_demo(shipped_app, BRADYCARDIA)
    type_prompts(shipped_app, *phrases)
    go_to(shipped_app, "compare")
    assert not errors(shipped_app), errors(shipped_app)
    ranked = shipped_app.dataframe[1].value.set_index("phrase")
    assert sorted(ranked.index) == ["atrial fibrillation", "sinus bradycardia"]     # never ranked
    first, second = ranked.columns[1], ranked.columns[2]        # the ECGs' columns, as the page orders them
    first_ranks = library_ranking(SHIPPED, first, phrases)
    second_ranks = library_ranking(SHIPPED, second.strip(), phrases)

    negated = block(markdown_html(shipped_app), "mets-compare-negated")
    no_af = item(negated, "no atrial fibrillation")
    assert 'data-negates="atrial fibrillation"' in no_af
    assert f"<b>{first}</b>: {readers_words(first_ranks['no atrial fibrillation'])}" in no_af
    assert f"<b>{second.strip()}</b>: {readers_words(second_ranks['no atrial fibrillation'])}" in no_af
    assert "percentile of reference ECGs" in no_af
    # the difference of the finding's percentile is the ranked "atrial fibrillation" row's
    af = ranked.loc["atrial fibrillation"]
    assert af["score"] == "percentile"
    assert f"difference (second − first) in the percentile of “atrial fibrillation”: " \
           f"{af['difference (second − first)']:+.1f}" in no_af
    # a negated phrase the model does not know: said so, with no difference to read
    no_banana = item(negated, "no banana")
    assert "not known to the model either" in no_banana and "difference" not in no_banana
    assert "Not known to the model (not ranked): banana" in captions(shipped_app)


def test_compare_with_only_negated_phrases_ranks_nothing_and_says_their_similarities(app, weights):
    """The test checkpoint has no reference ECGs: the finding's cosine similarities are compared."""
    phrases = ("no atrial fibrillation", "without ST elevation")
    open_demo(app, SINUS)
    open_demo(app, BRADYCARDIA)
    type_prompts(app, *phrases)
    go_to(app, "compare")
    assert not errors(app), errors(app)
    assert len(app.dataframe) == 1                     # the measurements; no empty ranking table
    html = markdown_html(app)
    assert html.count("no phrase ranked (negated phrases are not read)") == 2
    first = library_ranking(weights, SINUS, phrases)
    second = library_ranking(weights, BRADYCARDIA, phrases)
    negated = block(html, "mets-compare-negated")
    for prompt, finding in (("no atrial fibrillation", "atrial fibrillation"),
                            ("without ST elevation", "ST elevation")):
        said = item(negated, prompt)
        assert f'data-negates="{finding}"' in said and "no reference percentile for this ECG" in said
        assert readers_words(first[prompt]) in said and readers_words(second[prompt]) in said
        # the difference of the similarities as shown (3 decimals), as a reader subtracts them
        change = round(round(second[prompt].similarity, 3) - round(first[prompt].similarity, 3), 3)
        assert f"difference (second − first) in the similarity of “{finding}”: {change:+.3f}" in said


# ------------------------------------------------------------------------------------------------ Batch


def test_batch_names_the_negated_and_unknown_phrases_it_gives_no_column(shipped_app, monkeypatch):
    csvs = downloaded_csv(monkeypatch)
    open_demo(shipped_app, SINUS)
    open_demo(shipped_app, BRADYCARDIA)
    type_prompts(shipped_app, "atrial fibrillation", "no atrial fibrillation", "without ST elevation", "no banana",
                 "banana")
    go_to(shipped_app, "batch")
    assert not errors(shipped_app), errors(shipped_app)
    shown = shipped_app.dataframe[0].value
    assert "atrial fibrillation" in shown.columns
    for prompt in ("no atrial fibrillation", "without ST elevation", "no banana", "banana", "not ranked"):
        assert prompt not in shown.columns
    said = next(c for c in captions(shipped_app) if c.startswith("Negated phrases"))
    assert "the model cannot read negation" in said and "not its absence" in said
    assert "“no atrial fibrillation” (scored as “atrial fibrillation”, its column)" in said
    assert "“without ST elevation” (scored as “ST elevation”)" in said      # not typed: no column of its own
    assert "“no banana” (scored as “banana”, not known to the model either)" in said
    assert "Not known to the model (not ranked, no column): banana" in captions(shipped_app)
    csv = csvs[-1]
    assert list(csv["not ranked"]) == ["no atrial fibrillation (negated: scored as atrial fibrillation); "
                                       "without ST elevation (negated: scored as ST elevation); "
                                       "no banana (negated: scored as banana); banana (not known to the model)"] * 2


def test_batch_with_only_ranked_phrases_says_nothing_of_negation(app, monkeypatch):
    csvs = downloaded_csv(monkeypatch)
    open_demo(app, SINUS)
    type_prompts(app, "sinus rhythm", "atrial fibrillation")
    go_to(app, "batch")
    assert not errors(app), errors(app)
    assert not any(c.startswith("Negated phrases") for c in captions(app))
    assert list(csvs[-1]["not ranked"]) == [""]


# ---------------------------------------------------------------------------------------- Why this score

def test_why_explains_a_negated_phrase_as_its_finding_and_never_offers_an_unknown_one(shipped_app):
    phrases = ("sinus rhythm", "no atrial fibrillation", "no banana", "banana")
    open_demo(shipped_app, SINUS)
    type_prompts(shipped_app, *phrases)
    chooser = shipped_app.selectbox(key="why_prompt")
    assert list(chooser.options) == ["sinus rhythm", "no atrial fibrillation (explained as “atrial fibrillation”)"]
    chooser.set_value("no atrial fibrillation").run()
    assert not shipped_app.exception and not errors(shipped_app), errors(shipped_app)
    assert any(c.startswith("Explaining “atrial fibrillation”, the finding that “no atrial fibrillation” negates: "
                            "the model cannot read “no”") for c in captions(shipped_app))
    next(b for b in shipped_app.button if b.label == "Explain this score").click().run()
    assert not shipped_app.exception and not errors(shipped_app), errors(shipped_app)
    cosine = next(c for c in captions(shipped_app) if c.startswith("Similarity to "))
    said = re.match(r"Similarity to “(.*?)”: ([+-]\d\.\d{3}) ", cosine)
    assert said and said.group(1) == "atrial fibrillation", cosine
    finding = library_ranking(SHIPPED, SINUS, phrases)["no atrial fibrillation"]
    assert float(said.group(2)) == pytest.approx(finding.similarity, abs=1.5e-3)     # the score the ranking gave
    # on the tracing too: the finding's saliency, named as such
    shipped_app.toggle(key="why_overlay").set_value(True).run()
    assert not shipped_app.exception and not errors(shipped_app), errors(shipped_app)
    assert any("the similarity to “atrial fibrillation” most" in c for c in captions(shipped_app))


def test_why_says_there_is_nothing_to_explain_when_no_phrase_is_known(shipped_app):
    open_demo(shipped_app, SINUS)
    type_prompts(shipped_app, "banana", "bicycle")
    assert not [s for s in shipped_app.selectbox if s.key == "why_prompt"]
    assert any(c.startswith("None of these phrases is known to the model, so there is no score to explain")
               for c in captions(shipped_app))
