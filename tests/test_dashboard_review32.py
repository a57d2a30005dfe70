"""Review 32 of the dashboard, by reading its code (each proven in the app, then fixed): "Why this score" of a
30-s recording showed the first page's explanation in the whole-recording view (and back), its cache keyed on
the stretch's start only; the same record uploaded again with its annotation file kept no beat labels; a
closed ECG opened again came back at its old page with the whole-recording view on; a wrong time typed in the
time box stayed on screen while the reader paged on."""
import json
import re

from dashboard_fixtures import button, errors, loaded, markdown_html, new_app, upload
from helpers import require_data


def _thirty_seconds(seed: int) -> bytes:
    """A 2-lead 30-s recording (long: paged, and explained whole in its whole-recording view) whose second half
    is faster, so its first page and its whole differ."""
    import neurokit2 as nk
    fs = 125
    x = nk.ecg_simulate(duration=30, sampling_rate=fs, heart_rate=70, random_state=seed)
    y = nk.ecg_simulate(duration=30, sampling_rate=fs, heart_rate=130, random_state=seed + 1)
    x[len(x) // 2:] = y[len(x) // 2:]
    return ("time,II,V5\n" + "\n".join(f"{k / fs:.4f},{v:.4f},{0.6 * v:.4f}" for k, v in enumerate(x)) + "\n").encode()


def _why(at) -> tuple[float, int]:
    """(the similarity "Why" explains, its number of one-second bars)."""
    said = next(str(c.value) for c in at.caption if str(c.value).startswith("Similarity to"))
    bars = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if getattr(c, "key", None) == "why_secs")
    return float(re.search(r"([+-]\d\.\d+)", said).group(1)), len(bars["data"][0]["x"])


def _ranked(at, prompt: str) -> float:
    return float(re.search(rf'data-prompt="{prompt}"[^>]*data-similarity="([^"]*)"', markdown_html(at)).group(1))


def _whole(at, on: bool) -> None:
    next(t for t in at.toggle if t.label == "Whole-recording summary").set_value(on).run()


def test_why_explains_the_stretch_the_ranking_scores_page_or_whole():
    at = new_app()
    upload(at, [("holter30.csv", _thirty_seconds(2))])
    at.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation").run()
    at.selectbox(key="why_prompt").set_value("atrial fibrillation").run()
    at.button(key="why_go").click().run()
    page, page_bars = _why(at)
    assert page_bars == 10 and abs(page - _ranked(at, "atrial fibrillation")) < 5e-4
    _whole(at, True)                   # the same start (0 s), another stretch: its own explanation
    whole, whole_bars = _why(at)
    assert whole_bars == 30 and abs(whole - _ranked(at, "atrial fibrillation")) < 5e-4
    assert abs(whole - page) > 5e-3
    _whole(at, False)
    assert _why(at) == (page, page_bars)
    assert not errors(at)


def _cpsc_files():
    folder = require_data("cpsc2021/data_101_6.atr") / "cpsc2021"
    return [(f"data_101_6{ext}", (folder / f"data_101_6{ext}").read_bytes()) for ext in (".hea", ".dat", ".atr")]


def _beat_labels_shown(at) -> bool:
    return 'data-testid="mets-beat-labels"' in markdown_html(at)


def test_the_same_record_again_with_its_annotation_file_gets_its_beat_labels():
    hea, dat, atr = _cpsc_files()
    at = new_app()
    upload(at, [hea, dat])
    assert not _beat_labels_shown(at)
    upload(at, [hea, dat, atr])
    assert loaded(at) == ["data_101_6"] and _beat_labels_shown(at)


def _page_start(at) -> float:
    return float(re.search(r'data-testid="mets-page-span" data-start-s="([^"]*)"', markdown_html(at)).group(1))


def test_a_wrong_time_goes_when_the_page_turns_and_a_reopened_ecg_starts_afresh():
    hea, dat, atr = _cpsc_files()
    at = new_app()
    upload(at, [hea, dat, atr])
    next(t for t in at.text_input if t.label == "Go to (h:mm:ss)").input("soon").run()
    assert any("is not a time" in e for e in errors(at))
    button(at, "Next ▶").click().run()
    assert _page_start(at) == 10.0 and not any("is not a time" in e for e in errors(at))
    _whole(at, True)
    at.button(key="close_ecg").click().run()
    assert loaded(at) == []
    upload(at, [hea, dat, atr])
    assert _page_start(at) == 0.0
    assert next(t for t in at.toggle if t.label == "Whole-recording summary").value is False
