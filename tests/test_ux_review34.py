"""UX review 34 (a cardiologist's session in a real browser, each finding reproduced there first; the tests
fail on the code before the fix): a folder of NumPy files that state no sampling rate, dropped at once, made
one error box per file (64 for PTB-XL's zscore100/00000/), stacked above the ECG that was open; the page now
says each reason once, naming the files and how many."""
import io

import numpy as np

from dashboard_fixtures import errors, new_app, upload


def _npy(seed: int) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.random.default_rng(seed).normal(size=(12, 1000)).astype(np.float32))
    return buf.getvalue()


def test_uploads_failing_for_the_same_reason_make_one_message_naming_them():
    at = new_app()
    names = [f"{k:05d}.npy" for k in range(1, 7)]
    upload(at, [(name, _npy(k)) for k, name in enumerate(names)])
    shown = errors(at)
    assert len(shown) == 1, shown
    said = shown[0]
    assert "6 uploads" in said and "could not be opened" in said
    assert all(name in said for name in names[:3]) and "and 3 more" in said
    assert "sampling rate" in said                         # the reason, and what to do, still said
    assert ". The same holds for all 6." in said             # its own sentence


def test_uploads_failing_for_different_reasons_keep_a_message_each():
    at = new_app()
    upload(at, [("00001.npy", _npy(1)), ("00002.npy", _npy(2)), ("broken.dat", b"\x00\x01garbage" * 10)])
    shown = errors(at)
    assert len(shown) == 2, shown
    npy = next(m for m in shown if ".npy" in m)
    assert "2 uploads (00001.npy, 00002.npy)" in npy and "The same holds for both." in npy
    broken = next(m for m in shown if "broken.dat" in m)
    assert "uploads" not in broken and "The same holds" not in broken      # one file: said as before
