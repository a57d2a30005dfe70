"""Compare two ECGs (serial ECGs of one patient, or any two): side by side (or one above the other) on the
same paper scale, with their measurements and the ranking of the same phrases, and the differences.

Each ECG is compared on one stretch, the same for its tracing, its measurements and its ranking: all of a
short ECG; of a long recording, the 10 s page open on the Reader (its first page when none was opened). When
both files say when they were recorded, the earlier recording is the first, so that the differences read
later − earlier; the page says so, and says plainly when the user put them the other way round or when the
files give no dates (the order is then the user's); when the files name two different patients (their
database's patient ids), or their sex or ages show two, it says so instead, and the differences read
second − first; else it says whether the ids make them one patient's or the files do not tell (the ids never
shown). The same ECG chosen twice (the same content hash) is said to be so, and nothing is compared. When the
lead sets differ, it says what that does to the percentiles, in the Reader's words."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import pandas as pd
import streamlit as st

from dashboard import engine as engines
from dashboard import plotting, session
from dashboard.engine import Engine
from dashboard.measured import FIELDS, column_name, missing_words, not_given, shown_value, why_missing
from dashboard.panels import header, prompts, tracing
from dashboard.panels.common import esc, guard, recorded_at, recorded_words
from dashboard.panels.ranking import few_leads_words
from dashboard.ranking import RankingView, Row, build_view, short_length
from mets_core.ecg import ECG
from mets_core.file_labels import FileLabels, same_patient
from mets_core.knowledge import shown_percentile

COLUMN_WIDTH_PX = 530              # each ECG's column on the wide layout: the paper's height follows it
ARRANGEMENTS = ("side by side", "one above the other")
FIRST, SECOND = "cmp_a", "cmp_b"    # the keys of the two choices
# what "difference" means, by the order of the two recordings: the first recorded before the second (-1),
# after it (1), or the files do not tell (None)
DIFFERENCE_WORDS = {-1: "later − earlier", 1: "earlier − later", None: "second − first"}
SCORE_DIGITS = {"percentile": 1, "similarity": 3}   # percentiles to a tenth; similarities need three decimals


# ------------------------------------------------------------------------------- when each was recorded

def _calendar_place(rec: session.Record) -> tuple[date, time | None] | None:
    """(day, time of day or None) of the recording, or None: no date (a time alone has no place in the
    calendar)."""
    text = recorded_at(rec.ecg)
    try:
        stamp = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return stamp.date(), (stamp.time() if "T" in text else None)


def time_order(first: session.Record, second: session.Record) -> int | None:
    """-1 when `first` was recorded before `second`, 1 when after it; None when their files do not tell (a
    date missing, or the same day without the times that would separate them)."""
    a, b = _calendar_place(first), _calendar_place(second)
    if a is None or b is None:
        return None
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    if a[1] is None or b[1] is None or a[1] == b[1]:
        return None
    return -1 if a[1] < b[1] else 1


def default_pair(recs: dict[str, session.Record]) -> tuple[str, str]:
    """The two ECGs opened last, the earlier recording first when their files give the dates (whatever the
    order they were opened in), else in the order they were opened."""
    older, newer = list(recs)[-2:]
    return (newer, older) if time_order(recs[newer], recs[older]) == -1 else (older, newer)


def _swap() -> None:
    st.session_state[FIRST], st.session_state[SECOND] = st.session_state[SECOND], st.session_state[FIRST]
    session.keep(FIRST, SECOND)


def order_note(first: session.Record, second: session.Record, order: int | None) -> None:
    """What "first" and "second" are: the recordings in time order, the later one first (said plainly, with a
    button that swaps them), or the user's choice where the files do not tell."""
    a, b = (f"**{esc(rec.label)}** ({recorded_words(rec.ecg)})" for rec in (first, second))
    if order == -1:
        st.caption(f"In time order: {a} first, {b} second. The differences read later − earlier.")
        return
    if order == 1:
        st.warning(f"The “first” ECG, {a}, is the **later** recording: {b} was recorded before it. The "
                   f"differences below read earlier − later, backwards in time.")
        st.button("Put the earlier recording first", key="cmp_swap", on_click=_swap)
        return
    undated = [rec.label for rec in (first, second) if _calendar_place(rec) is None]
    if undated:
        why = f"{' and '.join(esc(u) for u in undated)} {'gives' if len(undated) == 1 else 'give'} no recording date"
    elif None in (_calendar_place(first)[1], _calendar_place(second)[1]):
        why = "both were recorded on the same day, and the files do not give the times that would tell"
    else:
        why = "both files give the same recording time"
    st.caption(f"Which recording came first is not known ({why}): the order is your choice. The differences "
               f"read second − first.")


