"""Review of the Compare page, the Batch page and the file's own labels (stop 33), through Streamlit's AppTest as
a clinician sees them: what the page shows, never private names.

- Compare: the frontal axis is an angle; two ECGs with axes of 175° and −175° (10° apart, across ±180°) showed a
  difference of −350°.
- What the file says: "Rank the file's own labels" put the words after each colon in the phrase box, so LUDB's
  "STEMI: septal" was ranked as "septal" (the STEMI lost) and "Electric axis of the heart: horizontal" as
  "horizontal"."""
from __future__ import annotations

import numpy as np
import pytest
from dashboard_fixtures import button, errors, go_to, ranking, synthetic_csv, table, upload, wfdb_upload

AXIS_ROW = "Frontal axis (°)"


def ecg_with_axis(degrees: float, fs: int = 500):
    """Beats 1 s apart (neurokit2's simulated beat) whose frontal QRS vector points at `degrees`: leads I and aVF
    the beat times cos and sin of the angle, the other limb leads from them by Einthoven's and Goldberger's
    equations (consistent, as recorded ones are), and V5 the beat itself."""
    import neurokit2 as nk
    from mets_core.ecg import ECG
    beat = nk.ecg_simulate(duration=3.0, sampling_rate=fs, heart_rate=60, random_state=4)
    r = fs + int(np.argmax(beat[fs:2 * fs]))
    template = beat[r - int(0.3 * fs): r + int(0.6 * fs)]
    x = np.zeros(10 * fs)
    for start in range(int(0.2 * fs), len(x) - len(template), fs):
        x[start:start + len(template)] += template - template[0]
    x += np.random.default_rng(1).normal(scale=0.01, size=len(x))
    angle = np.radians(degrees)
    lead_i, avf = np.cos(angle) * x, np.sin(angle) * x
    lead_ii = avf + lead_i / 2
    return ECG.from_leads(np.stack([lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2,
                                    avf, x]), ["I", "II", "III", "aVR", "aVL", "aVF", "V5"], fs)


def measurement_row(at, name: str) -> dict:
    """One row of Compare's measurements table: {column: cell}."""
    rows = table(at, 0)
    return rows[rows["measurement"] == name].iloc[0].to_dict()


def difference_cell(row: dict) -> str:
    return next(v for k, v in row.items() if k.startswith("difference"))


# ------------------------------------------------------------------------------ Compare: the frontal axis

@pytest.mark.parametrize("before, after, change", [
    (175, -175, "+10"),      # both extreme right axis, 10° apart across ±180°: the difference read −350°
    (60, -30, "-90"),        # an ordinary change, as it is
])
def test_compare_gives_the_change_of_the_axis_the_short_way_round_the_circle(app, tmp_path, before, after, change):
    upload(app, wfdb_upload(tmp_path, "before", ecg_with_axis(before)))
    upload(app, wfdb_upload(tmp_path, "after", ecg_with_axis(after)))
    go_to(app, "compare")
    assert not errors(app), errors(app)
    row = measurement_row(app, AXIS_ROW)
    assert (row["before"], row["after "]) == (str(before), str(after)), row      # as measured, either side of ±180°
    assert difference_cell(row) == change, row
    assert difference_cell(measurement_row(app, "Heart rate (bpm)")) == "+0"          # other rows unchanged


# ------------------------------------------------------------------------------ the file's own labels

LUDB_LIKE = (b"#<age>: 50\n#<sex>: M\n#<diagnoses>:\n#Rhythm: Sinus rhythm.\n"
             b"#Electric axis of the heart: horizontal.\n#Electric axis of the heart: left axis deviation.\n"
             b"#Left ventricular hypertrophy.\n#STEMI: anterior wall.\n#STEMI: septal.\n")


def test_ranking_the_files_own_labels_keeps_what_a_value_after_a_colon_is_of(app):
    """LUDB record 7's header, as LUDB writes it: "STEMI: septal" was put in the phrase box as "septal", and the
    axis "horizontal" alone; a value that is a finding by itself (the rhythm, "left axis deviation") still goes
    alone, so that it meets the model's phrase of the same words."""
    upload(app, [("ludb_like.csv", LUDB_LIKE + synthetic_csv())])
    assert not errors(app), errors(app)
    button(app, "Rank the file's own labels").click().run()
    assert not errors(app), errors(app)
    ranked = {r["prompt"].lower() for r in ranking(app)}
    typed = [" ".join(line.lower().split()) for line in str(app.text_area(key="prompts_text").value).splitlines()]
    for qualifier in ("septal", "anterior wall", "horizontal"):                  # no finding alone
        assert qualifier not in ranked and qualifier not in typed, (ranked, typed)
    for whole in ("stemi: septal", "stemi: anterior wall", "electric axis of the heart: horizontal",
                  "sinus rhythm", "left axis deviation", "left ventricular hypertrophy"):
        assert whole in typed, typed


def test_a_header_label_is_matched_to_the_phrase_its_button_ranks_never_to_its_qualifier_alone():
    """The file's label "STEMI: septal" is ranked whole by "Rank the file's own labels"; beside the label the
    page shows that phrase's percentile, not that of a phrase "septal" typed on its own (which matched it,
    the key cut off); "Rhythm: Sinus bradycardia" is still matched by its value."""
    from types import SimpleNamespace

    from dashboard.ranking import build_view, label_row
    view = build_view([SimpleNamespace(prompt=p, similarity=0.3, probability=0.5, percentile=pct, known=True,
                                       validation_auc=0.9)
                       for p, pct in (("septal", 97.0), ("STEMI: septal", 60.0), ("sinus bradycardia", 80.0))])
    assert label_row(view, "STEMI: septal").prompt == "STEMI: septal"
    assert label_row(view, "Rhythm: Sinus bradycardia").prompt == "sinus bradycardia"
    only_qualifier = build_view([SimpleNamespace(prompt="septal", similarity=0.3, probability=1.0, percentile=97.0,
                                                 known=True, validation_auc=0.9)])
    assert label_row(only_qualifier, "STEMI: septal") is None
