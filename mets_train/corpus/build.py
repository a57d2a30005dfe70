"""Build the pretraining corpus: every record of every database present -> 10 s windows with a
machine-style English report and ground-truth statement ids, split patient-wise into train/val.

Two passes, so memory stays bounded by one record:
  1. plan (headers, label files, annotations; no signals): which windows, what each says, which patient;
     then the patient-wise split;
  2. per record: read, resample + band-pass, cut the planned windows straight into the memmapped
     signals.npy, measure the heart rate where no annotation gives it, render the report.

Window layout per record (at the corpus rate, T = fs * window_s samples):
  - consecutive non-overlapping windows from the start; the tail is covered by one extra end-aligned
    window when at least half a window is left;
  - a record shorter than the window but at least half as long is one window, centred, zero-padded
    (as `preprocess.window_layout` pads an uploaded short ECG); shorter records are skipped;
  - at most `max_windows_per_record` windows per record (default 60 = 10 of a 30-min MIT-BIH record's
    180 minutes): the candidates are cut into that many equal blocks and one window is drawn per block
    (seeded), so the kept windows spread over the whole record.

Reproducible: every random choice is seeded from (seed, source, record, window start), so the same seed
and the same data folder give byte-identical output files.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from mets_core.ecg import STANDARD_LEADS
from mets_core.knowledge import rate_bounds
from mets_core.preprocess import PreprocessConfig

from ..ptbxl.translate import translate_report
from . import format as corpus_format
from .annotations import window_findings
from .card import write_card
from .signals import condition, measure_rate, rate_lead, read_record, resampled_length
from .sources import SOURCES, RecordSpec, load_label_maps, scan_sources
from .split import ALL as ALL_WINDOWS, split_patients
from .vocabulary import Finding, Vocabulary

BUILDER_VERSION = "1.0"
# the rate statements' bounds (bpm), statements.json "rate_bpm": the ranking's rate check reads the same
BRADY_BELOW = rate_bounds()["bradycardia"][1]
TACHY_ABOVE = rate_bounds()["tachycardia"][0]
_SINUS = {"sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia", "sinus_arrhythmia"}
_SINUS_BY_CLASS = {"bradycardia": "sinus_bradycardia", "normal": "sinus_rhythm", "tachycardia": "sinus_tachycardia"}


class CorpusBuildError(RuntimeError):
    """The corpus cannot be built (no data, output folder in the way, ...). The message says why."""


_MODEL_INPUT = PreprocessConfig()       # the model's input: the corpus's rate, window and band-pass by default


@dataclass
class BuildOptions:
    fs: float = _MODEL_INPUT.fs
    window_s: float = _MODEL_INPUT.window_s
    seed: int = 0
    val_fraction: float = 0.2
    max_windows_per_record: int | None = 60
    sources: list[str] | None = None                 # None = every database found
    max_records: int | None = None                   # per source (first N in natural order); for tests
    records: dict[str, set[str]] | None = None       # source -> record names to keep; for tests
    highpass_hz: float = _MODEL_INPUT.highpass_hz
    lowpass_hz: float = _MODEL_INPUT.lowpass_hz

    @property
    def n_samples(self) -> int:
        return int(round(self.fs * self.window_s))


@dataclass
class WindowPlan:
    spec: int                       # index into the record list
    start: int                      # first sample of the window in the record, corpus rate
    pad: int                        # zeros before the record starts (short records only)
    findings: list[Finding]
    ann_rate: float | None
    beat_counts: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)   # statement ids known before pass 2 (for the split)


def _rng(seed: int, *parts) -> np.random.Generator:
    key = "/".join(str(p) for p in parts)
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def window_starts(n: int, T: int, cap: int | None, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(start, pad) of each window for a record of n samples at the corpus rate (see module docstring)."""
    if n < T:
        return [(0, (T - n) // 2)] if 2 * n >= T else []
    starts = list(range(0, n - T + 1, T))
    if n - (starts[-1] + T) >= T // 2:
        starts.append(n - T)
    if cap and len(starts) > cap:
        blocks = np.array_split(np.arange(len(starts)), cap)
        starts = [starts[int(b[rng.integers(len(b))])] for b in blocks]
    return [(s, 0) for s in starts]


def rate_class(hr: float) -> str:
    return "bradycardia" if hr < BRADY_BELOW else "tachycardia" if hr > TACHY_ABOVE else "normal"


def add_rate(findings: list[Finding], hr: float | None, upgrade: bool, vocab: Vocabulary) -> list[Finding]:
    """Rate statements from a heart rate: sinus rhythm becomes sinus brady/tachycardia where the source's
    rhythm label does not state the rate itself (annotations, CinC); other rhythms get 'bradycardia' /
    'tachycardia'; a window with no rhythm statement at all gets 'normal heart rate'."""
    if hr is None:
        return findings
    rate = int(round(hr))
    cls = rate_class(rate)      # classed on the rounded rate, so the report never says "bradycardia, 60 bpm"
    out = []
    for f in findings:
        if f.id == "sinus_rhythm" and upgrade and cls != "normal":
            f = Finding(_SINUS_BY_CLASS[cls], rate=rate)
        elif f.id == _SINUS_BY_CLASS[cls]:
            f = replace(f, rate=rate)
        out.append(f)
    rhythm = {f.id for f in out if vocab.category(f.id) == "rhythm"}
    if rhythm & _SINUS:
        if cls != "normal" and not rhythm & {"sinus_bradycardia", "sinus_tachycardia"} \
                and "sinus_arrhythmia" in rhythm:
            out.append(Finding(cls, rate=rate))
        return out
    if cls != "normal":
        out.append(Finding(cls, rate=rate))
    elif not rhythm:
        out.append(Finding("normal_rate", rate=rate))
    return out


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, flush=True)


def plan_corpus(data_dir: Path, opts: BuildOptions, vocab: Vocabulary, maps: dict, verbose: bool = True):
    """Pass 1: scan the databases and plan every window (no signals read)."""
    scans, absent = scan_sources(data_dir, opts.sources, maps, only=opts.records, max_records=opts.max_records)
    specs: list[RecordSpec] = []
    plans: list[WindowPlan] = []
    T = opts.n_samples
    for scan in scans:
        n_before = len(plans)
        for spec in scan.records:
            n_c = resampled_length(spec.n_samples, spec.fs, opts.fs)
            layout = window_starts(n_c, T, opts.max_windows_per_record,
                                   _rng(opts.seed, "layout", spec.source, spec.record))
            if not layout:
                scan.skipped.append((spec.record, f"shorter than half a window ({spec.n_samples / spec.fs:.1f} s)"))
                continue
            specs.append(spec)
            for start, pad in layout:
                s0, e0 = _source_span(spec, start, pad, opts)
                findings, ann_rate, counts = list(spec.findings), None, {}
                if spec.annotations is not None:
                    wf, ann_rate, counts = window_findings(spec.annotations, s0, e0, maps, spec.source)
                    # an annotated rate is known now, so its statements take part in the split
                    findings = add_rate(findings + wf, ann_rate, spec.rate_upgrade, vocab)
                _, labels = vocab.resolve(findings)
                plans.append(WindowPlan(spec=len(specs) - 1, start=start, pad=pad, findings=findings,
                                        ann_rate=ann_rate, beat_counts=counts, labels=labels))
        _log(verbose, f"  {scan.name:14s} {len(scan.records):5d} records  {len(plans) - n_before:6d} windows planned"
                      f"  ({len(scan.skipped)} skipped)")
    return scans, absent, specs, plans


def _source_span(spec: RecordSpec, start: int, pad: int, opts: BuildOptions) -> tuple[int, int]:
    """The window's samples [s0, e0) in the record's own rate (annotation sample numbers)."""
    if pad:
        return 0, spec.n_samples
    s0 = int(round(start / opts.fs * spec.fs))
    e0 = min(spec.n_samples, s0 + int(round(opts.window_s * spec.fs)))
    return s0, e0


def build_corpus(data_dir: str | Path, out_dir: str | Path, opts: BuildOptions | None = None,
                 overwrite: bool = False, verbose: bool = True) -> dict:
    """Build the corpus folder (contract in the package docstring). Returns corpus.json's content."""
    opts = opts or BuildOptions()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if not data_dir.is_dir():
        raise CorpusBuildError(f"data folder {data_dir} does not exist")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / corpus_format.META_FILE).is_file() and not overwrite:
            raise CorpusBuildError(f"{out_dir} exists and is not a corpus folder; choose an empty or new folder")
        if not overwrite:
            raise CorpusBuildError(f"{out_dir} already holds a corpus; pass --overwrite to replace it")
    t0 = time.perf_counter()
    vocab, maps = Vocabulary.load(), load_label_maps()
    _log(verbose, f"planning windows from {data_dir}")
    scans, absent, specs, plans = plan_corpus(data_dir, opts, vocab, maps, verbose)
    if absent:
        _log(verbose, f"  not in the data folder (skipped): {', '.join(absent)}")
    if not plans:
        raise CorpusBuildError(f"no usable records found in {data_dir} (looked for: "
                               f"{', '.join(opts.sources or SOURCES)}; absent: {', '.join(absent) or 'none'})")

    # patient-wise split, stratified (in windows) over the planned statements and the source
    patient_windows: dict[str, Counter] = defaultdict(Counter)
    for p in plans:
        spec = specs[p.spec]
        patient_windows[spec.patient].update(p.labels + [f"source:{spec.source}", ALL_WINDOWS])
    # a database with its own patient-wise folds (PTB-XL) fixes its patients' side; the rest are split here
    fixed = {specs[p.spec].patient: specs[p.spec].split for p in plans if specs[p.spec].split}
    side = split_patients({p: c for p, c in patient_windows.items() if p not in fixed}, opts.val_fraction, opts.seed)
    side.update(fixed)

    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / ".building"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    T = opts.n_samples
    signals = corpus_format.new_signals(work, len(plans), T)
    lead_mask = np.zeros((len(plans), len(STANDARD_LEADS)), dtype=bool)
    rows: list[dict] = []
    details: list[dict] = []
    kept: list[int] = []
    failed: list[tuple[str, str, str]] = []
    no_statement = 0
    by_spec: dict[int, list[int]] = defaultdict(list)
    for k, p in enumerate(plans):
        by_spec[p.spec].append(k)
    _log(verbose, f"writing {len(plans)} windows of {len(specs)} records")
    last_source, t_source = None, time.perf_counter()
    for si, spec in enumerate(specs):
        if spec.source != last_source:
            if last_source is not None:
                _log(verbose, f"  {last_source:14s} done in {time.perf_counter() - t_source:6.1f} s")
            last_source, t_source = spec.source, time.perf_counter()
        try:
            raw = read_record(spec)
            ecg = condition(raw, opts.fs, opts.highpass_hz, opts.lowpass_hz)
        except Exception as exc:  # noqa: BLE001 - one unreadable record must not stop the build
            failed.append((spec.source, spec.record, f"{type(exc).__name__}: {exc}"))
            _log(verbose, f"  {spec.source}/{spec.record}: not read, its windows are left out ({failed[-1][2]})")
            continue
        lead_row = rate_lead(raw)
        for k in by_spec[si]:
            p = plans[k]
            window = np.zeros((len(STANDARD_LEADS), T), dtype=np.float32)
            seg = ecg.signal[:, p.start:p.start + T - p.pad]
            window[:, p.pad:p.pad + seg.shape[1]] = seg
            hr, hr_source, findings = p.ann_rate, "annotations" if p.ann_rate is not None else None, p.findings
            if hr is None and spec.measure_rate:
                s0, e0 = _source_span(spec, p.start, p.pad, opts)
                hr = measure_rate(raw.signal[lead_row, s0:e0], raw.fs)
                hr_source = "measured" if hr is not None else None
                findings = add_rate(p.findings, hr, spec.rate_upgrade, vocab)
            generated, labels = vocab.render(findings, _rng(opts.seed, "report", spec.source, spec.record, p.start))
            if not generated:
                no_statement += 1
                continue
            own = spec.report or ""
            report = (translate_report(own) if own else "") or generated
            # written compacted: a window without statement leaves no hole (row <= k always)
            signals[len(kept)] = window.astype(np.float16)
            lead_mask[len(kept)] = ecg.lead_mask
            kept.append(k)
            start_s = p.start / opts.fs
            rows.append({"source": spec.source, "record": spec.record, "patient": spec.patient,
                         "start_s": f"{start_s:.3f}", "split": side[spec.patient], "report": report,
                         "statements": ";".join(labels), "n_leads": int(ecg.lead_mask.sum()),
                         "report_original": own or generated, "report_statements": generated, "form": spec.form})
            details.append({"record": f"{spec.source}/{spec.record}", "fs_source": spec.fs,
                            "leads": " ".join(ecg.leads), "lead_sources": ecg.metadata.get("lead_sources", ""),
                            "pad_s": round(p.pad / opts.fs, 3),
                            "heart_rate": None if hr is None else round(float(hr), 1), "heart_rate_source": hr_source,
                            "beat_counts": dict(sorted(p.beat_counts.items())), "notes": spec.notes})
    if last_source is not None:
        _log(verbose, f"  {last_source:14s} done in {time.perf_counter() - t_source:6.1f} s")
    signals.flush()
    n = len(kept)
    if n == 0:
        shutil.rmtree(work, ignore_errors=True)
        raise CorpusBuildError("every planned window failed to read or had no statement; nothing written")
    del signals
    if n < len(plans):                   # some windows were dropped: cut the unused tail off the file
        _truncate_npy(work / corpus_format.SIGNALS_FILE, n)
    lead_mask = lead_mask[:n]
    for i, (row, det) in enumerate(zip(rows, details)):
        row["idx"] = i
        det["idx"] = i

    corpus_format.write_windows(work, rows)
    with open(work / "window_details.jsonl", "w", encoding="utf-8") as fh:
        for det in details:
            fh.write(json.dumps({"idx": det.pop("idx"), **det}, sort_keys=False) + "\n")
    corpus_format.write_lead_mask(work, lead_mask)

    meta = _corpus_json(opts, vocab, scans, absent, rows, lead_mask, failed, no_statement)
    corpus_format.write_meta(work, meta)
    write_card(work / "CORPUS_CARD.md", meta, rows, vocab)
    for name in (*corpus_format.REQUIRED_FILES, "window_details.jsonl", "CORPUS_CARD.md"):
        os.replace(work / name, out_dir / name)
    shutil.rmtree(work, ignore_errors=True)
    _log(verbose, f"corpus: {n} windows, {meta['n_patients']} patients -> {out_dir} "
                  f"({time.perf_counter() - t0:.1f} s)")
    return meta