# ---------------------------------------------------------------------------------- one patient or two

SAME_PATIENT = "Same patient (the files' patient ids match)."
PATIENT_NOT_SAID = "The files do not say whether these are the same patient."


def different_patients(first: session.Record, second: session.Record, a: FileLabels | None,
                       b: FileLabels | None) -> str:
    """Why the two ECGs cannot be one patient's, in a few words ("sex: male / female"), from what their files
    give (`a`, `b`: header.file_labels_of): the patient ids their database gives (PTB-XL's table, PTB-DB's
    patient folders) when both give one, else the age and sex the Reader's header shows: a different sex, or
    ages whose difference is not the time between the recordings (a year either way allowed, for birthdays);
    "" when the files do not tell them apart (or give too little to tell). One id is one patient whatever the
    ages say (the database's table is the authority); different ids are a reason, never the ids themselves
    (they identify people: not on the page)."""
    if a is None or b is None:
        return ""
    one_patient = same_patient(a, b)
    if one_patient:
        return ""
    why = ["the files name different patients"] if one_patient is False else []
    if a.sex and b.sex and a.sex != b.sex:
        why.append(f"sex: {a.sex} / {b.sex}")
    days = _calendar_place(first), _calendar_place(second)
    if a.age and b.age and None not in days:
        years_apart = (days[1][0] - days[0][0]).days / 365.25
        if abs((int(b.age) - int(a.age)) - years_apart) > 1.0:
            why.append(f"age {a.age} on {days[0][0]}, {b.age} on {days[1][0]}")
    return "; ".join(why)


def patient_note(first: session.Record, second: session.Record) -> bool:
    """Whether the two ECGs are one patient's, said on the page: a warning, and True, when their files show two
    patients (the differences are then not changes over time); else "same patient" when their patient ids
    match, or that the files do not say. The ids themselves are never shown (they identify people)."""
    a, b = header.file_labels_of(first), header.file_labels_of(second)
    two_patients = different_patients(first, second, a, b)
    if two_patients:      # serial ECGs or not, the order in time says nothing of a change in one patient
        st.warning(f"These look like two different patients ({esc(two_patients)}): the differences are not "
                   f"changes over time. They read second − first.")
        return True
    st.caption(SAME_PATIENT if same_patient(a, b) else PATIENT_NOT_SAID)
    return False


# ----------------------------------------------------------------------------- the stretch compared

@dataclass(frozen=True)
class Compared:
    """One ECG as this page compares it: the one stretch that its tracing, measurements and ranking describe."""
    rec: session.Record
    start_s: float
    end_s: float

    @property
    def ecg(self) -> ECG:
        """The stretch as the model sees it: a long recording's page as the Reader crops it (the same content
        hash, so the embedding the Reader made is found again)."""
        return session.page_ecg(self.rec, self.start_s) if self.rec.is_long else self.rec.ecg

    @property
    def measured_stretch(self) -> tuple[float | None, float | None]:
        """(start, seconds) to measure, as the Reader measures a page; (None, None): all of a short ECG."""
        return session.page_stretch(self.rec, self.start_s)

    @property
    def words(self) -> str:
        return span_words(self.rec, self.start_s, self.end_s)


def span_words(rec: session.Record, start_s: float, end_s: float) -> str:
    """Which stretch of `rec` (h:mm:ss), and why that one."""
    duration = rec.ecg.duration
    if end_s - start_s >= duration - 0.5:
        return f"whole ECG, 0:00:00–{session.hms(duration)}"
    why = ("the page open on the Reader" if start_s > 0 else
           "its first page (open another page of it on the Reader to compare that one)")
    return f"{session.hms(start_s)}–{session.hms(end_s)} of {session.hms(duration)}, {why}"


