"""The reading room's closing-note screenshots (issue 10), in one command, into a folder:

    METS_SCREENSHOTS=shots/ .venv/bin/python scripts/screenshots.py [--weights DIR] [--out DIR]

Starts the dashboard (`python -m streamlit run dashboard/app.py`) on 127.0.0.1 with the shipped weights/
(or --weights / $METS_WEIGHTS) and drives Debian chromium through it as a user would:

  1_reading_room.png     a 12-lead ECG with the file's own labels beside the ranking, percentiles,
                         reliability cues, and a negated and an unknown phrase listed apart
  2_median_beats.png     the median beats with their fiducial marks
  3_caliper.png          a caliper readout on the paper
  4_holter_overview.png  a 30-minute Holter record with its heart-rate and beat-label overview
  5_compare.png          the comparison of two ECGs
  6_report.pdf           the printable report as downloaded, and 6_report.png, the same page as a picture
  7_hospital_formats.png one real 12-lead ECG (LUDB record 1) exported in memory as GE MUSE XML, Philips
                         Sierra XML (XLI), HL7 aECG, EDF and SCP-ECG (by the test suite's writers), uploaded
                         together and ranked on the batch page

Needs METS_DATA_DIR (Challenge 2021 records HR06002/HR06001 with SNOMED labels, MIT-BIH 208 with its beat
labels). Nothing is written anywhere but the output folder.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from e2e_server import (IDLE_JS, RANK_ROW, RECORD, browser, drag_caliper, full_screenshot, paper, set_prompts,  # noqa: E402
                        streamlit_server, upload_files)

WAIT_MS = 180_000
PROMPTS = ["sinus rhythm", "atrial fibrillation", "left ventricular hypertrophy", "sinus bradycardia",
           "right bundle branch block", "no atrial fibrillation", "asdfgh qwerty"]


def idle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
    page.wait_for_timeout(400)


def shown(page, title: str) -> None:
    page.wait_for_function("([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.startsWith(t))",
                           arg=[RECORD, title], timeout=WAIT_MS)
    idle(page)


def report_png(path: Path, weights: Path, pdf_title: str) -> None:
    """The downloaded report's page as a picture: the same report built again here, as PNG."""
    from mets_core import METS, read_ecg
    from mets_core.file_labels import file_labels
    from mets_core.measure import measure

    from dashboard.ranking import build_view
    from dashboard.report import build_pdf
    ecg = read_ecg(path)
    model = METS.from_pretrained(weights)
    return build_pdf(ecg, pdf_title, measurements=measure(ecg), ranking=build_view(model.rank(ecg, PROMPTS)),
                     file_labels=file_labels(ecg), image_format="png",
                     model_version=f"{Path(weights).name} · weights {str(model.info().get('weights_sha256') or '')[:12]}")


