"""CORPUS_CARD.md: what is in a built corpus (per statement, source, lead set, split) and how it was made."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .sources import __doc__ as PATIENT_RULES
from .vocabulary import Vocabulary

MAX_LISTED = 25   # skipped records / notes listed per source before "... and N more"


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _patient_rules() -> list[str]:
    """The patient-identity rules of sources.py's docstring, as a code block."""
    text = (PATIENT_RULES or "").split("Patient identity", 1)[-1]
    return ["```"] + [ln for ln in text.splitlines()[1:] if ln.strip()] + ["```"]


def write_card(path: Path, meta: dict, rows: list[dict], vocab: Vocabulary) -> None:
    c = meta["counts"]
    L: list[str] = ["# Corpus card", ""]
    L += [f"- windows: **{meta['n_windows']}** of {meta['window_s']:g} s at {meta['fs']:g} Hz "
          f"(T = {meta['n_samples']} samples), patients: **{meta['n_patients']}**",
          f"- split (patient-wise, stratified, seed {meta['seed']}, val fraction {meta['val_fraction']}): "
          + ", ".join(f"{s} {c['windows_by_split'].get(s, 0)} windows / {c['patients_by_split'].get(s, 0)} patients"
                      for s in ("train", "val")),
          f"- at most {meta['max_windows_per_record']} windows per record; signals {meta['signal_units']}; "
          f"band-pass {meta['band_pass_hz'][0]:g}-{meta['band_pass_hz'][1]:g} Hz",
          f"- builder version {meta['builder_version']}; statement vocabulary: {len(meta['statements'])} ids "
          f"(mets_core/statements.json), {len(c['windows_by_statement'])} occur here",
          f"- windows dropped because nothing could be said about them: "
          f"{meta['n_windows_dropped_without_statement']}",
          ""]
    if meta["absent_sources"]:
        L += [f"Databases not found in the data folder (skipped): {', '.join(meta['absent_sources'])}.", ""]

    L += ["## Per source", ""]
    srows = []
    for name, s in meta["sources"].items():
        by = s["windows_by_split"]
        srows.append([name, s["folder"], s["records"], s["patients"], s["windows"], by.get("train", 0),
                      by.get("val", 0), len(s["skipped"]) + len(s["failed"])])
    L += _table(["source", "folder", "records", "patients", "windows", "train", "val", "skipped/failed"], srows)
    L += [""]

    L += ["## Per split", ""]
    L += _table(["split", "windows", "patients"],
                [[s, c["windows_by_split"].get(s, 0), c["patients_by_split"].get(s, 0)] for s in ("train", "val")])
    L += [""]

    L += ["## Per lead set", ""]
    L += _table(["leads", "windows"], [[k, v] for k, v in c["windows_by_lead_set"].items()])
    L += [""]

    L += ["## Per statement", "",
          "Windows carrying each statement id (umbrella ids such as `mi`, `st_t_abnormality`, `pacemaker` "
          "include their specific statements; `mi_<territory>` ids are labels only).", ""]
    st_rows = []
    for sid, n in c["windows_by_statement"].items():
        sp = c["windows_by_statement_split"].get(sid, {})
        st_rows.append([f"`{sid}`", vocab.statements[sid].canonical, vocab.category(sid), n,
                        c["patients_by_statement"].get(sid, 0), sp.get("train", 0), sp.get("val", 0)])
    L += _table(["id", "canonical phrase", "category", "windows", "patients", "train", "val"], st_rows)
    L += [""]
    no_val = [sid for sid, sp in c["windows_by_statement_split"].items() if not sp.get("val")]
    if no_val:
        L += [f"Statements with no validation window (too few patients): {', '.join(sorted(no_val))}.", ""]

    L += ["## Per source and statement (windows)", ""]
    per: dict[str, Counter] = {}
    for r in rows:
        per.setdefault(r["source"], Counter()).update(r["statements"].split(";"))
    for name, cnt in per.items():
        L += [f"- **{name}**: " + ", ".join(f"{k} {v}" for k, v in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0])))]
    L += [""]

    L += ["## Example reports", ""]
    seen = set()
    for r in rows:
        if r["source"] not in seen:
            seen.add(r["source"])
            L += [f"- {r['source']} {r['record']} @ {r['start_s']} s: \"{r['report']}\""]
    L += [""]

    L += ["## Patients", "", "Patient identity used for the split (no patient is on both sides):", ""]
    L += _patient_rules() + [""]

    L += ["## Skipped records and notes", ""]
    for name, s in meta["sources"].items():
        items = [f"{x['record']}: {x['reason']}" for x in s["skipped"] + s["failed"]]
        notes = list(dict.fromkeys(s["notes"]))
        if not items and not notes:
            continue
        L += [f"- **{name}**"]
        for it in (items + notes)[:MAX_LISTED]:
            L += [f"  - {it}"]
        extra = len(items) + len(notes) - MAX_LISTED
        if extra > 0:
            L += [f"  - ... and {extra} more (corpus.json lists them all)"]
    L += [""]
    path.write_text("\n".join(L), encoding="utf-8")
