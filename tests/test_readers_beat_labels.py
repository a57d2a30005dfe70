"""A record's own beat labels (mets_core.readers.beat_labels): MIT-format annotation files read in memory."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import needs_data, require_data
from mets_core import ECGReadError
from mets_core.readers.beat_labels import Beats, beat_labels_of, read_beat_labels


def _written_by_wfdb(tmp_path, samples, symbols, aux=None, chan=None) -> bytes:
    import wfdb
    wfdb.wrann("rec", "atr", np.asarray(samples), symbol=list(symbols), aux_note=aux, chan=chan,
               write_dir=str(tmp_path))
    return (tmp_path / "rec.atr").read_bytes()


def test_long_gaps_aux_notes_and_channels_and_non_beats_left_out(tmp_path):
    samples = [10, 400, 1500, 90_000, 90_400, 5_000_000]      # gaps beyond 1023 samples need SKIP words
    symbols = ["N", "V", "+", "A", "F", "N"]                    # "+" is a rhythm change, not a beat
    data = _written_by_wfdb(tmp_path, samples, symbols, aux=["", "", "(AFIB", "", "", ""],
                            chan=np.array([0, 1, 0, 0, 1, 0]))
    beats = read_beat_labels(data, "rec.atr")
    assert beats.sample.tolist() == [10, 400, 90_000, 90_400, 5_000_000]
    assert beats.symbol == ("N", "V", "A", "F", "N")
    assert beats.counts() == {"N": 2, "S": 1, "V": 1, "F": 1, "Q": 0}
    assert beats.rhythms == ((1500, "(AFIB"),)                  # the rhythm change is kept apart
    assert beats.rhythm_spans(6_000_000) == [(1500, 6_000_000, "(AFIB")]
    assert beats.rhythms_between(0, 1500, 6_000_000) == [] and beats.rhythms_between(0, 1501, 6_000_000) == ["(AFIB"]


@needs_data("mitdb/208.atr")
def test_mit_bih_208_has_the_beat_counts_of_the_database_directory():
    # MIT-BIH Arrhythmia Database directory, record 208: 1,586 normal, 992 PVCs, 373 fusion, 2 APCs, 2 Q
    folder = require_data("mitdb/208.atr") / "mitdb"
    beats = read_beat_labels((folder / "208.atr").read_bytes(), "208.atr")
    assert beats.counts() == {"N": 1586, "S": 2, "V": 992, "F": 373, "Q": 2}
    assert beats.source == "208.atr" and np.all(np.diff(beats.sample) > 0)
    # its rhythm annotations: normal sinus rhythm and ventricular trigeminy, alternating
    assert {note for _, note in beats.rhythms} == {"(N", "(T"} and beats.rhythms[0] == (9, "(N")
    spans = beats.rhythm_spans(650_000)
    assert spans[-1][1] == 650_000 and all(a < b for a, b, _ in spans)


def test_not_an_annotation_file_is_refused_and_the_record_still_opens():
    with pytest.raises(ECGReadError, match="not a WFDB annotation file"):
        read_beat_labels(b"garbage" * 3, "x.atr")
    assert len(read_beat_labels(b"\x05\xdc" * 20, "x.atr").sample) == 0   # code 55: no annotation type, no beats
    with pytest.raises(ECGReadError, match="not a beat annotation file"):
        read_beat_labels(b"\x00\x00", "x.dat")
    assert beat_labels_of([("x.hea", b"x 1 250 10\n"), ("x.atr", b"\x05\xdc" * 20)]) is None
    assert beat_labels_of([("x.hea", b""), ("x.dat", b"")]) is None


def test_reference_labels_preferred_over_a_detector(tmp_path):
    atr = _written_by_wfdb(tmp_path, [100, 300], ["N", "V"])
    found = beat_labels_of([("r.qrs", atr), ("r.atr", atr), ("r.hea", b"")])
    assert isinstance(found, Beats) and found.source == "r.atr"
