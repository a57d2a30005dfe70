"""Batch: every open ECG against the same phrases, in one table sortable by any phrase; a row opens its ECG.
The uploads that could not be opened are named with why, on the page and in the downloaded CSV. The phrases
with no column (negated ones, which the model cannot read, and those it does not know) are named with why
under the table and in the CSV's "not ranked" column."""
from __future__ import annotations

import io
import textwrap

import pandas as pd
import streamlit as st

from dashboard import engine as engines
from dashboard import session
from dashboard.engine import Engine
from dashboard.loading import not_opened
from dashboard.measured import column_name, measured_span, missing_words, not_given, shown_value
from dashboard.panels import header, prompts
from dashboard.panels.common import recorded_shown
from dashboard.ranking import build_view, short_length
from mets_core.knowledge import shown_percentile

# the measurements of the table, as the Reader shows them (QTc by Fridericia: the Reader's advice at rates
# below 50 or above 100 bpm, where Bazett misleads)
BATCH_FIELDS = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_fridericia_ms")
READING = "the model's reading"
MEASUREMENT_NOTES = "measurement notes"  # the CSV's column of why a measurement is blank (the page shows "—")
MISSING = "—"                           # the page's cell of a value not given (Streamlit's own is "None")
MEASUREMENT_CHECK = "measurement check"  # a rate or sinus statement standing out against the measurements
                                        # (knowledge.measurement_disagreements); only where both describe the
                                        # whole recording
NOT_RANKED = "not ranked"               # the CSV's note of the phrases with no column, and why (not on the page,
                                        # whose captions say it once for every ECG)
SAMPLING_RATE = "sampling rate (Hz)"
DURATION = "duration (s)"
# the table's own columns, in reading order: the ECG and the model's reading, then the phrases' columns (the ones
# the table is sorted by, in view without scrolling, in the order the phrases were typed), then the file's own
# labels and the measurements; what the file is comes last
FIRST_COLUMNS = ("ECG", READING)
MIDDLE_COLUMNS = ("file labels", MEASUREMENT_CHECK, NOT_RANKED, *(column_name(a) for a in BATCH_FIELDS), "measured on",
                  MEASUREMENT_NOTES)
LAST_COLUMNS = ("recorded", "source", SAMPLING_RATE, DURATION, "leads")
TABLE_COLUMNS = frozenset(FIRST_COLUMNS + MIDDLE_COLUMNS + LAST_COLUMNS)
PERCENTILE_DIGITS, SIMILARITY_DIGITS = 1, 4  # a phrase's cell: its percentile to a tenth, else its similarity
MEASURED_ON_PX = 230                    # "0:01:00–0:02:00 of 0:30:05.6" whole (Streamlit's "medium", 200 px, cut it)
RECORDED_PX = 150                       # "2000-05-01 11:05:48" whole (Streamlit's narrowest cut the time off)
NOT_OPENED = "could not be opened"      # the CSV's column of why a file is not in the table
LABELS_SHOWN_CHARS = 200                # the table's "file labels" cells, at most (the CSV has them whole)


def shown_labels(text: str) -> str:
    """A file's labels as the table's cell shows them: whole, or their first words and "…" (never cut inside
    a word, as "…sinus rhyt" was)."""
    return textwrap.shorten(text, LABELS_SHOWN_CHARS, placeholder=" …")


def not_opened_panel(failed: list[tuple[str, str]]) -> None:
    if failed:
        # counted as the Reader counts them (loading.not_opened_messages): a record's header and its signals are one
        # ("truncated.hea + truncated.dat"), and 3 files were counted as 2 "files"
        st.warning(f"**{len(failed)} upload{'s' if len(failed) > 1 else ''} could not be opened** and "
                   f"{'are' if len(failed) > 1 else 'is'} not in the table (the CSV lists "
                   f"{'them' if len(failed) > 1 else 'it'}, with why):\n\n"
                   + "\n".join(f"- {not_opened(what, why)}" for what, why in failed))


def measurement_notes(m) -> str:
    """The CSV cell of why each of the table's measurements of `m` is not given, in the measurement's own words
    ("PR: no consistent P waves in an irregular rhythm (as in atrial fibrillation): PR not applicable"); ""
    when all are."""
    return "; ".join(f"{label}: {(getattr(m, 'notes', None) or {}).get(note) or missing_words(m, note)}"
                     for label, note in not_given(m, BATCH_FIELDS))


def phrase_column(prompt: str) -> str:
    """A phrase's column: the phrase, quoted where it is also the name of one of the table's own columns (a
    prompt "ECG" must not overwrite the ECG's name)."""
    return f"“{prompt}”" if prompt in TABLE_COLUMNS else prompt


