"""Accessibility review 31, in a real browser (Debian chromium through Python playwright, never `playwright
install`) and in AppTest: captions, labels and quotes readable on every page; the disclaimer clear of
Streamlit's header at every width; a visible keyboard focus and visible unchecked controls; the charts' own
text dark and large enough; the paper as tall as its width makes it (no blank band), its toolbar off the lead
labels; the calipers announced; headings in order; the gain said in SD for a z-scored ECG.

The app runs on a random-init checkpoint made by the test (scores are meaningless; the page is what is tested).
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from dashboard_fixtures import synthetic_csv
from e2e_server import (ARTIFACTS, CONTRAST_JS, RECORD, browser, contrast, drag_caliper, full_screenshot,
                        holter_files, open_one_ecg, served_test_weights, upload_files, wait_idle)
from e2e_server import paper as ecg_paper

WAIT_MS = 120_000
CAPTIONS_LABELS_QUOTES = ['[data-testid="stCaptionContainer"]', '[data-testid="stCaptionContainer"] *',
                          '[data-testid="stWidgetLabel"] p', '[data-testid="stRadioOption"] p',
                          'blockquote', 'blockquote *', '[data-testid="mets-config"] *']
CARD = ("# Test model card\n\n> **Research use only. Not a medical device.** Scores are similarities, not "
        "diagnoses.\n\nA random-init checkpoint for the browser tests.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served_test_weights(tmp_path_factory, "a11y", card=CARD)     # a card with a quote, as shipped


def _faint_or_small(page) -> tuple[list, set]:
    found = page.evaluate(CONTRAST_JS, CAPTIONS_LABELS_QUOTES)
    bad = [f for f in found if f["ratio"] < 4.5 or f["px"] < 14 - 0.01]
    return bad, {f["part"] for f in found}


def test_captions_labels_and_quotes_are_readable_on_every_page(server):
    """Streamlit faded every caption to 60 % (2.9:1); the model card's quote was 4:1 and its configuration
    st.json's colours (3.1-4.5:1, an 11 px "null"). On the Reader, Compare, Batch and the model card, every
    caption, widget label, quote and configuration cell is >= 14 px at >= 4.5:1, opacity included."""
    with browser(1280, 720) as page:
        open_one_ecg(page, server)
        upload_files(page, [{"name": "second.csv", "mimeType": "text/csv", "buffer": synthetic_csv(seconds=8)}])
        page.wait_for_function("(sel) => document.querySelector(sel).innerText.startsWith('second')", arg=RECORD,
                               timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        bad, parts = _faint_or_small(page)
        assert {"stCaptionContainer", "stWidgetLabel"} <= parts, parts
        assert not bad, ("Reader", bad[:5])
        for link, ready in (("Compare", "Ranking of the same phrases"), ("Batch", "Download CSV"),
                            ("Model card", "Research use only. Not a medical device.")):
            page.get_by_role("link", name=link).click()
            page.get_by_text(ready).first.wait_for(timeout=WAIT_MS)
            wait_idle(page, WAIT_MS)
            if link == "Model card":
                page.get_by_text("Full configuration of the loaded checkpoint").click()
                page.get_by_test_id("mets-config").wait_for(timeout=WAIT_MS)
            bad, parts = _faint_or_small(page)
            assert not bad, (link, bad[:5])
            full_screenshot(page, ARTIFACTS / f"a11y_{link.replace(' ', '_').lower()}.png")
        assert page.locator("blockquote").count() >= 1
        assert page.locator('[data-testid="mets-config"] td').count() >= 5
        assert page.locator('[data-testid="stJson"]').count() == 0


@pytest.mark.parametrize("width, height", [(1280, 720), (768, 1024), (390, 844), (640, 360)])  # 640: 1280 at 200 %
def test_the_disclaimer_is_clear_of_the_header_at_every_width(server, width, height):
    """Streamlit's header (opaque where the sidebar is folded) covered the disclaimer's first lines on a tablet,
    a phone and at 200 % zoom: every line of it is now what the eye finds at its place."""
    with browser(width, height) as page:
        page.goto(server)
        disclaimer = page.get_by_test_id("mets-disclaimer")
        disclaimer.wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        covered = page.evaluate("""() => {
          const d = document.querySelector('[data-testid="mets-disclaimer"]');
          const out = [];
          for (const r of d.getClientRects()) for (const fx of [0.1, 0.5, 0.9]) {
            const x = r.left + r.width * fx, y = r.top + r.height / 2;
            const hit = document.elementFromPoint(x, y);
            if (!hit || !d.contains(hit)) out.push([Math.round(x), Math.round(y), hit ? hit.outerHTML.slice(0, 80) : null]);
          }
          return out;
        }""")
        assert covered == [], covered
        page.screenshot(path=str(ARTIFACTS / f"a11y_disclaimer_{width}.png"))


def test_keyboard_focus_and_unchecked_controls_are_visible(server):
    """A radio, checkbox or switch with the keyboard's focus gets a ring of >= 3:1 against the page (Streamlit's
    own was a background of 1.19:1); an unchecked radio's ring and a switch turned off are drawn at >= 3:1
    (they were 1.5-1.7:1)."""
    with browser(1280, 720) as page:
        open_one_ecg(page, server)
        page.get_by_text("Recording details from the file").click()
        controls = {"a layout radio": 'input[type="radio"][tabindex="0"]',
                    "the saliency switch": 'input[role="switch"][aria-label^="Show on the tracing"]',
                    "the header comments switch": 'input[role="switch"][aria-label="Show header comments"]'}
        for name, selector in controls.items():
            page.locator(selector).first.focus()
            page.keyboard.press("Shift")                   # a key pressed: the browser shows keyboard focus
            ring = page.locator(selector).first.evaluate("""i => {
              const l = i.closest('label'); const s = getComputedStyle(l);
              let bg = 'rgb(255, 255, 255)';
              for (let e = l.parentElement; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; } }
              return {visible: i.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                      color: s.outlineColor, bg};
            }""")
            assert ring["visible"] and ring["style"] == "solid" and ring["width"] >= 2, (name, ring)
            assert contrast(ring["color"], ring["bg"]) >= 3, (name, ring)
        page_bg = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stMain\"]') "
                                "|| document.body).backgroundColor")
        unchecked_ring = page.locator('[data-testid="stRadioOption"]:not(:has(input:checked)) > div > div')\
            .first.evaluate("c => getComputedStyle(c).borderTopColor")
        switch_off = page.locator('label:has(input[role="switch"]:not(:checked)) > div:nth-child(2)')\
            .first.evaluate("t => getComputedStyle(t).backgroundColor")
        assert contrast(unchecked_ring, page_bg) >= 3, (unchecked_ring, page_bg)
        assert contrast(switch_off, page_bg) >= 3, (switch_off, page_bg)
        page.locator(controls["a layout radio"]).first.focus()
        page.keyboard.press("Shift")
        page.screenshot(path=str(ARTIFACTS / "a11y_focus.png"))


_PAPER_GEOMETRY_JS = """e => {
  const f = e._fullLayout, x = f.xaxis, y = f.yaxis;
  const labels = [...e.querySelectorAll('.annotation')].map(a => a.getBoundingClientRect())
                 .filter(r => r.width > 0);
  const bar = e.querySelector('.modebar').getBoundingClientRect();
  const hidden = labels.filter(r => r.left < bar.right && r.right > bar.left && r.top < bar.bottom && r.bottom > bar.top);
  return {px_per_mm_x: x._length / (x.range[1] - x.range[0]), px_per_mm_y: y._length / (y.range[1] - y.range[0]),
          blank_px: f.height - f.margin.t - f.margin.b - y._length, chart_px: e.getBoundingClientRect().height,
          height: f.height, under_toolbar: hidden.length};
}"""


@pytest.mark.parametrize("width, height", [(1280, 720), (1024, 768), (390, 844)])
def test_the_paper_is_as_tall_as_its_width_makes_it_and_its_toolbar_hides_no_lead(server, width, height):
    """The paper kept the height of a 1,100 px column whatever its width: 140-365 px of blank page under the
    tracing (where the calipers' default drag landed at 1280 x 720). Now its boxes are square and the figure
    ends where the paper does; Plotly's toolbar sits above the paper instead of over lead V4 (V1 on a phone);
    the calipers' readout is a polite live region, the same element before and after a measurement."""
    with browser(width, height) as page:
        open_one_ecg(page, server)
        chart = ecg_paper(page)
        chart.scroll_into_view_if_needed()
        chart.hover()
        page.wait_for_timeout(400)
        g = chart.evaluate(_PAPER_GEOMETRY_JS)
        assert abs(g["px_per_mm_x"] / g["px_per_mm_y"] - 1) < 0.01, g          # boxes square
        assert g["blank_px"] < 3 and abs(g["chart_px"] - g["height"]) < 3, g     # no band under the paper
        assert g["under_toolbar"] == 0, g
        readout = page.get_by_test_id("mets-caliper")
        assert readout.get_attribute("aria-live") == "polite" and readout.get_attribute("role") == "status"
        readout.evaluate("e => { e.metsKept = true; }")
        drag_caliper(page, chart, timeout_ms=WAIT_MS)                         # the default drag: on the paper
        assert readout.evaluate("e => e.metsKept === true"), "the live region was replaced, not updated"
        assert " ms" in readout.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"a11y_paper_{width}.png"))


