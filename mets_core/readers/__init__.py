"""Every input format -> one ``ECG``.

``read_ecg(source)`` accepts a filesystem path, raw bytes, or a list of ``(filename, bytes)`` pairs
(several files uploaded together, e.g. a ``.hea`` with its ``.dat``). Formats:

* ``wfdb_record``  WFDB records (``.hea`` + ``.dat`` in any format wfdb reads; PhysioNet Challenge ``.hea`` +
                   ``.mat``), always decoded by wfdb itself. Uploaded bytes stay in memory: they are served to
                   ``wfdb.rdrecord`` through an in-memory fsspec filesystem, never written to disk.
* ``csv_table``    CSV: a header row of lead names, an optional time column, mV or µV;
* ``numpy_array``  NumPy ``.npy`` / ``.npz`` (never unpickled);
* ``dicom``        DICOM 12-lead ECG waveform files (pydicom);
* ``muse``, ``philips``, ``hl7aecg``  GE MUSE XML, Philips Sierra XML (incl. XLI-compressed), HL7 aECG XML
                   (parsed by ``xml_safe``, which refuses entities and external references);
* ``edf``          EDF/EDF+/BDF (edfio); EDF+D/BDF+D with the gaps between data records as missing samples;
* ``scp``          SCP-ECG (.scp): uncompressed or default-Huffman rhythm data, CRCs checked (no third-party code);
* ``beat_labels``  a record's own beat annotations (WFDB/MIT ``.atr``, ``.qrs``), for display only
                   (``read_beat_labels``, ``beat_labels_of``), decoded by ``wfdb.rdann`` in memory;
* a ``.zip`` holding one record (or one file of another format), unpacked by ``upload``.

How the package is laid out (wfdb-python style, one job per module):

* ``dispatch``     ``read_ecg``: gather the input, recognise the format (``kind``, public: what a file is, which
                   also tells a WFDB record's files), call its module, finish;
* ``upload``       paths, bytes and (filename, bytes) pairs -> ``{file name: bytes}``; zips; safe names;
* ``limits``       every limit and the checks that raise when one is passed (also the rate bounds
                   ``mets_core.preprocess`` uses);
* ``channels``     ``Channels`` (what every format module returns) and the shared rules making an ``ECG``:
                   limits, the one missing-sample rule (``fill_missing``; ``filled_stretches``, public: where
                   it drew a straight line over missing samples), units, lead-name mapping;
* ``wfdb_adapter`` the only module that touches wfdb's private names (also used by ``mets_core.download``).

A new format is one module with ``read(data, filename, lead_names=None, fs=None) -> Channels`` and one line in
``dispatch.READERS`` (plus its extension or content test in ``dispatch.kind``).

Every failure is an ``ECGReadError`` (a ``ValueError``) whose message says what was wrong and what is
accepted (a file none of whose channels is named as a lead raises its subclass ``UnnamedLeadsError``, which
carries the channel names, so that a caller can ask which lead each one is and pass ``lead_names``); errors of wfdb, zipfile, numpy and pydicom on bad input are wrapped, never leaked. Nothing read
is logged (pydicom's value-quoting validation warnings are switched off while an upload is decoded).

Rules the readers apply (``limits`` and ``channels``) (so that nothing is guessed silently):

* Limits, checked before anything large is read or allocated: each uploaded file and the whole upload at
  most ``MAX_UPLOAD_BYTES`` (files read from a path: ``MAX_FILE_BYTES``, so that a 24-hour Holter in
  16-bit samples opens); a sampling rate in [``MIN_FS``, ``MAX_FS``] Hz; at least 2 samples; at most
  ``MAX_CHANNELS`` channels, ``MAX_TOTAL_SAMPLES`` recorded samples and ``MAX_SAMPLES_PER_LEAD`` samples per
  lead (memory: an ``ECG`` holds twelve float32 rows, 1.1 GB of address space at that length, of which only
  the recorded rows take memory: absent rows are zeros never written; a 24-hour Holter at 250 Hz has
  21.6 M); ``MAX_DURATION_S`` is only an outer bound on plausible recordings (14 days); a WFDB header at
  most ``MAX_HEADER_BYTES`` with at most ``MAX_CHANNELS`` signal lines (``MAX_SEGMENTS`` segment lines),
  checked before wfdb parses it.
* Units. WFDB and DICOM declare their units, which are converted to mV. CSV columns may carry a unit
  suffix (``II (uV)``, ``V1_mV``, ``I [µV]``), a ``# units=uV`` comment, or a units row under the header;
  NPZ files a ``units`` entry. Without any of these the numbers are taken as mV unless their typical peak
  amplitude (median over leads of the 99th percentile of ``|x - median(x)|``) exceeds
  ``UV_AMPLITUDE_THRESHOLD`` (20): no surface ECG reaches 20 mV (QRS complexes are below ~5 mV) while
  every ECG stored in µV does (QRS complexes are above ~100 µV). Such data are read as µV. Numbers whose
  every lead has mean 0 and SD 1 (within 0.02: z-scored data, as PTB-XL's third-party z-scored arrays) are
  not voltages at all: they are read as they are and said to be relative (``channels.looks_z_scored``). So
  are numbers of any format, whatever units it states, whose three or more leads all have the same
  peak-to-peak size (within 1 %: scaled lead by lead, as the LUDB copy beside this project, every lead exactly
  1 "mV"; ``channels.looks_range_scaled``). The metadata key ``units`` says which rule decided.
* Sampling rate. WFDB and DICOM carry it. CSV: the ``fs=`` keyword, a ``# fs=500`` comment (or a device's
  ``Sample Rate,512 hertz`` line above its table), a time column (seconds, or ms when the column is named so;
  clock or date-and-time stamps), or the file name (``rec_500hz.csv``). NumPy:
  ``fs=`` or an ``fs`` entry in the ``.npz``. It is never guessed.
* Missing samples (NaN/inf, or WFDB's invalid-sample code). A lead with no finite sample, or with more
  than ``MAX_MISSING_FRACTION`` of its samples missing, is treated as absent (masked); shorter gaps are
  filled by linear interpolation and counted in ``metadata["interpolated_samples"]``. If no lead is
  left the input is refused.
* Amplitudes: after unit conversion no value may exceed ``MAX_ABS_MV`` (a wrong gain or unit, not an ECG).
* Lead names are mapped by ``mets_core.ecg.LEAD_ALIASES``; non-standard leads (Frank X/Y/Z, QTDB's
  ``ECG1``/``D4``/``V1-V2``) are dropped. ``lead_names=`` renames the recorded channels in order. A
  WFDB signal file named by the header but absent is refused if it holds a standard lead, and skipped
  (``metadata["missing_signal_files"]``) if it holds only non-standard ones (PTB's ``.xyz`` Frank leads).
  DICOM channels that are not voltages (respiration, pressure) are left out.
* Metadata: ``source_format``, ``record_name``, ``files``, ``units``, ``comments`` (WFDB header comments),
  ``lead_sources``/``dropped_leads`` (from ``ECG.from_leads``) and the notes above. No patient identifiers
  are copied from DICOM files.
* NumPy arrays without lead names are accepted only with exactly twelve leads, taken in the standard
  order I II III aVR aVL aVF V1-V6 (the convention of PTB-XL and the PhysioNet Challenges).
"""
from __future__ import annotations

