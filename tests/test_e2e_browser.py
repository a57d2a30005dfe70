"""End to end in a real browser: `streamlit run dashboard/app.py` on 127.0.0.1, driven by Debian chromium
through Python playwright (never `playwright install`).

Upload a WFDB pair (.hea + .dat of LUDB record 1 from METS_DATA_DIR; a synthetic CSV when that is unset),
see the ranking for the default preset, type three prompts and see exactly three ranked rows, see the
retrieval list with its default five rows, turn on the saliency overlay, upload a corrupt file and see
the error, then upload another ECG and see it read and ranked. Screenshots go to $METS_SCREENSHOTS when
set, else artifacts/e2e/. Elements are found by text, role, label and the page's data-testid contract.

The app runs on a random-init checkpoint + index made by the test (until the trained weights land);
scores are meaningless, the plumbing is real.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from dashboard_fixtures import ludb_dir, synthetic_csv
from e2e_server import (ARTIFACTS, CONTRAST_JS, HIT_ROW, IS_PAPER, PAPER_DRAWING, RANK_ROW, RECORD, browser,
                        click_overview, drag_caliper, full_screenshot, holter_files, open_one_ecg, page_start,
                        served_test_weights, set_prompts, upload_files, wait_idle, wait_rows)
from e2e_server import paper as ecg_paper

pytestmark = pytest.mark.browser
WAIT_MS = 120_000




@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served_test_weights(tmp_path_factory, "e2e")


def _shown_prompts(page) -> list[str]:
    return page.locator(RANK_ROW).evaluate_all("rows => rows.map(r => r.dataset.prompt)")


def _wait_title(page, title: str) -> None:
    page.wait_for_function(
        "([sel, t]) => [...document.querySelectorAll(sel)].some(e => e.innerText.startsWith(t))",
        arg=[RECORD, title], timeout=WAIT_MS)


def test_upload_rank_retrieve_explain_and_recover_from_a_corrupt_file(server, tmp_path):
    from mets_core.prompts import PRESETS

    ludb = ludb_dir()
    if ludb is not None:
        first = [str(ludb / "1.hea"), str(ludb / "1.dat")]
        first_title, second_title = "1", "synthetic"
    else:
        first = [{"name": "synthetic.csv", "mimeType": "text/csv", "buffer": synthetic_csv()}]
        first_title, second_title = "synthetic", "second"
    second = [{"name": f"{second_title}.csv", "mimeType": "text/csv", "buffer": synthetic_csv(seconds=8)}]

    with browser() as page:
        page.goto(server)
        page.get_by_text("Open an ECG to begin").wait_for(timeout=WAIT_MS)
        full_screenshot(page, ARTIFACTS / "0_start.png")

        # 1. a WFDB pair (or CSV): tracing, measurements, ranking of the default preset, retrieval
        upload_files(page, first)
        wait_rows(page, RANK_ROW, len(PRESETS["Rhythm"]))
        wait_idle(page, WAIT_MS)
        assert page.locator(RECORD).first.inner_text().startswith(first_title)
        assert "Hz" in page.locator(RECORD).first.inner_text()
        page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)          # the ECG paper
        page.get_by_text("Heart rate").first.wait_for(timeout=WAIT_MS)             # measurements
        assert page.get_by_text("Scores are similarities between the ECG and each phrase").count() >= 1

        # 2. three prompts typed by the user -> exactly three ranked rows; retrieval list of five
        prompts = ["atrial fibrillation", "sinus rhythm", "left ventricular hypertrophy"]
        set_prompts(page, prompts)
        wait_rows(page, RANK_ROW, 3)
        wait_idle(page, WAIT_MS)
        assert sorted(_shown_prompts(page)) == sorted(prompts)
        wait_rows(page, HIT_ROW + '[data-kind="ecg"]', 5)
        full_screenshot(page, ARTIFACTS / "1_paper_ranking_retrieval.png")

        # 3. why: saliency overlay for the top prompt
        page.get_by_text("Show on the tracing (saliency overlay)").click()
        page.get_by_text("Orange shading: where the input").wait_for(timeout=WAIT_MS)   # the tracing's note
        wait_idle(page, WAIT_MS)
        assert page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image").count() >= 1 \
            or page.locator(".js-plotly-plot").first.evaluate(
                "el => el.data.filter(t => t.type === 'heatmap').length") >= 1
        full_screenshot(page, ARTIFACTS / "2_saliency.png")

        # 4. a corrupt upload: a clear message, the page keeps working
        first_paper = page.evaluate(PAPER_DRAWING)
        upload_files(page, [{"name": "corrupt.dat", "mimeType": "application/octet-stream",
                             "buffer": b"\x00\xffnot an ECG" * 50}])
        page.get_by_text("could not be opened").wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        alert = page.locator('[data-testid="stAlert"]').filter(has_text="corrupt.dat").first.inner_text()
        assert ".hea" in alert
        assert "Traceback" not in page.content()
        full_screenshot(page, ARTIFACTS / "3_corrupt_upload.png")

        # 5. the next upload still works (and the typed prompts are kept)
        upload_files(page, second)
        _wait_title(page, second_title)
        wait_rows(page, RANK_ROW, 3)
        wait_idle(page, WAIT_MS)
        assert page.locator('[data-testid="stAlert"]').filter(has_text="could not be opened").count() == 0
        assert page.evaluate(PAPER_DRAWING) not in (None, first_paper)     # the paper is redrawn for this ECG
        full_screenshot(page, ARTIFACTS / "4_next_upload.png")

        # 6. batch table of both ECGs, and the model card
        page.get_by_role("link", name="Batch").click()
        page.get_by_text("Download CSV").wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        full_screenshot(page, ARTIFACTS / "5_batch.png")
        page.get_by_role("link", name="Model card").click()
        page.get_by_text("Research use only. Not a medical device.").wait_for(timeout=WAIT_MS)
        full_screenshot(page, ARTIFACTS / "6_model_card.png")
        assert "Traceback" not in page.content()


SCROLL_JS = ("() => Math.max(window.scrollY, ...[...document.querySelectorAll('*')]"
             ".filter(e => e.scrollHeight > e.clientHeight + 50 && getComputedStyle(e).overflowY !== 'visible')"
             ".map(e => e.scrollTop))")
# every text the dashboard writes itself: whatever is inside its data-testid="mets-..." parts
OUR_TEXT = ['[data-testid^="mets-"]', '[data-testid^="mets-"] *']
# and Streamlit's own text on the page: captions (faded to 60 % by Streamlit) and the widgets' labels
CAPTIONS_AND_LABELS = ['[data-testid="stCaptionContainer"]', '[data-testid="stCaptionContainer"] *',
                       '[data-testid="stWidgetLabel"] p', '[data-testid="stRadioOption"] p']
OUR_PARTS = {"mets-record", "mets-ranking", "mets-rank-row", "mets-headline", "mets-measurements", "mets-quality",
             "mets-file-labels", "mets-hit", "mets-caliper", "mets-disclaimer", "mets-brand-sub", "mets-privacy"}


def test_accessible_text_and_the_wheel_scrolls_the_page(server):
    """Every text of ours, and Streamlit's captions and widget labels, is >= 14 px with contrast >= 4.5:1
    (computed on the rendered page, opacity included), and the mouse
    wheel over the tracing scrolls the page instead of zooming the paper."""
    with browser() as page:
        open_one_ecg(page, server)
        found = page.evaluate(CONTRAST_JS, OUR_TEXT + CAPTIONS_AND_LABELS)
        assert OUR_PARTS <= {f["part"] for f in found}, OUR_PARTS - {f["part"] for f in found}
        assert {"stCaptionContainer", "stWidgetLabel"} <= {f["part"] for f in found}
        small = [f for f in found if f["px"] < 14 - 0.01]
        faint = [f for f in found if f["ratio"] < 4.5]
        assert not small, small[:5]
        assert not faint, faint[:5]
        full_screenshot(page, ARTIFACTS / "7_accessibility.png")
        paper = ecg_paper(page)
        paper.scroll_into_view_if_needed()
        box = paper.bounding_box()
        before_y = page.evaluate(SCROLL_JS)
        before_range = paper.evaluate("el => el.layout.xaxis.range.slice()")
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(200, box["height"] / 2))
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(600)
        after_y = page.evaluate(SCROLL_JS)
        after_range = paper.evaluate("el => el.layout.xaxis.range.slice()")
        assert after_range == before_range, "the wheel zoomed the paper"
        assert after_y > before_y, "the wheel did not scroll the page"


_SPILLED_JS = """() => {
  const card = document.querySelector('[data-testid="mets-ranking"]').getBoundingClientRect();
  return [...document.querySelectorAll('[data-testid="mets-ranking"] *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > card.right + 1 || r.left < card.left - 1);
  }).map(e => (e.className || e.tagName) + ': ' + e.textContent.slice(0, 40));
}"""


@pytest.mark.parametrize("width, height", [(1280, 720), (750, 550)])      # a 13-inch laptop; 1500 x 1100 at 200 %
def test_on_a_laptop_and_at_200_percent_the_ranking_stays_in_its_card_and_charts_and_table_are_named(
        server, width, height):
    """The ranking's reliability and "relative" columns spilled out of its card over the next column at
    1280 px and at 200 % zoom, where the sidebar also covered 40 % of the page; charts and the ranking had no
    accessible names or table roles for a screen reader."""
    with browser(width, height) as page:
        open_one_ecg(page, server)
        ecg_paper(page)
        assert page.evaluate(_SPILLED_JS) == []
        sidebar_shown = page.locator('[data-testid="stSidebar"]').evaluate(
            "e => { const r = e.getBoundingClientRect(); return r.right > 1 && r.width > 1; }")
        assert sidebar_shown == (width >= 800)                        # folded away on a narrow screen
        names = page.locator('[data-testid="stPlotlyChart"]').evaluate_all(
            "els => els.map(e => [e.getAttribute('role'), e.getAttribute('aria-label') || ''])")
        assert names and all(role == "figure" and label for role, label in names), names
        assert any(label.startswith("ECG tracing on paper") for _, label in names)
        table = page.get_by_role("table", name="The phrases ranked for this ECG")
        headers = table.get_by_role("columnheader").count()
        rows = table.get_by_role("row")
        assert rows.count() == page.locator(RANK_ROW).count() + 1 and headers == 6
        first = rows.nth(1)
        assert first.get_by_role("cell").count() + first.get_by_role("rowheader").count() == headers
        full_screenshot(page, ARTIFACTS / f"9_ranking_at_{width}px.png")


# Watches every frame from now on; collects the fades (CSS transitions) and placeholder shimmers that run.
_WATCH_MOTION_JS = """() => {
  window.metsMotion = new Set();
  const tick = () => {
    for (const a of document.getAnimations()) {
      if (a.playState !== 'running') continue;
      const target = a.effect && a.effect.target;
      if (a instanceof CSSTransition) window.metsMotion.add('fade of ' + a.transitionProperty);
      else if (target && target.closest && target.closest('[data-testid="stSkeleton"]'))
        window.metsMotion.add('placeholder shimmer');
    }
    requestAnimationFrame(tick);
  };
  tick();
}"""


def test_the_page_keeps_still_while_it_updates(server):
    """No fades and no shimmering placeholders while a new ECG is read and drawn: each frame of them is
    painted on the reading computer's CPU (see dashboard/styles.py); spinners may turn."""
    with browser() as page:
        open_one_ecg(page, server)
        page.evaluate(_WATCH_MOTION_JS)
        upload_files(page, [{"name": "second.csv", "mimeType": "text/csv", "buffer": synthetic_csv()}])
        _wait_title(page, "second")
        ecg_paper(page)
        wait_idle(page, WAIT_MS)
        page.get_by_text("Median beats", exact=False).first.click()     # an expander opening
        page.wait_for_timeout(800)
        assert page.evaluate("() => [...window.metsMotion]") == []


