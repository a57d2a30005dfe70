"""The record's header (name, rate, duration, leads, age and sex) and the file's own labels.
Public contract: data-testid="mets-record" (data-leads: how many leads are recorded) holding
"mets-record-title" (the ECG's name) and "mets-record-facts" (age, sex, when recorded, rate, length, leads)."""
from __future__ import annotations

import dataclasses
from typing import Callable

import streamlit as st

from mets_core.ecg import STANDARD_LEADS

from ..loading import channels_words
from ..plotting import amplitudes
from ..ranking import disagreement, label_row
from ..session import Record, data_dir
from .common import duration_words, esc, recorded_at, recorded_words


def file_labels_of(rec: Record):
    """What the file says (mets_core.file_labels.FileLabels), or None: the file's own labels; for a PTB-XL
    record, whose headers carry none, PTB-XL's table: the one its database gave with it (a record fetched
    from PhysioNet), else the one in the user's data folder (<data>/ptbxl/, as `mets download ptbxl` lays it
    out); for a CinC 2017 record, its class in <data>/cinc2017/REFERENCE.csv; and the rhythms its annotation
    file marks (MIT-BIH's "(AFIB", "(B" ...). Used by every page that shows them (header, batch table, PDF
    report)."""
    from mets_core.file_labels import cinc2017_labels, file_labels, ptbxl_labels, rhythm_labels
    try:
        labels = file_labels(rec.ecg)
        folder = data_dir()
        fetched = rec.source_labels
        if not labels.labels and fetched is not None and fetched.labels:
            labels = dataclasses.replace(fetched, labels=list(fetched.labels))
        elif not labels.labels:
            # the data folder's table; else what the fetch said (its table could not be had)
            labels = (ptbxl_labels(rec.ecg, folder / "ptbxl") if folder is not None else None) or \
                (cinc2017_labels(rec.ecg, folder / "cinc2017") if folder is not None else None) or \
                (dataclasses.replace(fetched, labels=[]) if fetched is not None else labels)
        if rec.beats is not None:
            labels.labels += rhythm_labels(rec.beats, rec.ecg.fs, rec.ecg.n_samples)
        return labels
    except Exception:  # noqa: BLE001 - the header is a convenience, never a reason to fail the page
        return None


def record_header(rec: Record) -> None:
    ecg = rec.ecg
    n_present = int(ecg.lead_mask.sum())
    chips = "".join(
        f'<span class="lead-chip {"on" if present else "off"}" title="{"recorded" if present else "not recorded"}">'
        f'{lead}{"" if present else " <span class=sr>not recorded</span>"}</span>'
        for lead, present in zip(STANDARD_LEADS, ecg.lead_mask))
    badges = ""
    if rec.synthetic:
        badges += '<span class="badge synthetic">SYNTHETIC — not a patient</span>'
    badges += f'<span class="badge origin">{esc(rec.origin)}</span>'
    labels = file_labels_of(rec)
    who = " · ".join(x for x in (f"age {labels.age}" if labels is not None and labels.age else None,
                                 labels.sex if labels is not None else None,
                                 recorded_words(ecg) if recorded_at(ecg) else None) if x)
    st.markdown(
        f'<div class="rec-head" data-testid="mets-record" data-leads="{n_present}"><h2 class="rec-title">'
        f'<span data-testid="mets-record-title">{esc(rec.label)}</span> {badges}</h2>'
        f'<div class="rec-meta" data-testid="mets-record-facts">{"<b>" + esc(who) + "</b> · " if who else ""}'
        f'<b>{ecg.fs:g} Hz</b> · '
        f'{esc(duration_words(ecg.duration))} · '
        f'{n_present} of 12 leads recorded · {ecg.n_samples:,} samples per lead</div>'
        f'<div class="lead-chips">{chips}</div></div>', unsafe_allow_html=True)
    units_warning = amplitudes(ecg).warning
    if units_warning:        # above the paper, not in the collapsed details: it changes how the paper is read
        st.warning(units_warning, icon="⚠️")
    channels_note = channels_words(ecg.metadata)
    if channels_note:
        st.caption(channels_note)
    notes = ecg.metadata.get("comments", "").strip()
    extra = {k: v for k, v in ecg.metadata.items() if k in ("lead_sources", "dropped_leads", "units", "source",
                                                             "uploaded_files", "source_format")}
    if notes or extra:
        with st.expander("Recording details from the file"):
            if notes:
                # Header comments can carry names, birth dates or record numbers: shown only on request,
                # per ECG (nothing of them reaches the browser until then).
                if st.toggle("Show header comments", key=f"show_comments_{rec.key}", value=False,
                             help="WFDB/CSV header comments may contain patient identifiers."):
                    st.text(notes[:4000])
                else:
                    n_lines = len(notes.splitlines())
                    st.caption(f"{n_lines} header comment line{'s' if n_lines != 1 else ''} hidden: they may "
                               f"contain patient identifiers.")
            for k, v in extra.items():
                st.caption(f"{k.replace('_', ' ')}: {str(v)[:400]}")


