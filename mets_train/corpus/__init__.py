"""The pretraining corpus: 10 s windows of the open ECG databases, each with a machine-style English report.

`mets corpus build --data-dir DIR --out DIR` writes the corpus folder of format.py (signals.npy,
lead_mask.npy, windows.csv with every column of format.WINDOW_COLUMNS, corpus.json), at the corpus rate
(default 100 Hz), band-passed 0.5-40 Hz, plus:

  corpus.json          also seed, n_windows, counts, builder_version, per-source records/skips/notes, options
  CORPUS_CARD.md       counts per statement, source, lead set and split; patients per split
  window_details.jsonl one JSON object per window (idx order): heart rate and where it came from, beat
                       counts per annotation symbol inside the window, leads and their recorded names,
                       padding, record notes (e.g. the QTDB "ECG1->II" lead approximation)

PTB-XL rows carry PTB-XL's own report (translated) and its strat_fold side (1-8 train, 9 val; fold 10 is
never read); both of its signal forms are read.

Modules: `sources` (what each database's labels say, and who the patient is), `annotations` (beat and
rhythm annotations counted inside a window), `vocabulary` + mets_core/statements.json (the statement
vocabulary and the report generator), `split` (patient-wise stratified split), `signals` (read + resample + band-pass,
heart rate), `build` (the two-pass builder), `card` (CORPUS_CARD.md), `format` (the folder format every
writer goes through: this builder, the PTB-XL recipe, the synthetic test corpus). The CLI is
mets_train/commands/corpus.py.
"""
from __future__ import annotations

from .build import BuildOptions, CorpusBuildError, build_corpus
from .vocabulary import Finding, Vocabulary

__all__ = ["BuildOptions", "CorpusBuildError", "Finding", "Vocabulary", "build_corpus"]