def phrase_columns(columns, phrases: list[str]) -> list[str]:
    """The phrases' columns among `columns` (those not the table's own), in the order the phrases were typed:
    the same in every run, whichever ECG comes first and however it ranks them."""
    typed = {}
    for n, prompt in enumerate(phrases):
        typed.setdefault(phrase_column(prompt), n)
    return sorted((c for c in columns if c not in TABLE_COLUMNS), key=lambda c: typed.get(c, len(typed)))


def not_ranked_note(view) -> str:
    """The CSV cell of the phrases this ECG's row has no column for, and why: "no atrial fibrillation (negated:
    scored as atrial fibrillation); banana (not known to the model)"."""
    return "; ".join([f"{r.prompt} (negated: scored as {r.negates})" for r in view.negated]
                     + [f"{r.prompt} (not known to the model)" for r in view.unknown])


def negated_caption(negated: list, columns: set[str]) -> str:
    """Why the negated phrases have no column: each would be scored as the finding it names (a high score
    means the finding, not its absence); the finding's own column is named where it was typed too."""
    def finding(r) -> str:
        if r.known is False:
            return ", not known to the model either"
        return ", its column" if phrase_column(r.negates) in columns else ""
    said = [f"“{r.prompt}” (scored as “{r.negates}”{finding(r)})" for r in negated]
    return ("Negated phrases, not ranked and no column: the model cannot read negation, so each would be scored as "
            "the finding it names (a high score would mean the finding, not its absence): " + ", ".join(said))


