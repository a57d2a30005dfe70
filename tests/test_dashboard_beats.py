"""Beat labels of a recording's own annotation file (dashboard.beats), decoded in memory, and shown in the
long-record overview."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard.beats import Beats, beats_of, read_mit_annotations
from dashboard_fixtures import make_test_weights, markdown_html, new_app, upload
from helpers import needs_data, require_data


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_test_weights(tmp_path_factory.mktemp("weights"))


def _written_by_wfdb(tmp_path, samples, symbols, aux=None, chan=None) -> bytes:
    import wfdb
    wfdb.wrann("rec", "atr", np.asarray(samples), symbol=list(symbols), aux_note=aux, chan=chan,
               write_dir=str(tmp_path))
    return (tmp_path / "rec.atr").read_bytes()


def test_reads_what_wfdb_writes_with_long_gaps_aux_notes_and_channels(tmp_path):
    samples = [10, 400, 1500, 90_000, 90_400, 5_000_000]      # gaps beyond 1023 samples need SKIP words
    symbols = ["N", "V", "+", "A", "F", "N"]                    # "+" is a rhythm change, not a beat
    data = _written_by_wfdb(tmp_path, samples, symbols, aux=["", "", "(AFIB", "", "", ""],
                            chan=np.array([0, 1, 0, 0, 1, 0]))
    beats = read_mit_annotations(data, "rec.atr")
    assert beats.sample.tolist() == [10, 400, 90_000, 90_400, 5_000_000]
    assert beats.symbol == ("N", "V", "A", "F", "N")
    assert beats.counts() == {"N": 2, "S": 1, "V": 1, "F": 1, "Q": 0}


@needs_data("mitdb/208.atr")
@pytest.mark.parametrize("record", ["106", "207", "208"])
def test_same_beats_as_wfdb_on_mit_bih(record):
    import wfdb
    path = require_data("mitdb/208.atr") / "mitdb" / record
    ann = wfdb.rdann(str(path), "atr")
    beats = read_mit_annotations((path.parent / f"{record}.atr").read_bytes(), f"{record}.atr")
    is_beat = np.isin(ann.symbol, list("NLRaVFJASEj/QBenf?r"))
    assert beats.sample.tolist() == ann.sample[is_beat].tolist()
    assert list(beats.symbol) == list(np.asarray(ann.symbol)[is_beat])


def test_not_an_annotation_file_is_refused_and_the_record_still_opens():
    with pytest.raises(ValueError, match="not a WFDB annotation file"):
        read_mit_annotations(b"\x05\xdc" * 20, "x.atr")           # code 55: no such annotation code
    assert beats_of([("x.hea", b"x 1 250 10\n"), ("x.atr", b"\x05\xdc" * 20)]) is None
    assert beats_of([("x.hea", b""), ("x.dat", b"")]) is None


def test_reference_labels_preferred_over_a_detector(tmp_path):
    atr = _written_by_wfdb(tmp_path, [100, 300], ["N", "V"])
    found = beats_of([("r.qrs", atr), ("r.atr", atr), ("r.hea", b"")])
    assert isinstance(found, Beats) and found.source == "r.atr"


def test_overview_marks_and_counts_the_labels_of_an_uploaded_record(tmp_path, weights, monkeypatch):
    """A 60 s WFDB record uploaded with its .atr: the overview draws V marks and lists the counts."""
    import wfdb

    from mets_core.simulate import simulate_ecg

    ecg = simulate_ecg(duration_s=60, fs=250, heart_rate=60, leads=["II", "V5"], seed=1)
    wfdb.wrsamp("holter", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=ecg.signal[ecg.lead_mask].T.astype(np.float64), fmt=["16", "16"], write_dir=str(tmp_path))
    beat_s = np.arange(0.5, 59.5, 1.0)
    symbols = ["V" if 20 <= t < 25 else "N" for t in beat_s]
    wfdb.wrann("holter", "atr", (beat_s * 250).astype(int), symbol=symbols, write_dir=str(tmp_path))
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_TORCH_THREADS", "0")
    app = new_app()
    upload(app, [(f"holter.{ext}", (tmp_path / f"holter.{ext}").read_bytes()) for ext in ("hea", "dat", "atr")])
    html = markdown_html(app)
    assert 'data-testid="mets-beat-labels" data-source="holter.atr"' in html
    assert 'data-class="V" data-count="5"' in html and 'data-class="N" data-count="54"' in html
    overview = next(c for c in app.get("plotly_chart") if str(getattr(c, "key", "")).startswith("hr_overview"))
    marks = [t for t in json.loads(overview.proto.spec)["data"] if t.get("name") == "V beats"]
    assert marks and all(19 <= x <= 26 for x in marks[0]["x"]) and sum(marks[0]["customdata"]) == 5
