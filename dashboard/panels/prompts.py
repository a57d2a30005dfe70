"""The phrase box: presets ("custom" once edited; a preset never silently discards typed phrases), the
phrases typed, and saving/loading a phrase set as a JSON file. Other panels and pages read the phrases with
`current()` and replace them with `replace()`; only this module touches the box's session keys."""
from __future__ import annotations

import json

import streamlit as st

from mets_core.prompts import PRESETS, REPEAT_REASON, distinct_prompts, prompt_lines

from .. import session

MAX_PROMPTS = 60
MAX_PROMPT_CHARS = 200
DEFAULT_PRESET = "Rhythm"
CUSTOM = "custom"
EXAMPLE_SET = '["atrial fibrillation", "sinus rhythm"]'      # a phrase set as a JSON list, in the load messages


def parse_prompts(text: str) -> tuple[list[str], list[str]]:
    """(prompts, warnings): one prompt per line ('#' starts a comment), blank lines and repeats dropped (repeats
    with a warning), at most MAX_PROMPTS of at most MAX_PROMPT_CHARS each (the rule `mets rank` keeps too, without
    the caps)."""
    kept = distinct_prompts(prompt_lines(text), MAX_PROMPTS, MAX_PROMPT_CHARS)
    return kept.prompts, kept.warnings


# The phrase box and the preset box are drawn on the Reader only: their values are kept for the other pages'
# runs (dashboard.session.keep), and put back when the Reader draws them again.
BOXES = ("prompts_text", "preset")


def current() -> list[str]:
    """The phrases in the box (the default preset before the box was ever shown)."""
    text = session.setting("prompts_text")
    if text is None:
        text = "\n".join(PRESETS.get(DEFAULT_PRESET, []))
    return parse_prompts(text)[0]


# The phrases the reader typed, kept when a set replaced them (the file's labels, a loaded phrase set): the one
# "custom" place held the new set, and the phrases typed were gone for good. A button puts them back.
TYPED_BEFORE = "prompts_typed_before"
REPLACED = "prompts_replaced_with"         # the last set `replace` put in the box


def replace(phrases: list[str]) -> None:
    """Put `phrases` in the box (as a custom set); e.g. the file's own labels. The phrases the reader typed (in the
    box, or kept under "custom" while a preset is shown) can be put back (`prompt_controls`' button)."""
    text = "\n".join(dict.fromkeys(p for p in phrases if p))
    box = session.setting("prompts_text") or ""
    typed = box if not _is_a_preset(box, PRESETS) else st.session_state.get("custom_prompts") or ""
    # a set put in before (labels, then a phrase set) was not typed: what was typed before it stays the one offered
    if typed != st.session_state.get(REPLACED) and parse_prompts(typed)[0] \
            and parse_prompts(typed)[0] != parse_prompts(text)[0]:
        st.session_state[TYPED_BEFORE] = typed
    st.session_state[REPLACED] = text
    st.session_state["prompts_text"] = text
    st.session_state["custom_prompts"] = text
    st.session_state["preset"] = CUSTOM
    session.keep(*BOXES)