def test_calipers_median_beats_report_long_record_and_comparison(server, tmp_path):
    """The reading room in a browser: the box tool reads an interval, the median beats open, the PDF
    downloads, a long record pages with its beat labels, and two ECGs compare side by side."""
    with browser() as page:
        open_one_ecg(page, server)

        paper = ecg_paper(page)                                   # calipers: Plotly's box tool on the paper
        drag_caliper(page, paper, timeout_ms=WAIT_MS)
        readout = page.locator('[data-testid="mets-caliper"]').inner_text()
        # in the ECG's own unit: this data folder's LUDB copy is scaled lead by lead, not mV
        assert " ms" in readout and readout.endswith((" mV", " × lead range")), readout

        page.get_by_text("Median beats: where the intervals were measured").click()      # built on opening
        median = page.locator('[data-testid="stExpander"]').filter(has_text="Median beats")
        median.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)

        with page.expect_download(timeout=WAIT_MS) as download:                       # the report, in memory
            page.get_by_role("button", name="Prepare a one-page PDF report").click()
            page.get_by_role("button", name="Download the PDF report").click(timeout=WAIT_MS)
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF") and download.value.suggested_filename == "mets_report.pdf"

        upload_files(page, holter_files(tmp_path))                               # a long record, paged
        _wait_title(page, "holter")
        labels = page.locator('[data-testid="mets-beat-labels"]')
        labels.wait_for(timeout=WAIT_MS)
        assert labels.locator('[data-class="V"]').get_attribute("data-count") == "5"
        page.get_by_role("button", name="Next ▶").click()
        page.locator('[data-testid="mets-page-span"][data-start-s="10"]').wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        full_screenshot(page, ARTIFACTS / "8_long_record.png")
        # a point of the overview opens that moment, and again after paging away (it once stayed put)
        click_overview(page, 45.0, WAIT_MS)
        assert page_start(page) == "40"
        page.get_by_role("button", name="◀ Previous").click()
        page.locator('[data-testid="mets-page-span"][data-start-s="30"]').wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        click_overview(page, 45.0, WAIT_MS)
        assert page_start(page) == "40"

        page.get_by_role("link", name="Compare").click()                        # two ECGs side by side
        page.get_by_text("Ranking of the same phrases").wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        papers = page.evaluate(f"() => [...document.querySelectorAll('.js-plotly-plot')].filter({IS_PAPER}).length")
        assert papers == 2
        full_screenshot(page, ARTIFACTS / "9_compare.png")
        assert "Traceback" not in page.content()