def batch_page(engine: Engine, recs: list[session.Record]) -> None:

    st.markdown("# Batch: every loaded ECG against the same prompts")
    failed = session.failed_uploads()          # the last upload's files that could not be opened, with why
    not_opened_panel(failed)
    if not recs:
        st.info("Load several ECGs (upload many files at once, demos, PhysioNet) to compare them here.")
        return
    phrases = prompts.current()
    st.caption(f"{len(phrases)} prompts (edit them on the Reader page): " + ", ".join(phrases[:12])
               + (" …" if len(phrases) > 12 else ""))
    if engine.model is None:
        st.warning("The model is not available, so only measurements are listed.")
    for rec in recs:                      # measured on worker threads while the rows are ranked
        engines.start_measuring(rec.key, rec.ecg, *((0.0, engines.SUMMARY_S) if rec.is_long else ()))
    rows, phrase_help, phrase_digits, unknown, negated = [], {}, {}, [], {}
    progress = st.progress(0.0, text="Ranking…") if len(recs) > 3 else None
    for n, rec in enumerate(recs, 1):
        row = {"ECG": rec.label, "recorded": recorded_shown(rec.ecg), "source": rec.origin,
               SAMPLING_RATE: rec.ecg.fs, DURATION: round(rec.ecg.duration, 1), "leads": len(rec.ecg.leads)}
        m = None
        try:
            # a long recording as the Reader's whole-recording summary measures it: its first measurable minute
            m = engines.summary_measurements(rec.key, rec.ecg)[0] if rec.is_long else \
                engines.measurements(rec.key, rec.ecg)
            row["measured on"] = measured_span(m, rec.ecg.duration)
            row.update({column_name(attr): shown_value(m, attr) for attr in BATCH_FIELDS})
            row[MEASUREMENT_NOTES] = measurement_notes(m)
        except Exception:  # noqa: BLE001 - the row stays, without its measurements
            row["measured on"] = "not measurable"
            row.update({column_name(attr): None for attr in BATCH_FIELDS})
        labels = header.file_labels_of(rec)
        row["file labels"] = "; ".join(lab.text for lab in labels.labels) if labels is not None else ""
        if engine.model is not None and phrases:
            try:
                view = build_view(engine.rank(rec.ecg, phrases), phrases, short_length(engine.model, rec.ecg))
                row[READING] = view.reading
                if m is not None and m.covers_whole(rec.ecg):   # a longer one's reading averages every window,
                    row[MEASUREMENT_CHECK] = " ".join(view.measurement_disagreements(m))   # its measurements a minute's
                row[NOT_RANKED] = not_ranked_note(view)
                for r in view.rows:      # one column per known phrase: sort the table by any of them
                    column = phrase_column(r.prompt)
                    if view.too_short_s is not None:     # no percentile: an empty cell (the reading says why),
                        row[column] = None               # not a similarity in a column of percentiles
                    else:
                        digits = PERCENTILE_DIGITS if r.percentile is not None else SIMILARITY_DIGITS
                        row[column] = (shown_percentile(r.percentile, digits) if r.percentile is not None
                                       else round(r.similarity, digits))
                        phrase_digits[column] = max(digits, phrase_digits.get(column, 0))
                    phrase_help[column] = (f"{r.reliability[1]}. " + (
                        "Percentile: the share of reference ECGs less similar to this phrase than this ECG."
                        if view.has_reference else "Cosine similarity (no reference ECGs in these weights)."))
                unknown += [r.prompt for r in view.unknown if r.prompt not in unknown]
                negated.update((r.prompt, r) for r in view.negated if r.prompt not in negated)
            except Exception as err:  # noqa: BLE001 - the row stays, saying so; its phrase cells stay empty
                row[READING] = (f"not ranked: something went wrong ({type(err).__name__}); its phrase columns are "
                                f"empty. Reload the page, or open this ECG in the Reader")
        rows.append(row)
        if progress is not None:
            progress.progress(n / len(recs), text=f"Ranking… {n}/{len(recs)}")
    if progress is not None:
        progress.empty()
    df = pd.DataFrame(rows)
    df = df[[c for c in FIRST_COLUMNS if c in df.columns] + phrase_columns(df.columns, phrases)
            + [c for c in MIDDLE_COLUMNS if c in df.columns] + list(LAST_COLUMNS)]
    for attr in BATCH_FIELDS:             # whole numbers (not 41.1), sorted as numbers; empty where not given
        df[column_name(attr)] = df[column_name(attr)].astype("Int64")
    st.caption("Click a column header to sort by it; a phrase's column holds its percentile among the reference "
               "ECGs (hover its header for how reliable the model is for it). Select a row to open that ECG. "
               f"“{READING}” names the phrases that stand out from the reference ECGs, as the Reader does; it "
               f"reads each whole recording (a long one as the average of its 10 s windows), while “measured on” "
               f"says which stretch the measurements describe. A measurement shown as “{MISSING}” was not "
               f"measurable or not applicable there (no PR in atrial fibrillation): the Reader, and the CSV's "
               f"“{MEASUREMENT_NOTES}”, say why. File "
               f"labels longer than {LABELS_SHOWN_CHARS} characters end in “…” here; the CSV has them whole.")
    shown = df.assign(**{"file labels": df["file labels"].map(shown_labels)}).drop(
        columns=[NOT_RANKED, MEASUREMENT_NOTES], errors="ignore")
    if shown["recorded"].isna().all():        # no file dated: an empty column says nothing (the CSV keeps it)
        shown = shown.drop(columns="recorded")
    if MEASUREMENT_CHECK in shown and not shown[MEASUREMENT_CHECK].fillna("").astype(bool).any():    # nothing to say: no column
        shown = shown.drop(columns=MEASUREMENT_CHECK)
    event = st.dataframe(shown, width="stretch", hide_index=True, key="batch_table", on_select="rerun",
                         selection_mode="single-row", placeholder=MISSING,
                         column_config={"ECG": st.column_config.TextColumn(pinned=True),   # in view when scrolled
                                        "file labels": st.column_config.TextColumn(width="medium"),
                                        READING: st.column_config.TextColumn(width="medium"),
                                        MEASUREMENT_CHECK: st.column_config.TextColumn(width="medium"),
                                        "measured on": st.column_config.TextColumn(width=MEASURED_ON_PX),
                                        "recorded": st.column_config.TextColumn(
                                            width=RECORDED_PX, help="When the recording began, as its file says"),
                                        # each column's values to the same decimals (Streamlit drops a whole
                                        # number's: "62" beside "61.8")
                                        **{p: st.column_config.NumberColumn(
                                            p, help=h, format=f"%.{phrase_digits.get(p, PERCENTILE_DIGITS)}f")
                                           for p, h in phrase_help.items()}})
    if negated:
        st.caption(negated_caption(list(negated.values()), set(df.columns)))
    if unknown:
        st.caption("Not known to the model (not ranked, no column): " + ", ".join(unknown))
    chosen = getattr(getattr(event, "selection", None), "rows", None) or []
    if chosen and 0 <= chosen[0] < len(recs):
        session.set_current(recs[chosen[0]].key)
        st.switch_page("pages/reader.py")
    # The CSV is the batch's record, read away from this page: a file that could not be opened is a row of it
    # (its name, and why in the column NOT_OPENED) rather than a note on the page, so that the files it
    # counts are the files uploaded and a researcher sees which are missing from the analysis, and why.
    csv = df.astype({"leads": "Int64"})     # a count stays a whole number beside those rows' empty cells
    csv.insert(1, NOT_OPENED, "")
    if failed:
        csv = pd.concat([csv, pd.DataFrame([{"ECG": what, NOT_OPENED: why, "source": "upload"}
                                            for what, why in failed])], ignore_index=True)
    buf = io.StringIO()
    csv.to_csv(buf, index=False)
    st.download_button("Download CSV", buf.getvalue().encode("utf-8"), file_name="mets_batch.csv",
                       mime="text/csv", key="batch_csv")
    st.markdown('<div class="reminder">Scores are similarities, not diagnoses.</div>', unsafe_allow_html=True)


batch_page(engines.get_engine(), list(session.records().values()))