def compared(rec: session.Record) -> Compared:
    start = session.page_start(rec)      # the Reader's page of a long recording (0: none opened, or short)
    end = min(rec.ecg.duration, start + session.PAGE_S) if rec.is_long else rec.ecg.duration
    return Compared(rec, start, end)


def same_ecg_words(first: Compared, second: Compared) -> str:
    """What to do when both choices are one ECG (the same samples, under one name or two, or the same page of a
    long recording): nothing to compare."""
    two_names = first.rec.label != second.rec.label
    return ("You chose the same ECG twice" + (f" (**{esc(first.rec.label)}** and **{esc(second.rec.label)}** "
                                              f"hold the same recording)" if two_names else "")
            + "; choose another one to compare it with.")


def per_ecg(words) -> str:
    """"A, what of A; B, what of B" from (record, words) pairs."""
    return "; ".join(f"{rec.label}, {said}" for rec, said in words)


# ---------------------------------------------------------------------------------- one paper scale

def paper_view_mm(fig) -> float:
    """How many millimetres of paper a paper figure (plotting.ecg_paper) shows across: its whole width, or the
    part in view at first of a wider one (the rest by panning)."""
    low, high = fig.layout.xaxis.range
    return float(high - low)


def at_one_scale(fig, view_mm: float, width_px: int) -> dict:
    """The paper `fig` (built by tracing.paper_figure, shared between sessions: never changed) as a copy drawn
    `view_mm` mm across, so that in columns of one width both papers get the same pixels per mm: the paper of
    a recording shorter than 10 s is narrower (plotting.paper sizes it to its duration) and filled its column
    at a larger scale. Its height is the paper's at the scale of a `width_px` wide column (not the figure's
    own, which is at least 260 px: a 1-lead paper so drawn in a column wider than that was larger than a
    12-lead one, whose height bounded it), so whichever of the column's width or the figure's height bounds
    a paper, it bounds both the same way."""
    spec = fig.to_dict()
    layout = spec["layout"]
    margin = layout["margin"]
    layout["xaxis"]["range"] = [0.0, view_mm]
    low, high = layout["yaxis"]["range"]
    px_per_mm = (width_px - margin["l"] - margin["r"]) / view_mm
    # not rounded to whole pixels: a 1-lead paper 40 mm tall rounded up is 1 px in 40 larger, a 12-lead's 1 in 250
    layout["height"] = round((high - low) * px_per_mm, 3) + margin["t"] + margin["b"]
    return spec


# ------------------------------------------------------------------------------------ the measurements

def measurement_change(first: int, second: int, unit: str) -> int:
    """second − first of one measurement as shown. An angle (the frontal axis, in °, from −180 to 180) changes
    the shorter way round the circle: from 175° to −175° is +10°, not −350°."""
    if unit == "°":
        return (second - first + 180) % 360 - 180
    return second - first


NOT_MEASURED = "not measured"      # a cell of an ECG whose measuring failed (the message above the table says why)


def measured(each: Compared):
    """The measurements of the stretch compared, or None when measuring it failed: said where it is called (the
    panel guard's words), and the comparison goes on without them (a measuring process that stopped took the
    whole page with it, the ranking of the phrases too)."""
    with guard(f"The measurements of {each.rec.label}"):
        return engines.measurements(each.rec.key, each.rec.ecg, *each.measured_stretch)
    return None


def value_words(m, value: int | None, note: str) -> str:
    """A measurement's cell: its value, why there is none (the Reader's words), or NOT_MEASURED."""
    if value is not None:
        return str(value)
    return NOT_MEASURED if m is None else missing_words(m, note)


def not_given_words(m) -> str:
    """Why `m` gives no value for some of the table's measurements, each reason once with the measurements it
    blanks, in the Reader's words ("signal quality unacceptable in every recorded lead (...): Heart rate, RR,
    PR, ..."): the table's cells say only "not measurable" or "not applicable"; "" when every value is given."""
    blanked: dict[str, list[str]] = {}
    for label, note in not_given(m):
        blanked.setdefault(why_missing(m, note) or missing_words(m, note), []).append(label)
    return "; ".join(f"{why}: {', '.join(labels)}" for why, labels in blanked.items())