def test_channels_without_lead_names_are_named_in_the_browser(server, tmp_path):
    """A Holter export whose channels are 'ECG1', 'ECG2' asks, in the page, which lead each one is, then opens
    with those names and says they were given there."""
    from helpers import synthetic_signal
    sig = synthetic_signal(2, n=2500, fs=250).T
    rows = "\n".join(f"{k / 250:.4f},{a:.4f},{b:.4f}" for k, (a, b) in enumerate(zip(*sig)))
    path = tmp_path / "holter_unnamed.csv"
    path.write_text("time,ECG1,ECG2\n" + rows + "\n")
    with browser() as page:
        page.goto(server)
        wait_idle(page, WAIT_MS)
        upload_files(page, [str(path)])
        page.get_by_test_id("mets-lead-naming").wait_for(timeout=WAIT_MS)
        for label, lead in (("Channel 1: ECG1", "II"), ("Channel 2: ECG2", "V5")):
            page.get_by_label(label).click()
            page.get_by_role("option", name=lead, exact=True).click()
        page.get_by_role("button", name="Open with these leads").click()
        _wait_title(page, "holter_unnamed")
        ecg_paper(page, WAIT_MS)
        assert page.get_by_text("Lead names: ECG1 as II, ECG2 as V5 (named on this page: the file does not say)"
                                ).count() == 1
        assert page.get_by_test_id("mets-lead-naming").count() == 0
        assert page.locator(RECORD).get_attribute("data-leads") == "2"