_CHART_TEXT_JS = """() => {
  const lum = (rgb) => { const c = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                         return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const out = [];
  for (const chart of document.querySelectorAll('.js-plotly-plot')) {
    if (chart.layout && chart.layout.yaxis && chart.layout.yaxis.scaleanchor === 'x') continue;   // the paper
    for (const t of chart.querySelectorAll('.main-svg text')) {
      if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) continue;
      const s = getComputedStyle(t); const fg = (s.fill.match(/[\\d.]+/g) || []).map(Number);
      const a = lum(fg.slice(0, 3)), b = lum([255, 255, 255]);
      out.push({chart: chart.closest('[data-testid="stPlotlyChart"]').getAttribute('aria-label'), text: t.textContent,
                px: parseFloat(s.fontSize), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
    }
  }
  return out;
}"""


def test_the_charts_text_is_dark_and_large_enough(server, tmp_path):
    """The saliency bars' lead names, ticks and axis title, and the long-record overview's time ticks, "bpm"
    and V/S/F/Q labels were Streamlit's 12-13 px #808495 (3.7:1): now >= 13 px at >= 4.5:1 on white; the
    bars' axis says "score drop", not "cosine drop"."""
    with browser(1280, 900) as page:
        open_one_ecg(page, server)
        page.get_by_role("button", name="Explain this score").click()
        page.locator('[aria-label="How much the score drops when each lead is hidden"] .main-svg').first\
            .wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        upload_files(page, holter_files(tmp_path))
        page.locator('[data-testid="mets-beat-labels"]').wait_for(timeout=WAIT_MS)
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some("
                               "e => (e.layout.xaxis.title || {}).text === 'recording time (h:mm:ss)')",
                               timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        texts = page.evaluate(_CHART_TEXT_JS)
        shown = " ".join(t["text"] for t in texts)
        assert "bpm" in shown and "V" in {t["text"] for t in texts}, shown[:300]
        bad = [t for t in texts if t["ratio"] < 4.5 or t["px"] < 13]
        assert not bad, bad[:5]
        page.get_by_role("link", name="Reader").click()
        full_screenshot(page, ARTIFACTS / "a11y_overview.png")


def test_headings_the_ecg_is_a_title_and_its_sections_below_it(server):
    """The ECG's name was a styled div and the sidebar's headings h5 before the page's: now the name is an h2,
    the Reader's own sections (the file's labels, the explanation) h3, the sidebar's headings h2."""
    with browser(1280, 720) as page:
        open_one_ecg(page, server)
        heads = page.evaluate("() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => "
                              "[h.tagName, h.innerText.trim(), !!h.closest('[data-testid=\"stSidebar\"]')])")
        level = {text: tag for tag, text, _ in heads}
        assert page.locator("h2 [data-testid='mets-record-title']").count() == 1, heads
        assert level.get("What the file says") == "H3" and level.get("Why this score") == "H3", heads
        assert {tag for tag, _, in_sidebar in heads if in_sidebar} == {"H2"}, heads


def test_a_z_scored_ecg_has_its_gain_in_sd(app):
    """A z-scored ECG's amplitudes are standard deviations, not mV: the gain control says "mm per SD", as the
    paper's footer and the warning do; an ECG in mV keeps "mm/mV"."""
    from dashboard_fixtures import upload
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=10, fs=100, heart_rate=70, seed=3)
    sig = ecg.signal[ecg.lead_mask]
    z = (sig - sig.mean(axis=1, keepdims=True)) / sig.std(axis=1, keepdims=True)
    buf = io.BytesIO()
    np.save(buf, z.astype(np.float32))
    app.number_input(key="assumed_fs").set_value(100.0).run()
    upload(app, [("zscored.npy", buf.getvalue())])
    gain_label = lambda: [r.label for r in app.radio if r.label.startswith("Gain")]     # noqa: E731
    assert gain_label() == ["Gain (mm per SD)"]
    app.number_input(key="assumed_fs").set_value(0.0).run()        # the CSV's time column gives its rate
    upload(app, [("in_mv.csv", synthetic_csv())])
    assert gain_label() == ["Gain (mm/mV)"]