# ------------------------------------------------------------------------------- the phrases' scores

def scores(first: Row, second: Row | None) -> tuple[str, float, float | None, float | None]:
    """(what is compared, the first ECG's score, the second's, second − first) for one phrase: percentiles
    when both ECGs have one, else cosine similarities; None where the second ECG has no score for it. Scores
    as shown (a percentile below the standing-out line never rounded up to it: knowledge.shown_percentile), and
    the difference is of those, so that it is what a reader gets by subtracting the two cells (30.6 and 25.4
    were shown beside a difference of −5.3, from the unrounded percentiles)."""
    kind = "percentile" if first.percentile is not None and second is not None \
        and second.percentile is not None else "similarity"
    digits = SCORE_DIGITS[kind]

    def shown(row: Row) -> float:
        return shown_percentile(row.percentile, digits) if kind == "percentile" else round(row.similarity, digits)
    if second is None:
        return kind, shown(first), None, None
    a, b = shown(first), shown(second)
    return kind, a, b, round(b - a, digits)


def lead_sets_note(first: Compared, second: Compared, first_view: RankingView, second_view: RankingView,
                   model) -> str:
    """When the two ECGs were recorded with different lead sets (MIT-BIH's 2 leads against a 12-lead ECG): so
    it says, whether their percentiles were therefore judged against different reference ECGs (the model's
    `reference_for`: 12-lead ones for a 12-lead ECG, others for fewer leads), and for an ECG of fewer than 12
    leads what the Reader says of it (panels.ranking.few_leads_words); "" when the lead sets are the same."""
    masks = [each.ecg.lead_mask.astype(bool) for each in (first, second)]
    if (masks[0] == masks[1]).all():
        return ""
    counts = "; ".join(f"{esc(each.rec.label)}: {int(mask.sum())} lead{'s' if mask.sum() != 1 else ''}"
                       for each, mask in zip((first, second), masks))
    said = f"The two ECGs were recorded with different lead sets ({counts})"
    if first_view.has_reference and second_view.has_reference and model is not None:
        references = [model.reference_for(each.ecg) for each in (first, second)]
        if all(r is not None for r in references) and (references[0] != references[1]).any():
            said += (": their percentiles were measured against different reference ECGs, so a difference "
                     "between them is partly the lead set's, not only the ECGs'")
    few = [f"{esc(each.rec.label)}: {words}" for each, view in ((first, first_view), (second, second_view))
           if (words := few_leads_words(each.ecg, view, model))]
    return (said + ". " + " ".join(few)).strip()


def negated_html(first: RankingView, second: RankingView, first_label: str, second_label: str,
                 difference: str) -> str:
    """The negated phrases ("no atrial fibrillation"), apart from the ranking as the Reader lists them: for
    each ECG the Reader's sentence of what the score is (the finding's: the model cannot read "no"), then how
    the finding's score differs between the two ECGs (none when the model does not know the finding).
    Public contract: data-testid="mets-compare-negated", each item with data-prompt and data-negates."""
    by_second = {r.prompt: r for r in second.negated}
    items = []
    for r in first.negated:
        other = by_second.get(r.prompt)
        if r.known is False or other is None:     # a finding the model does not know: one sentence for both ECGs
            said = [esc(r.negation_words)]
        else:
            kind, _, _, change = scores(r, other)
            said = [f"<b>{esc(first_label)}</b>: {esc(r.negation_words)}",
                    f"<b>{esc(second_label)}</b>: {esc(other.negation_words)}",
                    f"{esc(difference)} in the {kind} of “{esc(r.negates)}”: {change:+.{SCORE_DIGITS[kind]}f}"]
        items.append(f'<li class="negated-row" data-prompt="{esc(r.prompt)}" data-negates="{esc(r.negates)}">'
                     + "<br>".join(said) + "</li>")
    return (f'<div class="unknown" data-testid="mets-compare-negated"><b>Negated phrases</b>, not ranked and '
            f'not in the table:<ul>{"".join(items)}</ul></div>')


# ---------------------------------------------------------------------------------------------- page

