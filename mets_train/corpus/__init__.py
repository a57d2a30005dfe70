"""The pretraining corpus: 10 s windows of the open ECG databases, each with a machine-style English report.

`mets corpus build --data-dir DIR --out DIR` writes (the contract the training code reads):

  signals.npy          float16 (N, 12, T), memory-mappable (np.lib.format), at the corpus rate fs
                       (default 100 Hz), T = fs * window_s; mV, resampled and band-pass filtered
                       (0.5-40 Hz), NOT normalised; absent leads are zero rows
  lead_mask.npy        bool (N, 12), True where the lead was recorded (standard lead order)
  windows.csv          idx, source, record, patient, start_s, split (train|val), report,
                       statements (";"-joined statement ids = the window's multi-label ground truth), n_leads,
                       report_original, report_statements, form (mv|zscore) -- see format.WINDOW_COLUMNS.
                       PTB-XL rows carry PTB-XL's own report (translated) and its strat_fold side
                       (1-8 train, 9 val; fold 10 is never read); both of its signal forms are read
  corpus.json          fs, window_s, seed, n_windows, statements (id -> canonical phrase), counts,
                       builder_version, per-source records/skips/notes, options
  CORPUS_CARD.md       counts per statement, source, lead set and split; patients per split
  window_details.jsonl one JSON object per window (idx order): heart rate and where it came from, beat
                       counts per annotation symbol inside the window, leads and their recorded names,
                       padding, record notes (e.g. the QTDB "ECG1->II" lead approximation)

Modules: `sources` (what each database's labels say, and who the patient is), `annotations` (beat and
rhythm annotations counted inside a window), `vocabulary` + statements.json (the statement vocabulary and
the report generator), `split` (patient-wise stratified split), `signals` (read + resample + band-pass,
heart rate), `build` (the two-pass builder), `card` (CORPUS_CARD.md), `format` (the folder format every
writer goes through: this builder, the PTB-XL recipe, the synthetic test corpus). The CLI is
mets_train/commands/corpus.py.
"""
from __future__ import annotations

from .build import BuildOptions, CorpusBuildError, build_corpus
from .vocabulary import Finding, Vocabulary

__all__ = ["BuildOptions", "CorpusBuildError", "Finding", "Vocabulary", "build_corpus"]