from .channels import filled_stretches, leads_left_out_for_gaps
from .dispatch import UPLOAD_EXTENSIONS, kind, read_ecg
from .limits import (ACCEPTED_FORMATS, ACCEPTED_LEAD_NAMES, MAX_ABS_MV, MAX_CHANNELS, MAX_DURATION_S,
                     MAX_FILE_BYTES, MAX_FS, MAX_HEADER_BYTES, MAX_MISSING_FRACTION, MAX_SAMPLES_PER_LEAD,
                     MAX_SEGMENTS, MAX_TOTAL_SAMPLES, MAX_UPLOAD_BYTES, MAX_ZIP_ENTRIES, MIN_FS,
                     UV_AMPLITUDE_THRESHOLD)

__all__ = ["read_ecg", "kind", "filled_stretches", "leads_left_out_for_gaps", "UPLOAD_EXTENSIONS", "ACCEPTED_FORMATS", "ACCEPTED_LEAD_NAMES", "MAX_ABS_MV",
           "MAX_CHANNELS", "MAX_DURATION_S", "MAX_FILE_BYTES", "MAX_FS", "MAX_HEADER_BYTES", "MAX_MISSING_FRACTION",
           "MAX_SAMPLES_PER_LEAD", "MAX_SEGMENTS", "MAX_TOTAL_SAMPLES", "MAX_UPLOAD_BYTES", "MAX_ZIP_ENTRIES",
           "MIN_FS", "UV_AMPLITUDE_THRESHOLD"]
