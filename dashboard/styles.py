"""The page's CSS: a calm clinical look (white cards, teal accents, ECG-paper reds only on the paper)."""

CSS = """
<style>
/* Accessibility: every text >= 14 px (0.875rem), text contrast >= 4.5:1 on its background (WCAG AA). */
/* The page starts below Streamlit's header (3.75rem, opaque whenever the sidebar is folded: a tablet, a phone,
   200 % zoom), or the disclaimer's first lines lay under it. */
.block-container {padding-top: 4.1rem; padding-bottom: 2rem; max-width: 1500px;}
[data-testid="stSidebar"] .block-container {padding-top: 1rem;}
.brand {font-size: 1.45rem; font-weight: 700; color: #1a5f78; letter-spacing: .02em;}
.brand span {font-weight: 400; color: #1d2b33;}
.brand-sub {font-size: .875rem; color: #4a5a62; margin-bottom: .6rem;}
.side-foot {font-size: .875rem; color: #4a5a62; margin-top: 1.2rem; line-height: 1.35;}
.topbar {display: flex; justify-content: flex-end; margin: 0 0 .4rem 0;}
.disclaimer {font-size: .875rem; color: #6b4200; background: #fff4dc; border: 1px solid #f1d9a6;
  padding: .2rem .6rem; border-radius: 4px;}
.sr {position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);}
.rec-head {margin-bottom: .35rem;}
h2.rec-title {font-size: 1.35rem; font-weight: 650; color: #1d2b33; padding: 0; margin: 0; line-height: 1.4;}
/* The sidebar's own headings (h2: the page's title is its h1) look like the small labels they were. */
[data-testid="stSidebar"] h2 {font-size: 1rem; font-weight: 650; padding: .4rem 0 .1rem 0; margin: 0;}
.rec-meta {color: #3c4d56; font-size: .95rem; margin: .1rem 0 .3rem 0;}
.badge {font-size: .875rem; font-weight: 600; padding: .1rem .45rem; border-radius: 3px; margin-left: .4rem;
  vertical-align: middle; letter-spacing: .03em;}
.badge.synthetic {background: #fdecc8; color: #744600; border: 1px solid #f0c777;}
.badge.origin {background: #e6eef2; color: #2f4752;}
.lead-chips {display: flex; flex-wrap: wrap; gap: 4px;}
.lead-chip {font-size: .875rem; padding: .05rem .42rem; border-radius: 3px; font-weight: 600;}
.lead-chip.on {background: #1a5f78; color: #ffffff;}
.lead-chip.off {background: #f1f1f1; color: #595959; text-decoration: line-through; border: 1px dashed #8a8a8a;}
.meas-row {display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: 8px;
  margin: .5rem 0 .2rem 0;}
.meas {background: #ffffff; border: 1px solid #cfdbe0; border-radius: 6px; padding: .35rem .6rem;}
.meas-label {font-size: .875rem; color: #44555d; letter-spacing: .02em;}
.meas-value {font-size: 1.25rem; font-weight: 650; color: #1d2b33; font-variant-numeric: tabular-nums;}
.meas.na .meas-value {font-size: .95rem; color: #6e4a4a; font-weight: 500; font-style: italic;}
.meas-note {font-size: .875rem; color: #55606a; line-height: 1.2;}
.meas-foot {font-size: .875rem; color: #44555d; margin-bottom: .4rem; line-height: 1.9;}
.meas-foot .noise {margin-top: .1rem;}
.alert {background: #fdeaea; border-left: 4px solid #b3261e; color: #6d1410; padding: .35rem .6rem;
  font-size: .95rem; margin: .3rem 0;}
.caveat {background: #f2f6f8; border-left: 4px solid #1a5f78; color: #263840; padding: .25rem .6rem;
  font-size: .875rem; margin: .2rem 0;}
.qchip {display: inline-block; font-size: .875rem; padding: 0 .3rem; margin: 0 1px; border-radius: 3px;
  font-weight: 600; border: 1px solid transparent;}
.q-good {background: #d8efe1; color: #1a5c33;} .q-fair {background: #fbefc9; color: #664b00;}
.q-bad {background: #f7d4d4; color: #7d1b1b; border-color: #b3261e;}
.q-none {background: #eeeeee; color: #555555; border-style: dashed; border-color: #8a8a8a;}
.legend {margin-left: .8rem; color: #44555d;}
.rank-list {border: 1px solid #cfdbe0; border-radius: 6px; background: #fff; padding: .3rem .5rem;
  container-type: inline-size;}
.rank-scope {font-size: .875rem; color: #6b4200; background: #fff4dc; display: inline-block; padding: 0 .4rem;
  border-radius: 3px; margin: .2rem 0;}
.rank-headline {font-size: 1rem; font-weight: 600; padding: .35rem .2rem .45rem .2rem; color: #1d2b33;}
.rank-headline.none {color: #4a3b00;}
.rank-head, .rank-row {display: grid;
  grid-template-columns: 1.6rem minmax(9rem, 1.6fr) 1.3fr 3.6rem minmax(7.5rem, 1fr) 4.6rem;
  align-items: center; gap: .5rem;}
.rank-head {font-size: .875rem; color: #44555d; border-bottom: 1px solid #e3e9ec; padding-bottom: .2rem;}
.rank-head span[title] {text-decoration: underline dotted; cursor: help;}
.rank-row {padding: .25rem 0; border-bottom: 1px solid #eef2f4; font-size: .95rem;}
.rank-row.top .rank-prompt {font-weight: 650;}
.rank-n {color: #55656d; font-variant-numeric: tabular-nums;}
.rank-exp {font-size: .875rem; color: #4a5a62; font-weight: 400;}
.so-mark {font-size: .875rem; color: #0d4f66; font-weight: 700; white-space: nowrap;}
.rank-bar {position: relative; background: #eef3f5; height: .75rem; border-radius: 2px; border: 1px solid #c9d6dc;}
.rank-fill {background: #1a5f78; height: 100%; border-radius: 2px;}
.rank-row:not(.top) .rank-fill {background: #6e9fb1;}
.rank-tick {position: absolute; top: -3px; bottom: -3px; width: 2px; background: #1d2b33;}
.rank-pct {font-variant-numeric: tabular-nums; text-align: right; color: #1d2b33; font-weight: 600;}
.rank-pct .unit {font-size: .875rem; font-weight: 400; color: #44555d;}
.rank-p {font-variant-numeric: tabular-nums; text-align: right; color: #44555d; font-size: .875rem;}
.rel {font-size: .875rem; padding: 0 .3rem; border-radius: 3px; white-space: nowrap;}
.rel-good {background: #d8efe1; color: #1a5c33;} .rel-fair {background: #fbefc9; color: #664b00;}
.rel-weak {background: #f7d4d4; color: #7d1b1b;} .rel-none {background: #eeeeee; color: #4d4d4d;}
/* A narrow column (a 13-inch laptop, 200 % zoom): each phrase on a line of its own, its numbers on the next,
   so that the reliability and the "relative" column stay inside the card (they spilled over the next column). */
@container (max-width: 45rem) {
  .rank-head, .rank-row {grid-template-columns: 1.6rem minmax(3rem, 1fr) 3.6rem minmax(0, 10rem) 4.6rem;
    row-gap: .1rem;}
  .rank-phrase, .rank-head > span:nth-child(2) {grid-column: 2 / -1;}
  .rank-bar {grid-column: 2;}
  .rank-head > span:nth-child(3) {grid-column: 2 / 4;}      /* over the bar and the percentile: whole words */
  .rank-head {position: relative;}
  .rank-head > span:nth-child(4) {position: absolute; width: 1px; height: 1px; overflow: hidden;}  /* read, not drawn */
  .rank-head > span:nth-child(6) {grid-column: 3 / -1; text-align: right;}   /* the share's header: a line of its own, not five */
  .rank-head > span {overflow-wrap: normal; word-break: normal;}
  .rel {white-space: normal; justify-self: start;}
}
/* Where the keyboard is: a ring on every button and link, and around a radio, checkbox or switch whose
   (visually hidden) input has the keyboard's focus: Streamlit's own is a faint background (1.19:1). */
button:focus-visible, a:focus-visible, [role="button"]:focus-visible, summary:focus-visible,
label:has(input[type="radio"]:focus-visible), label:has(input[type="checkbox"]:focus-visible) {
  outline: 3px solid #0b5394 !important; outline-offset: 2px; border-radius: 4px;}
/* An unchecked radio's ring, an unchecked checkbox's box and a switch turned off, drawn to be seen (>= 3:1,
   WCAG 1.4.11): Streamlit draws them at 20 % of the text colour, 1.5-1.7:1 on the page. */
[data-testid="stRadioOption"]:not(:has(input:checked)) > div > div:first-child {border-color: #66757d !important;}
label:has(> span > input[type="checkbox"]:not([role="switch"]):not(:checked)) > div:nth-child(2) {
  border-color: #66757d !important;}
label:has(> span > input[role="switch"]:not(:checked)) > div:nth-child(2) {background-color: #66757d !important;}
.unknown {margin-top: .5rem; font-size: .95rem; color: #3c4d56; border-top: 1px dashed #b9ccd4; padding-top: .35rem;}
.unknown ul {margin: .2rem 0 0 1.2rem;}
.reminder {margin-top: .5rem; font-size: .875rem; color: #4f3b00; background: #fff8e6; border-left: 3px solid
  #e0a800; padding: .35rem .6rem;}
.file-labels {border: 1px solid #cfdbe0; border-radius: 6px; background: #fff; padding: .35rem .7rem;
  font-size: .95rem; color: #1d2b33;}
.file-labels ul {margin: 0 0 0 1.1rem;}
.file-labels .src {color: #55656d; font-size: .875rem;}
.file-labels .undecoded {font-style: italic;}
.fl-note {font-size: .875rem; color: #4a5a62; margin-top: .2rem;}
.fl-model {color: #1a5f78; font-size: .875rem;}
.fl-disagree {margin-top: .3rem; font-size: .875rem; color: #5c3d00; background: #fdf0d5; padding: .25rem .4rem;
  border-radius: 3px;}
.hit-with-ecg {display: grid; grid-template-columns: 1.5fr 1fr; gap: .8rem; align-items: center;}
.hit-ecg {position: relative;}
.hit-ecg svg {display: block; border-radius: 3px;}
.thumb-lead {position: absolute; top: 2px; left: 5px; font-size: .875rem; font-weight: 700; color: #2a2a2a;}
.beat-labels {font-size: .9rem; color: #1d2b33; margin: -.3rem 0 .4rem 0;}
.beat-labels ul {display: inline; margin: 0 .4rem; padding: 0;}
.beat-labels li {display: inline; margin-right: .8rem;}
.beat-labels li span {color: #4a5a62;}
.page-span {font-size: 1rem; padding-top: 1.9rem; color: #1d2b33;}
.st-key-chart_library_preload {display: none !important;}
.page-strip {position: relative; height: 12px; background: #e3e8eb; border-radius: 3px; margin-top: -.6rem !important;}
.page-strip span {position: absolute; top: 0; bottom: 0; min-width: 4px; background: #8a5a00; border-radius: 3px;}
.caliper {font-size: .95rem; color: #3c4d56; margin: .1rem 0 .3rem 0;}
.caliper.on {color: #1d2b33; background: #eef3f5; padding: .25rem .6rem; border-radius: 4px; display: inline-block;}
.hit-list {border: 1px solid #cfdbe0; border-radius: 6px; background: #fff; padding: .2rem .6rem;}
.hit-cap {font-size: .875rem; color: #44555d; padding: .2rem 0;}
.hit-row {display: flex; gap: .7rem; padding: .35rem 0; border-top: 1px solid #eef2f4;}
.hit-sim {font-variant-numeric: tabular-nums; color: #1a5f78; font-weight: 650; min-width: 3.6rem;}
.hit-src {font-size: .875rem; color: #44555d;}
.hit-src .db {background: #e6eef2; color: #2f4752; padding: 0 .3rem; border-radius: 3px; font-weight: 600;}
.hit-src .self-hit {background: #fdf0d5; color: #5c3d00; padding: 0 .3rem; border-radius: 3px; font-weight: 600;}
.hit-report {font-size: .95rem; color: #1d2b33;}
.empty {border: 1px dashed #b9ccd4; border-radius: 8px; padding: 1.2rem 1.5rem; background: #fff;
  margin: 1rem 0; color: #34464f;}
.banner-warn {background: #fff4dc; border: 1px solid #f1d9a6; padding: .7rem 1rem; border-radius: 6px;
  color: #5a3d00; margin-bottom: 1rem;}
.glance {border-collapse: collapse; margin: .2rem 0 1rem 0; font-size: .95rem;}
.glance th {text-align: left; color: #44555d; font-weight: 600; padding: .2rem 1.2rem .2rem 0;}
.glance td {color: #1d2b33; padding: .2rem 0; font-variant-numeric: tabular-nums;}
/* Streamlit fades captions (opacity .6): #44555d became rgb(141,151,156), 2.9:1 on the page; at full opacity 7:1. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {font-size: .875rem !important;
  color: #44555d !important; opacity: 1 !important;}
/* Quotes (the model card's key caveat): Streamlit's faded grey was 4:1; dark text on a teal rule instead. */
blockquote {color: #1d2b33 !important; border-left: 4px solid #1a5f78 !important; background: #f2f6f8;
  padding: .35rem .8rem !important; opacity: 1 !important;}
blockquote * {color: inherit !important;}
.config {border-collapse: collapse; font-size: .875rem; font-variant-numeric: tabular-nums;}
.config th {text-align: left; color: #44555d; font-weight: 600; padding: .15rem 1.2rem .15rem 0; vertical-align: top;}
.config td {color: #1d2b33; padding: .15rem 0; overflow-wrap: anywhere;}
.config td.none {font-style: italic; color: #44555d;}
/* Headings: the page's title h1, the ECG's name h2, its sections h3 (drawn at the size h4 had). */
[data-testid="stMain"] h1 {font-size: 1.6rem;}
[data-testid="stMain"] h3 {font-size: 1.5rem;}
h3, h4 {margin-top: .6rem !important;}
/* A still page: no fades (stale elements still dim, at once) and no shimmer on the placeholders of
   what is being drawn. Each frame of those was painted and composited by the reading computer (without a
   GPU, on its CPU): ~0.1-0.15 s of browser CPU per upload in benchmarks/load.py, for motion that tells the
   reader nothing. The spinners keep turning: they say that work is under way. */
*, *::before, *::after {transition: none !important;}
[data-testid="stSkeleton"], [data-testid="stSkeleton"] * {animation: none !important;}
</style>
"""
