"""`mets rank`: zero-shot, the similarity of each record to each free-text prompt, a softmax over the ranked
prompts, and where the model's weights carry them, percentiles among reference ECGs and validation AUCs.
Negated prompts ("no atrial fibrillation": the model cannot read "no", so they are scored as the finding) and
prompts the model does not know are listed apart, never ranked. Similarities, not diagnoses."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from ..cli import COMMANDS
from ..prompts import KINDS
from .dataset import DatasetRun
from .errors import usage
from .model_loading import load_model
from .options import add_dataset_options, add_model_options


def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help=COMMANDS["rank"][0],
                              description="Zero-shot: cosine similarity of each record to each prompt, and a "
                                          "softmax over the ranked prompts. A negated prompt ('no atrial "
                                          "fibrillation') is scored as the finding it names and listed apart: "
                                          "the model cannot read 'no'. Similarities, not diagnoses.")
    p.add_argument("--prompt", "-p", dest="prompts", action="append", default=[], metavar="TEXT",
                   help="one phrase such as 'atrial fibrillation'; repeat the flag for each prompt")
    p.add_argument("--prompts-file", metavar="FILE", default=None,
                   help="prompts, one per line ('#' starts a comment)")
    # checked here, before the records are read and the model loads (a typo was said after loading, as a list)
    p.add_argument("--kind", default=KINDS[0], choices=KINDS,
                   help=f"template ensemble: {', '.join(KINDS[:-1])} or {KINDS[-1]} (default {KINDS[0]})")
    add_dataset_options(p, "write one row per record: .csv, .jsonl or .parquet (scores, percentiles, top "
                           "prompt, errors)")
    add_model_options(p)
    p.set_defaults(func=cmd_rank)


def cmd_rank(args) -> int:
    prompts = _prompts(args)
    run = DatasetRun.start(args, _rank_columns(prompts), _rank_number_columns(prompts))
    if isinstance(run, int):
        return run
    try:
        model = load_model(args.model, run.reader.workers)
        model.embed_prompts(prompts, args.kind)       # fail early on a bad prompt or text model
    except BaseException as err:     # a setup error: one line, exit 2; an interrupt: raised again
        return run.setup_failed("rank", err)

    def score(ecgs, prepared):
        model.embed_ecg(ecgs, batch_size=args.batch_size, model_input=prepared)   # one batched pass
        results = []
        for ecg in ecgs:
            result = {"leads": ecg.leads, **_too_short(model, ecg), **_rank_result(model.rank(ecg, prompts, args.kind))}
            result = {**result, **_measurement_check(ecg, result), **_not_told_apart(model, ecg, result, args.kind)}
            said = _stands_out_words(result)
            results.append({**result, **({"stands_out": said} if said is not None else {})})
        return results

    return run.answer(run.score(score, _rank_row), _print_rank)


def _prompts(args) -> list[str]:
    from ..prompts import distinct_prompts, prompt_lines
    prompts = list(args.prompts or [])
    if args.prompts_file:
        from ..readers.csv_table import as_text
        try:
            data = Path(args.prompts_file).read_bytes()
        except OSError as e:
            raise SystemExit(usage(f"cannot read --prompts-file {args.prompts_file}: {e.strerror or e}"))
        # as the readers take a text file: Windows' UTF-16 ("Unicode") and Latin-1 as well as UTF-8 (a UTF-8 file
        # with a byte order mark lost its first prompt, or its first comment, to the mark)
        text = as_text(data)
        if text is None:
            raise SystemExit(usage(f"--prompts-file {args.prompts_file} is not a text file (an ECG or another "
                                   f"binary file?): write the prompts in a text file, one per line"))
        prompts += prompt_lines(text)
    # the dashboard's rule, without its caps: a researcher may rank every statement of a vocabulary at once
    kept = distinct_prompts([p.strip() for p in prompts if p.strip()])
    prompts = kept.prompts
    for warning in kept.warnings:
        print(f"mets: rank: {warning}", file=sys.stderr)
    if not prompts and args.prompts_file:          # the file was read: it is what holds nothing to rank
        raise SystemExit(usage(f"--prompts-file {args.prompts_file} holds no prompts: write one per line ('#' "
                               f"starts a comment), or give them with --prompt"))
    if not prompts:
        raise SystemExit(usage("rank needs prompts: --prompt 'atrial fibrillation' --prompt 'sinus rhythm' "
                               "(one flag per prompt) or --prompts-file FILE"))
    return prompts


def _match_dict(m) -> dict:
    """A Match as a dict: the fields every version has (probability None: not ranked), and
    percentile/known/expansion/negates/... when present."""
    out = {"prompt": m.prompt, "similarity": m.similarity, "probability": m.probability}
    for name in ("percentile", "known", "validation_auc", "stood_out", "expansion", "statement", "negates"):
        value = getattr(m, name, None)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else \
                dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return out


def _too_short(model, ecg) -> dict:
    """{"too_short_s": its length} for an ECG too short for the model's reference percentiles
    (METS.too_short_for_reference), else {}."""
    return {"too_short_s": round(ecg.duration, 2)} if model.too_short_for_reference(ecg) else {}


def _crowned(result: dict) -> list[tuple[str, str | None]]:
    """(prompt, statement) of the prompts that stand out, best first."""
    standing = _standing_out(result["matches"]) or []
    return [(m["prompt"], m.get("statement")) for m in result["matches"] if m["prompt"] in standing]


def _measurement_check(ecg, result: dict) -> dict:
    """{"measurement_check": [sentences]} when a statement a measurement can contradict stands out (a rate, a
    sinus rhythm: knowledge.checked_by_measurement) and the measurement does (knowledge.measurement_disagreements:
    the dashboard's words). Measured only then (~0.05 s a 10-s ECG), and only set against the ranking when the
    measurement covers the whole recording, as the ranking does (Measurements.covers_whole: a longer one's
    ranking averages every window, its measurement is of its first minute). A recording that cannot be measured
    gets none: the ranking stands."""
    from ..knowledge import checked_by_measurement, measurement_disagreements
    from ..measure import MAX_SECONDS, measure
    checked = [(prompt, statement) for prompt, statement in _crowned(result) if checked_by_measurement(statement)]
    if not checked or ecg.duration > MAX_SECONDS:      # a longer one is never measured whole: not measured at all
        return {}
    try:
        m = measure(ecg)
    except Exception:  # noqa: BLE001 - not measurable: nothing to check the statement against
        return {}
    words = measurement_disagreements(checked, m) if m.covers_whole(ecg) else []
    return {"measurement_check": words} if words else {}


def _not_told_apart(model, ecg, result: dict, kind: str) -> dict:
    """{"not_told_apart": [sentences]} when phrases that stand out are of statements the model does not tell
    apart (knowledge.exclusive_groups: LBBB, RBBB, paced rhythm, ...): one sentence per group of those typed,
    and one for those not typed that stand out on this ECG too, scored here (knowledge.rivals_to_score /
    rivals_words: the dashboard's words)."""
    from ..knowledge import exclusive_groups, not_told_apart_words, rivals_to_score, rivals_words
    crowned = _crowned(result)
    said = [not_told_apart_words(group) for group in exclusive_groups(crowned)]
    typed = {m.get("statement") for m in result["matches"] + result.get("negated", [])}
    rivals = rivals_to_score([statement for _, statement in crowned], typed)
    if rivals:
        scored = model.rank(ecg, rivals, kind)
        said += rivals_words(crowned, [(m.prompt, m.percentile, m.known) for m in scored])
    return {"not_told_apart": said} if said else {}


def _rank_result(matches: list) -> dict:
    """Known prompts ranked; listed apart: negated prompts ("no atrial fibrillation", scored as the finding they
    negate) and phrases the model does not know (known=False)."""
    negated = [_match_dict(m) for m in matches if getattr(m, "negates", None) is not None]
    rest = [m for m in matches if getattr(m, "negates", None) is None]
    ranked = [_match_dict(m) for m in rest if getattr(m, "known", True) is not False]
    # a phrase the model does not know gets no number anywhere (JSON, --out, the table): its similarity and
    # percentile would read as a judgement the model cannot make
    unknown = [{"prompt": m.prompt, "known": False} for m in rest if getattr(m, "known", True) is False]
    result = {"matches": ranked}
    if negated:
        result["negated"] = negated
    if unknown:
        result["not_known"] = unknown
    return result


def _rank_columns(prompts: list[str]) -> list[str]:
    """The columns of `mets rank --out`, saying what the printed table and --json say:
    stands_out          what stands out (as the table's headline; --json's "stands_out"), "no confident match",
                        or why the record is too short to say; empty with weights that have no reference ECGs
    not_told_apart      phrases standing out that the model does not tell from each other, or from statements
                        not typed that stand out too (paced rhythm and bundle branch blocks), in words
    measurement_check   a rate or sinus-rhythm statement standing out against the measurement, in words
    similarity[P], probability[P], percentile[P]   per prompt P: a ranked prompt has all three (percentile empty
                        with weights that have no reference ECGs); a negated prompt ("no atrial fibrillation")
                        has the similarity and percentile of the finding it was scored as (named in "negated")
                        and no probability (it is not ranked); a prompt the model does not know (listed in
                        "not_known") has none: its numbers would read as a judgement the model cannot make."""
    return (["record", "leads", "error", "stands_out", "not_told_apart", "measurement_check", "top_prompt",
             *TOP_NUMBERS, "not_known", "negated"] + _prompt_columns(prompts))


# the columns of numbers: the top prompt's, and each prompt's (the others hold text)
TOP_NUMBERS = ("top_similarity", "top_probability", "top_percentile")
PROMPT_NUMBERS = ("similarity", "probability", "percentile")


def _prompt_columns(prompts: list[str]) -> list[str]:
    return [f"{number}[{p}]" for p in prompts for number in PROMPT_NUMBERS]


def _rank_number_columns(prompts: list[str]) -> tuple[str, ...]:
    """The columns of `_rank_columns` that hold numbers."""
    return (*TOP_NUMBERS, *_prompt_columns(prompts))


def _rank_row(record: str, result: dict) -> dict:
    row = {"record": record, "leads": " ".join(result.get("leads", [])), "error": result.get("error", "")}
    if "error" in result:
        return row
    for m in result["matches"] + result.get("negated", []):       # not_known prompts: no numbers
        row[f"similarity[{m['prompt']}]"] = round(m["similarity"], 6)
        if m.get("probability") is not None:
            row[f"probability[{m['prompt']}]"] = round(m["probability"], 6)
        if m.get("percentile") is not None:
            row[f"percentile[{m['prompt']}]"] = round(m["percentile"], 2)
    row["stands_out"] = result.get("stands_out", "")
    row["not_told_apart"] = " ".join(result.get("not_told_apart", []))
    row["measurement_check"] = " ".join(result.get("measurement_check", []))
    if result["matches"]:
        top = result["matches"][0]
        row.update(top_prompt=top["prompt"], top_similarity=round(top["similarity"], 6))
        if top.get("probability") is not None:
            row["top_probability"] = round(top["probability"], 6)
        if top.get("percentile") is not None:
            row["top_percentile"] = round(top["percentile"], 2)
    row["not_known"] = "; ".join(m["prompt"] for m in result.get("not_known", []))
    row["negated"] = "; ".join(f"{m['prompt']} (scored as {m['negates']})" for m in result.get("negated", []))
    return row


def _stands_out_words(result: dict) -> str | None:
    """What stands out, in the words of the printed headline, for --json and --out: the prompts, best first,
    joined by "; ", or "no confident match", or why the ECG is too short to say; None when the weights give
    no percentiles (nothing can stand out from a reference they lack)."""
    if "too_short_s" in result:
        from ..knowledge import too_short_reading
        return too_short_reading(result["too_short_s"])
    standing = _standing_out(result["matches"])
    return None if standing is None else "; ".join(standing) or "no confident match"


def _standing_out(matches: list[dict]) -> list[str] | None:
    """The prompts that stand out (knowledge.stands_out, the rule of Match.stands_out and the dashboard), best
    first; None when the weights give no percentiles (nothing can stand out from a reference they lack)."""
    from ..knowledge import stands_out
    if not any(m.get("percentile") is not None for m in matches):
        return None
    return [m["prompt"] for m in matches if stands_out(m.get("percentile"), m.get("known"), "negates" in m)]


def _print_rank(r: dict) -> None:
    print(f"{r['record']}  (leads: {' '.join(r['leads'])})")
    matches = r["matches"]
    if "too_short_s" in r:
        from ..knowledge import too_short_words
        print("  " + too_short_words(r["too_short_s"]))
    if matches:
        width = max(len(m["prompt"]) for m in matches)
        has_pct = any(m.get("percentile") is not None for m in matches)
        if has_pct:
            # the headline: a prompt "stands out" when it scores at or above STANDS_OUT_PERCENTILE of the
            # reference ECGs; otherwise no prompt is crowned
            from ..knowledge import (STANDS_OUT_PERCENTILE, negated_findings_standing_out, not_judged,
                                     not_judged_words, percentile_ordinal)
            out = _standing_out(matches)
            unjudged = [m["prompt"] for m in matches if not_judged(m.get("percentile"), m.get("known"))]
            # a negated phrase is never crowned, but when its finding scores where it would be, the headline
            # must not read as all clear
            high = [finding for _, finding in negated_findings_standing_out(
                [(m["prompt"], m["negates"], m.get("statement"), m.get("percentile"), m.get("known"))
                 for m in r.get("negated", [])], _crowned(r))]
            at = percentile_ordinal(STANDS_OUT_PERCENTILE)
            print("  stands out: " + ", ".join(out) if out else "  no confident match" if unjudged else
                  f"  no confident match: no ranked prompt is at or above the {at} percentile of the reference ECGs")
            for words in r.get("not_told_apart", []) + r.get("measurement_check", []):
                print("  " + words)
            if unjudged:
                print("  " + not_judged_words(unjudged))
            if high:
                print(f"  the finding of a negated phrase scores at or above the {at} percentile too: "
                      + ", ".join(high) + " (see below)")
        from ..knowledge import (ONE_SHARE_SHOWN, SHARE_HEADER, STOOD_OUT_HEADER, StoodOut, reliability_label,
                                 scored_as_words, stood_out_cell)
        print(f"  {'prompt':<{width}}  " + ("percentile  " if has_pct else "") +
              f"reliability            {STOOD_OUT_HEADER}  similarity  {SHARE_HEADER}")
        share = len(SHARE_HEADER)
        sharing = sum(m.get("probability") is not None for m in matches)     # one: 100% whatever the ECG shows
        for m in matches:
            pct = f"{m['percentile']:10.1f}  " if m.get("percentile") is not None else (" " * 12 if has_pct else "")
            prob = (f"{'-':>{share}}" if m.get("probability") is None else f"{ONE_SHARE_SHOWN:>{share}}"
                    if sharing < 2 else f"{m['probability']:{share}.4f}")
            line = (f"  {m['prompt']:<{width}}  {pct}{reliability_label(m.get('validation_auc')):<21}  "
                    f"{stood_out_cell(StoodOut(**m['stood_out']) if m.get('stood_out') else None):>{len(STOOD_OUT_HEADER)}}  "
                    f"{m['similarity']:+10.4f}  {prob}")
            scored_as = scored_as_words(m["prompt"], m.get("expansion") or [])
            if scored_as:
                line += f"  (scored as: {scored_as})"
            print(line.rstrip())
    if r.get("negated"):
        from ..knowledge import negation_words
        print("  negated (scored as the finding, not ranked):")
        for m in r["negated"]:
            print("    " + negation_words(m["prompt"], m["negates"], m.get("percentile"), m.get("known")))
    if r.get("not_known"):
        print("  not known to the model (not ranked): " + ", ".join(m["prompt"] for m in r["not_known"]))