def hospital_exports(record: Path) -> list[dict]:
    """LUDB record 1 as the hospital formats, built in memory (upload payloads; nothing written)."""
    from hospital_files import aecg_xml, edf_bytes, muse_xml, philips_xml, scp_bytes

    from mets_core import STANDARD_LEADS, read_ecg
    ecg = read_ecg(record)
    uv = {lead: ecg.signal[i].astype(float) * 1000 for i, lead in enumerate(STANDARD_LEADS) if ecg.lead_mask[i]}
    fs = int(ecg.fs)
    files = {"ludb1_muse.xml": muse_xml({k: uv[k] for k in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")}, fs=fs),
             "ludb1_philips.xml": philips_xml(uv, fs=fs), "ludb1_aecg.xml": aecg_xml(uv, fs=fs),
             "ludb1_edf.edf": edf_bytes({f"ECG {k}": v for k, v in uv.items()}, fs=fs), "ludb1_scp.scp": scp_bytes(uv, fs=fs)}
    return [{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in files.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=os.environ.get("METS_WEIGHTS") or str(REPO / "weights"))
    ap.add_argument("--out", default=os.environ.get("METS_SCREENSHOTS"))
    args = ap.parse_args()
    if not args.out:
        sys.exit("say where the screenshots go: --out DIR or METS_SCREENSHOTS=DIR")
    data = Path(os.environ.get("METS_DATA_DIR") or "")
    needed = [data / "challenge2021" / "HR06002.hea", data / "challenge2021" / "HR06001.hea", data / "mitdb" / "208.hea",
              data / "ludb" / "data" / "1.hea"]
    if not all(p.is_file() for p in needed):
        sys.exit("METS_DATA_DIR must hold challenge2021/HR06002, HR06001, mitdb/208 and ludb/data/1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    first = [str(data / "challenge2021" / f"HR06002.{e}") for e in ("hea", "mat")]
    second = [str(data / "challenge2021" / f"HR06001.{e}") for e in ("hea", "mat")]
    holter = [str(data / "mitdb" / f"208.{e}") for e in ("hea", "dat", "atr")]

    with streamlit_server(Path(args.weights), data_dir=str(data)) as (url, _), browser(1500, 1100) as page:
        page.goto(url)
        page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
        idle(page)

        upload_files(page, first)                                       # 1. the reading room
        shown(page, "HR06002")
        set_prompts(page, PROMPTS)
        page.wait_for_function(f"() => document.querySelectorAll('{RANK_ROW}').length >= 1 && "
                               "!!document.querySelector('[data-testid=\"mets-unknown\"]')", timeout=WAIT_MS)
        idle(page)
        full_screenshot(page, out / "1_reading_room.png")

        page.get_by_text("Median beats: where the intervals were measured").click()    # 2. median beats
        idle(page)
        expander = page.locator('[data-testid="stExpander"]').filter(has_text="Median beats")
        expander.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(800)
        expander.screenshot(path=str(out / "2_median_beats.png"))

        ecg_paper = paper(page)                                          # 3. a caliper across one RR interval
        drag_caliper(page, ecg_paper, dx_frac=0.12, dy_frac=0.08, timeout_ms=WAIT_MS)
        idle(page)
        caliper = page.locator('[data-testid="mets-caliper"]')
        top, bottom = ecg_paper.bounding_box(), caliper.bounding_box()
        page.screenshot(path=str(out / "3_caliper.png"), full_page=False,
                        clip={"x": top["x"] - 10, "y": top["y"] - 10, "width": top["width"] + 20,
                              "height": bottom["y"] + bottom["height"] - top["y"] + 20})

        with page.expect_download(timeout=WAIT_MS) as download:          # 6. the printable report
            page.get_by_role("button", name="Prepare a one-page PDF report").click()
            page.get_by_role("button", name="Download the PDF report").click(timeout=WAIT_MS)
        download.value.save_as(str(out / "6_report.pdf"))
        (out / "6_report.png").write_bytes(report_png(Path(first[0]), Path(args.weights), "HR06002"))

        upload_files(page, second)                                      # 5. comparison
        shown(page, "HR06001")
        page.get_by_role("link", name="Compare").click()
        page.get_by_text("Ranking of the same phrases").wait_for(timeout=WAIT_MS)
        idle(page)
        full_screenshot(page, out / "5_compare.png")

        page.get_by_role("link", name="Reader").click()                 # 4. a 30-minute Holter record
        idle(page)
        upload_files(page, holter)
        shown(page, "208")
        page.locator('[data-testid="mets-beat-labels"]').wait_for(timeout=WAIT_MS)
        for _ in range(3):
            page.get_by_role("button", name="Next ▶").click()
            idle(page)
        page.screenshot(path=str(out / "4_holter_overview.png"))

        upload_files(page, hospital_exports(data / "ludb" / "data" / "1"))   # 7. hospital export formats
        shown(page, "ludb1")
        page.get_by_role("link", name="Batch").click()
        page.get_by_role("button", name="Download CSV").wait_for(timeout=WAIT_MS)   # the table is drawn
        idle(page)
        full_screenshot(page, out / "7_hospital_formats.png")
    print(f"screenshots in {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))


if __name__ == "__main__":
    main()