def file_labels_panel(rec: Record, rank_these: Callable[[list[str]], None], view=None,
                      page: tuple[float, float] | None = None) -> None:
    """What the file itself says (its own diagnosis codes decoded into words), beside the ranking; a button
    hands the labels to `rank_these` (the prompt box's public setter). `view`: the ranking shown
    (dashboard.ranking.RankingView): a label that is also a ranked phrase gets the model's percentile beside
    it, and the page says so when the model does not single out what the file says but another phrase;
    `page`: (start, end) s of a long recording's page on screen, whose own rhythms (those its annotation file
    marks there) are what the ranking is held against (not the whole recording's): a rhythm the file marks
    elsewhere only gets "not on this page" instead of the model's percentile (which is the page's)."""
    labels = file_labels_of(rec)
    st.markdown("### What the file says")
    if labels is None or not labels.labels:
        words = (labels.origin if labels is not None and labels.origin else
                 "This file carries no diagnosis labels the reader recognises.")
        st.markdown(f'<div class="file-labels none" data-testid="mets-file-labels">{esc(words)}</div>',
                    unsafe_allow_html=True)
        return
    # the rhythms the annotation file marks for the page on screen, and anywhere in the recording (None: no page)
    on_page, marked = None, []
    if page is not None and rec.beats is not None:
        from .navigation import page_rhythms
        on_page = page_rhythms(rec.beats, rec.ecg, *page)
        marked = page_rhythms(rec.beats, rec.ecg, 0.0, rec.ecg.duration)
    items = []
    for lab in labels.labels:
        src = lab.source + (f" {lab.code}" if lab.code else "")
        row = label_row(view, lab.text)
        model = ""
        if row is not None and on_page is not None and lab.text in marked and lab.text not in on_page:
            # the ranking scores the page on screen; a rhythm marked only elsewhere in the recording would
            # read as the model confirming it ("normal sinus rhythm ... model: 97th pct" on a page of AF)
            model = '<span class="fl-model"> · not on this page</span>'
        elif row is not None:
            model = (f'<span class="fl-model"> · model: {"".join(row.percentile_rank)} pct'
                     f'{", stands out" if row.stands_out else ""}</span>')
        items.append(f'<li class="{"" if lab.known else "undecoded"}" title="{esc(src)}">{esc(lab.words)}'
                     f'<span class="src"> · {esc(lab.source)}</span>{model}</li>')
    compared = on_page or [lab.text for lab in labels.labels]
    differ = disagreement(view, compared)
    disagree = (f'<div class="fl-disagree" data-testid="mets-disagree">{esc(differ)}</div>' if differ else "")
    st.markdown(f'<div class="file-labels" data-testid="mets-file-labels"><ul>{"".join(items)}</ul>{disagree}'
                f'<div class="fl-note">{esc(labels.origin or "As written in the file (codes decoded into words).")}'
                f' Not checked by this tool.</div></div>', unsafe_allow_html=True)
    phrases = [lab.text for lab in labels.labels if lab.known and lab.source != "header text"] or \
              [lab.phrase for lab in labels.labels if lab.source == "header text"]
    phrases = list(dict.fromkeys(p for p in phrases if p))
    if phrases:
        st.button("Rank the file's own labels", key=f"rank_file_labels_{rec.key}", on_click=rank_these,
                  args=(phrases,), help="Puts these labels in the phrase box so you can compare them with the "
                                        "model.")