def _truncate_npy(path: Path, n: int) -> None:
    """Keep the first n rows of a .npy file in place: rewrite its header for the new shape and cut the
    file (copying through a new file only if the header would change length)."""
    fmt = np.lib.format
    with open(path, "rb") as fh:
        version = fmt.read_magic(fh)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        data_at = fh.tell()
    new_shape = (n, *shape[1:])
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    header = {"descr": fmt.dtype_to_descr(dtype), "fortran_order": fortran, "shape": new_shape}
    buf = io.BytesIO()
    (fmt.write_array_header_1_0 if version == (1, 0) else fmt.write_array_header_2_0)(buf, header)
    if buf.tell() == data_at:
        with open(path, "r+b") as fh:
            fh.write(buf.getvalue())
            fh.truncate(data_at + n * row_bytes)
        return
    src = np.load(path, mmap_mode="r")
    tmp = path.with_name(path.name + ".tmp")
    dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=new_shape)
    for a in range(0, n, 1024):
        dst[a:a + 1024] = src[a:min(n, a + 1024)]
    dst.flush()
    del dst, src
    os.replace(tmp, path)


def _lead_set(mask_row: np.ndarray) -> str:
    names = [lead for lead, m in zip(STANDARD_LEADS, mask_row) if m]
    return "12-lead" if len(names) == 12 else " ".join(names)