def compare_page(engine: Engine, recs: dict) -> None:

    st.markdown("# Compare two ECGs")
    if len(recs) < 2:
        st.info("Open two ECGs (e.g. serial ECGs of one patient) to compare them side by side.")
        return
    keys = list(recs)
    # the pair the user chose is kept while other pages are shown (session.keep); until they choose, or once
    # one of it is closed, the two ECGs opened last, on every run: an ECG opened from this page's sidebar is
    # compared at once (the boxes held on to the pair they were first given)
    for key in (FIRST, SECOND):
        session.restore(key)
    if not all(session.kept(key) in recs for key in (FIRST, SECOND)) \
            or st.session_state.get(FIRST) not in recs or st.session_state.get(SECOND) not in recs:
        st.session_state[FIRST], st.session_state[SECOND] = default_pair(recs)

    def name(k):                          # the choices: each ECG's name, and its date where the file gives one
        if k not in recs:
            return k
        return recs[k].label + (f" · {recorded_words(recs[k].ecg)}" if recorded_at(recs[k].ecg) else "")
    c1, c2 = st.columns(2)
    choice = "The earlier recording goes first when both files say when they were recorded."
    a = c1.selectbox("First ECG", keys, format_func=name, key=FIRST, help=choice, on_change=session.keep,
                     args=(FIRST, SECOND))
    b = c2.selectbox("Second ECG", keys, format_func=name, key=SECOND, help=choice, on_change=session.keep,
                     args=(FIRST, SECOND))
    first, second = compared(recs[a]), compared(recs[b])
    ra, rb = first.rec, second.rec
    if first.ecg.content_hash() == second.ecg.content_hash():    # the one content hash: same samples, same ECG
        st.warning(same_ecg_words(first, second))
        return
    order = time_order(ra, rb)
    if patient_note(ra, rb):
        order = None
    else:
        order_note(ra, rb, order)
    difference = f"difference ({DIFFERENCE_WORDS[order]})"
    for each in (first, second):          # both measured in the measuring processes while the papers are built
        engines.start_measuring(each.rec.key, each.rec.ecg, *each.measured_stretch)
    gain, speed = tracing.paper_scale()
    session.restore("cmp_arrangement")       # kept while other pages are shown
    stacked = st.radio("Arrangement", ARRANGEMENTS, horizontal=True, key="cmp_arrangement",
                       help="One above the other, each ECG gets the page's whole width: larger, and "
                            "beat for beat in line.") == ARRANGEMENTS[1]
    session.keep("cmp_arrangement")
    places = (st.container(), st.container()) if stacked else st.columns(2)
    width_px = plotting.DRAWN_WIDTH_PX if stacked else COLUMN_WIDTH_PX
    built = []                            # (where it goes, the paper, its slot), drawn once both are built
    for place, each, slot in zip(places, (first, second), "ab"):
        rec = each.rec
        with place, guard(f"The tracing of {rec.label}"):
            mode = "recorded" if int(rec.ecg.lead_mask.sum()) <= 3 else "12x1"
            st.markdown(f"**{esc(rec.label)}** · {recorded_words(rec.ecg)} · {each.words}")
            alt = (f"ECG tracing on paper of {rec.label}, {mode}, {speed} mm/s, "
                   f"{plotting.scale_words(gain, plotting.amplitudes(rec.ecg))}")
            built.append((st.empty(), tracing.paper_figure(rec, each.start_s, None, mode, gain, speed,
                                                           plotting.RHYTHM_LEAD, width_px=width_px), slot, alt))
    view_mm = max((paper_view_mm(fig) for _, fig, _, _ in built), default=0.0)
    for where, fig, slot, alt in built:
        spec = at_one_scale(fig, view_mm, width_px)
        st.html(plotting.height_follows_width(spec, f"cmp_paper_{slot}"))      # square boxes, no band under
        where.plotly_chart(spec, width="stretch", key=f"cmp_paper_{slot}", alt=alt,
                           config={"displaylogo": False, "scrollZoom": False})
    shorter = [rec.label for rec, (_, fig, _, _) in zip((ra, rb), built) if paper_view_mm(fig) < view_mm]
    scales = [plotting.scale_words(gain, plotting.amplitudes(each.ecg)) for each in (first, second)]
    ends = f"; the paper of {esc(shorter[0])}, a shorter recording, ends where it does" if shorter else ""
    if scales[0] == scales[1]:
        st.caption(f"Both on the same paper scale: {speed} mm/s, {scales[0]} (change them on the Reader page){ends}.")
    else:                # a z-scored array beside an mV record: one time scale, two height scales, said for each
        st.caption(f"Both at {speed} mm/s{ends}; heights: "
                   + ", ".join(f"**{esc(rec.label)}** at {scale}" for rec, scale in zip((ra, rb), scales))
                   + " (change them on the Reader page). One ECG's amplitudes are not in mV: their heights do "
                     "not compare.")
    st.markdown("### Measurements")
    ma, mb = (measured(each) for each in (first, second))
    rows = []
    for _, attr, unit, note in FIELDS:    # as the Reader shows them, in whole units, or why there is none
        va, vb = shown_value(ma, attr), shown_value(mb, attr)
        rows.append({"measurement": column_name(attr),
                     ra.label: value_words(ma, va, note),
                     rb.label + " ": value_words(mb, vb, note),
                     difference: "—" if va is None or vb is None else f"{measurement_change(va, vb, unit):+d}"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="cmp_meas")
    # the stretch each measurement says it describes (the one asked for, unless it says otherwise)
    spans = [(rec, span_words(rec, m.start_s, m.start_s + m.seconds_analysed))
             for rec, m in ((ra, ma), (rb, mb)) if m is not None]
    if spans:
        st.caption("Measured on: " + per_ecg(spans) + ".")
    not_given = [f"**{esc(rec.label)}**: {esc(words)}" for rec, m in ((ra, ma), (rb, mb))
                 if m is not None and (words := not_given_words(m))]
    if not_given:        # the cells say "not measurable"; the Reader says why, and so does this page
        st.caption("Not given, and why: " + " · ".join(not_given) + ".")
    if engine.model is None:
        return
    phrases = prompts.current()
    if not phrases:
        return
    va, vb = (build_view(engine.rank(each.ecg, phrases), phrases, short_length(engine.model, each.ecg))
              for each in (first, second))
    by_b = {r.prompt: r for r in vb.rows + vb.unknown}
    table, digits = [], 0
    for r in va.rows:
        kind, score_a, score_b, change = scores(r, by_b.get(r.prompt))
        digits = max(digits, SCORE_DIGITS[kind])
        table.append({"phrase": r.prompt, "score": kind, ra.label: score_a, rb.label + " ": score_b,
                      difference: change, "reliability": r.reliability[1]})
    st.markdown("### Ranking of the same phrases")
    st.markdown(f'<div data-testid="mets-compare-reading">The model\'s reading (phrases that stand out from the '
                f'reference ECGs): <b>{esc(ra.label)}</b>: {esc(va.reading)} · <b>{esc(rb.label)}</b>: '
                f'{esc(vb.reading)}</div>', unsafe_allow_html=True)
    for each, view, m in ((first, va, ma), (second, vb, mb)):     # what stands out against what is measured
        for words in view.measurement_disagreements(m):
            st.warning(f"{each.rec.label}: {words}", icon="⚠️")
    if table:                             # none when every phrase is negated or not known: said below
        # every score of a column to the same decimals (Streamlit drops a whole number's: "36" beside "6.6"),
        # the differences signed as the measurements' are
        shown = f"%.{digits}f"
        st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="cmp_rank",
                     column_config={ra.label: st.column_config.NumberColumn(format=shown),
                                    rb.label + " ": st.column_config.NumberColumn(format=shown),
                                    difference: st.column_config.NumberColumn(format=f"%+.{digits}f")})
    lead_sets = lead_sets_note(first, second, va, vb, engine.model)
    if lead_sets:
        st.caption(lead_sets)
    st.caption("Ranked on: " + per_ecg((each.rec, each.words) for each in (first, second))
               + " (the stretches of the tracings above).")
    if va.negated:
        st.markdown(negated_html(va, vb, ra.label, rb.label, difference), unsafe_allow_html=True)
    if va.unknown:
        st.caption("Not known to the model (not ranked): " + ", ".join(r.prompt for r in va.unknown))


compare_page(engines.get_engine(), session.records())