def prompt_controls(presets: dict = PRESETS, template_set: str | None = None,
                    templates: list[str] | None = None) -> list[str]:
    """The preset box, the phrase box (with the model's active template set, when given) and the save/load
    expander; returns the phrases to rank."""
    for box in BOXES:
        session.restore(box)
    if "prompts_text" not in st.session_state:
        st.session_state["prompts_text"] = "\n".join(presets.get(DEFAULT_PRESET, []))
        st.session_state["preset"] = DEFAULT_PRESET if DEFAULT_PRESET in presets else CUSTOM
    options = [CUSTOM] + list(presets)

    def use_preset():
        name = st.session_state.get("preset")
        current = st.session_state.get("prompts_text", "")
        if not _is_a_preset(current, presets) and current.strip():
            st.session_state["custom_prompts"] = current          # kept: choosing "custom" brings it back
        if name in presets:
            st.session_state["prompts_text"] = "\n".join(presets[name])
        elif name == CUSTOM and st.session_state.get("custom_prompts"):
            st.session_state["prompts_text"] = st.session_state["custom_prompts"]

    def edited():
        text = st.session_state.get("prompts_text", "")
        st.session_state["preset"] = _is_a_preset(text, presets) or CUSTOM
        if st.session_state["preset"] == CUSTOM:
            st.session_state["custom_prompts"] = text
            st.session_state.pop(TYPED_BEFORE, None)      # typed anew: what is typed now is the reader's set

    def put_back():
        text = st.session_state.pop(TYPED_BEFORE, None)
        if text:
            st.session_state["prompts_text"] = text
            st.session_state["preset"] = _is_a_preset(text, presets) or CUSTOM
            if st.session_state["preset"] == CUSTOM:
                st.session_state["custom_prompts"] = text

    st.selectbox("Phrase set", options, key="preset", on_change=use_preset,
                 help="A preset replaces the phrases below; what you typed is kept under “custom”.")
    st.text_area("Prompts, one per line: the phrases to compare with the ECG (Ctrl+Enter or click outside to re-rank)", key="prompts_text",
                 height=160, on_change=edited, help="'#' starts a note that is not ranked: "
                                                    "“sinus rhythm  # baseline” ranks “sinus rhythm”.")
    typed = parse_prompts(st.session_state.get(TYPED_BEFORE) or "")[0]
    if typed:
        st.button(f"Put back the {len(typed)} phrase{'s' if len(typed) != 1 else ''} you typed", key="prompts_put_back",
                  on_click=put_back, help="The phrases in the box before they were replaced: "
                                          + "; ".join(typed[:5]) + (" …" if len(typed) > 5 else ""))
    if template_set:
        shown = "; ".join(f"“{t.replace('{label}', '…')}”" for t in (templates or []))
        st.caption((f"Each phrase is put into these sentences and the results averaged: {shown} (template set "
                    f"**{template_set}**)" if shown else f"Phrases are read through the template set **{template_set}**")
                   + ". A statement or class the model knows is scored as its known phrasings.")
    with st.expander("Save or load a phrase set"):
        text = st.session_state.get("prompts_text", "")
        data = json.dumps({"format": "mets-prompt-set", "version": 1,
                           "prompts": parse_prompts(text)[0]}, indent=1).encode("utf-8")
        st.download_button("Download this phrase set (JSON)", data, file_name="mets_phrases.json",
                           mime="application/json", key="prompts_save")
        st.file_uploader("Load a phrase set (JSON)", type=["json"], key="prompts_load",
                         on_change=_load_prompt_set)
        if st.session_state.get("prompts_load_error"):
            st.error(st.session_state["prompts_load_error"])
    for note in st.session_state.pop("prompts_load_notes", None) or []:     # once, after loading
        st.warning(note)
    session.keep(*BOXES)
    prompts, warnings = parse_prompts(st.session_state.get("prompts_text", ""))
    for w in warnings:
        st.caption(f"Note: {w}")
    return prompts


def _is_a_preset(text: str, presets: dict) -> str | None:
    mine = [p.lower() for p in parse_prompts(text)[0]]
    for name, phrases in presets.items():
        if mine == [p.lower() for p in phrases]:
            return name
    return None


def _load_prompt_set() -> None:
    f = st.session_state.get("prompts_load")
    st.session_state["prompts_load_error"] = None
    if f is None:
        return
    try:
        # "utf-8-sig": a phrase set saved by Windows Notepad (UTF-8 with a byte order mark) is a phrase set too
        data = json.loads(f.getvalue()[:1_000_000].decode("utf-8-sig"))
        prompts = data["prompts"] if isinstance(data, dict) else data
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ValueError
    except Exception:  # noqa: BLE001
        st.session_state["prompts_load_error"] = (
            f"“{f.name}” is not a phrase set. Load a file saved with “Download this phrase set”, or a JSON "
            f"list of phrases such as {EXAMPLE_SET}.")
        return
    got = distinct_prompts(prompt_lines("\n".join(prompts)), MAX_PROMPTS, MAX_PROMPT_CHARS)
    kept, skipped, shortened, offered = got.prompts, got.skipped, got.shortened, got.offered
    if not kept:        # an empty set would empty the box, and the phrases typed there could not be had back
        said = (f" (its {len(skipped)} line{'s' if len(skipped) > 1 else ''} had no words)" if skipped else "")
        st.session_state["prompts_load_error"] = (
            f"“{f.name}” holds no phrase to rank{said}, so the phrases in the box are kept. Load a phrase set "
            f"with at least one phrase, such as {EXAMPLE_SET}.")
        return
    replace(kept)
    # the box holds only what was kept, so its own notes cannot tell what the file lost: say it here
    notes = []
    if offered > MAX_PROMPTS:
        notes.append(f"“{f.name}” holds {offered} phrases; only the first {MAX_PROMPTS} were loaded (a phrase set "
                     f"holds at most {MAX_PROMPTS}), {offered - MAX_PROMPTS} left out.")
    if shortened:
        notes.append((f"{shortened} phrases" if shortened > 1 else "1 phrase") + f" in “{f.name}” "
                     + ("were" if shortened > 1 else "was") + f" longer than {MAX_PROMPT_CHARS} characters and "
                     f"shortened to the first {MAX_PROMPT_CHARS}.")
    if skipped:
        notes.append(f"{len(skipped)} line{'s' if len(skipped) > 1 else ''} in “{f.name}” had no words and "
                     f"{'were' if len(skipped) > 1 else 'was'} left out.")
    if got.repeats:
        many = len(got.repeats) > 1
        notes.append(f"{len(got.repeats)} phrase{'s' if many else ''} in “{f.name}” repeated "
                     f"{'ones' if many else 'one'} above ({REPEAT_REASON}) and {'were' if many else 'was'} left out.")
    st.session_state["prompts_load_notes"] = notes