def _corpus_json(opts: BuildOptions, vocab: Vocabulary, scans, absent, rows, lead_mask, failed,
                 no_statement: int) -> dict:
    stmt_windows: Counter = Counter()
    stmt_split: dict[str, Counter] = defaultdict(Counter)
    stmt_patients: dict[str, set] = defaultdict(set)
    for r in rows:
        for s in r["statements"].split(";"):
            stmt_windows[s] += 1
            stmt_split[s][r["split"]] += 1
            stmt_patients[s].add(r["patient"])
    src = {}
    for scan in scans:
        rs = [r for r in rows if r["source"] == scan.name]
        src[scan.name] = {
            "folder": scan.folder.name if scan.folder else None,
            "records": len({r["record"] for r in rs}),
            "windows": len(rs),
            "patients": len({r["patient"] for r in rs}),
            "windows_by_split": dict(sorted(Counter(r["split"] for r in rs).items())),
            "skipped": [{"record": rec, "reason": why} for rec, why in scan.skipped],
            "failed": [{"record": rec, "reason": why} for s, rec, why in failed if s == scan.name],
            "notes": scan.notes,
        }
    split_patients_ = {s: len({r["patient"] for r in rows if r["split"] == s}) for s in ("train", "val")}
    lead_sets = Counter(_lead_set(m) for m in lead_mask)
    opt = asdict(opts)
    opt["records"] = {k: sorted(v) for k, v in sorted((opts.records or {}).items())} or None
    opt["sources"] = [s for s in SOURCES if s in opts.sources] if opts.sources else None
    return {
        "builder_version": BUILDER_VERSION,
        "fs": opts.fs,
        "window_s": opts.window_s,
        "n_samples": opts.n_samples,
        "seed": opts.seed,
        "val_fraction": opts.val_fraction,
        "max_windows_per_record": opts.max_windows_per_record,
        "band_pass_hz": [opts.highpass_hz, opts.lowpass_hz],
        "signal_units": "mV, resampled and band-pass filtered, not normalised; absent leads are zeros; "
                        "rows whose form is 'zscore' are z-scored per lead (no absolute amplitude)",
        "leads": list(STANDARD_LEADS),
        "n_windows": len(rows),
        "n_patients": len({r["patient"] for r in rows}),
        "n_windows_dropped_without_statement": no_statement,
        "statements": vocab.canonical,
        "statement_categories": {sid: s.category for sid, s in vocab.statements.items()},
        "counts": {
            "windows_by_statement": dict(sorted(stmt_windows.items(), key=lambda kv: (-kv[1], kv[0]))),
            "patients_by_statement": {s: len(stmt_patients[s]) for s in sorted(stmt_patients)},
            "windows_by_statement_split": {s: dict(sorted(stmt_split[s].items())) for s in sorted(stmt_split)},
            "windows_by_source": {k: v["windows"] for k, v in src.items()},
            "windows_by_split": dict(sorted(Counter(r["split"] for r in rows).items())),
            "patients_by_split": split_patients_,
            "windows_by_lead_set": dict(sorted(lead_sets.items(), key=lambda kv: (-kv[1], kv[0]))),
            "windows_by_form": dict(sorted(Counter(r["form"] for r in rows).items())),
        },
        "sources": src,
        "absent_sources": absent,
        "options": opt,
    }
