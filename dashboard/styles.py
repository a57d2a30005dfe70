"""The page's CSS: a calm clinical look (white cards, teal accents, ECG-paper reds only on the paper)."""

CSS = """
<style>
.block-container {padding-top: 1.2rem; padding-bottom: 2rem; max-width: 1500px;}
[data-testid="stSidebar"] .block-container {padding-top: 1rem;}
.brand {font-size: 1.45rem; font-weight: 700; color: #1f6f8b; letter-spacing: .02em;}
.brand span {font-weight: 400; color: #1d2b33;}
.brand-sub {font-size: .78rem; color: #5b6b73; margin-bottom: .6rem;}
.side-foot {font-size: .72rem; color: #6b7b83; margin-top: 1.2rem; line-height: 1.3;}
.topbar {display: flex; justify-content: flex-end; margin: -0.4rem 0 .4rem 0;}
.disclaimer {font-size: .78rem; color: #7a4b00; background: #fff4dc; border: 1px solid #f1d9a6;
  padding: .2rem .6rem; border-radius: 4px;}
.rec-head {margin-bottom: .35rem;}
.rec-title {font-size: 1.35rem; font-weight: 650; color: #1d2b33;}
.rec-meta {color: #42535c; font-size: .92rem; margin: .1rem 0 .3rem 0;}
.badge {font-size: .7rem; font-weight: 600; padding: .12rem .45rem; border-radius: 3px; margin-left: .4rem;
  vertical-align: middle; text-transform: uppercase; letter-spacing: .04em;}
.badge.synthetic {background: #fdecc8; color: #8a5300; border: 1px solid #f0c777;}
.badge.origin {background: #e6eef2; color: #35505c;}
.lead-chips {display: flex; flex-wrap: wrap; gap: 4px;}
.lead-chip {font-size: .74rem; padding: .08rem .42rem; border-radius: 3px; font-weight: 600;}
.lead-chip.on {background: #1f6f8b; color: white;}
.lead-chip.off {background: #f1f1f1; color: #a3a3a3; text-decoration: line-through;}
.meas-row {display: grid; grid-template-columns: repeat(7, 1fr); gap: 8px; margin: .5rem 0 .2rem 0;}
.meas {background: #ffffff; border: 1px solid #dde6ea; border-radius: 6px; padding: .35rem .6rem;}
.meas-label {font-size: .72rem; color: #5b6b73; text-transform: uppercase; letter-spacing: .04em;}
.meas-value {font-size: 1.25rem; font-weight: 650; color: #1d2b33; font-variant-numeric: tabular-nums;}
.meas.na .meas-value {font-size: .9rem; color: #8b6d6d; font-weight: 500; font-style: italic;}
.meas-note {font-size: .68rem; color: #8b8b8b; line-height: 1.15;}
.meas-foot {font-size: .76rem; color: #5b6b73; margin-bottom: .4rem;}
.qchip {display: inline-block; font-size: .68rem; padding: 0 .3rem; margin: 0 1px; border-radius: 3px;
  font-weight: 600;}
.q-good {background: #d8efe1; color: #1e6a3a;} .q-fair {background: #fbefc9; color: #7a5a00;}
.q-bad {background: #f7d4d4; color: #8d1f1f;} .q-none {background: #eeeeee; color: #a0a0a0;}
.legend {margin-left: .8rem; opacity: .85;}
.rank-list {border: 1px solid #dde6ea; border-radius: 6px; background: #fff; padding: .3rem .5rem;}
.rank-head, .rank-row {display: grid; grid-template-columns: 1.6rem minmax(8rem, 1.4fr) 1.6fr 3.6rem 5.2rem;
  align-items: center; gap: .5rem;}
.rank-head {font-size: .68rem; color: #6b7b83; text-transform: uppercase; letter-spacing: .03em;
  border-bottom: 1px solid #eef2f4; padding-bottom: .2rem;}
.rank-row {padding: .22rem 0; border-bottom: 1px solid #f3f6f7; font-size: .9rem;}
.rank-row.top .rank-prompt {font-weight: 650;}
.rank-n {color: #8a9aa2; font-variant-numeric: tabular-nums;}
.rank-bar {background: #eef3f5; height: .7rem; border-radius: 2px;}
.rank-fill {background: #1f6f8b; height: 100%; border-radius: 2px;}
.rank-row:not(.top) .rank-fill {background: #7fb0c2;}
.rank-p, .rank-cos {font-variant-numeric: tabular-nums; text-align: right; color: #34464f;}
.rank-cos {font-size: .8rem; color: #6b7b83;}
.reminder {margin-top: .5rem; font-size: .82rem; color: #5a4300; background: #fff8e6; border-left: 3px solid
  #e0a800; padding: .35rem .6rem;}
.hit-list {border: 1px solid #dde6ea; border-radius: 6px; background: #fff; padding: .2rem .6rem;}
.hit-cap {font-size: .72rem; color: #6b7b83; text-transform: uppercase; letter-spacing: .03em;
  padding: .2rem 0;}
.hit-row {display: flex; gap: .7rem; padding: .35rem 0; border-top: 1px solid #f0f3f5;}
.hit-sim {font-variant-numeric: tabular-nums; color: #1f6f8b; font-weight: 650; min-width: 3.6rem;}
.hit-src {font-size: .75rem; color: #6b7b83;}
.hit-src .db {background: #e6eef2; color: #35505c; padding: 0 .3rem; border-radius: 3px; font-weight: 600;}
.hit-report {font-size: .88rem; color: #1d2b33;}
.empty {border: 1px dashed #b9ccd4; border-radius: 8px; padding: 1.2rem 1.5rem; background: #fff;
  margin: 1rem 0; color: #34464f;}
.banner-warn {background: #fff4dc; border: 1px solid #f1d9a6; padding: .7rem 1rem; border-radius: 6px;
  color: #5a3d00; margin-bottom: 1rem;}
.glance {border-collapse: collapse; margin: .2rem 0 1rem 0; font-size: .88rem;}
.glance th {text-align: left; color: #5b6b73; font-weight: 600; padding: .2rem 1.2rem .2rem 0;}
.glance td {color: #1d2b33; padding: .2rem 0; font-variant-numeric: tabular-nums;}
h4 {margin-top: .6rem !important;}
</style>
"""
