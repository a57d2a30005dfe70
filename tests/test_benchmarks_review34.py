"""Review 34 of the benchmark scripts: the logic that decides what a benchmark measures and how it sums it up
(fast; no benchmark is run here)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from helpers import benchmark

@pytest.fixture(scope="module")
def latency():
    return benchmark("latency")


def test_latency_setup_runs_untimed_before_the_warm_up_and_every_repeat(latency):
    # a step whose cache would make every repeat after the first free must start from its setup each time
    events = []
    latency.timed(lambda: events.append("step"), 3, setup=lambda: events.append("setup"))
    assert events == ["setup", "step"] * 4                   # the warm-up, then 3 timed repeats


def test_latency_timed_refuses_no_repeats(latency):
    with pytest.raises(ValueError, match="at least 1"):
        latency.timed(lambda: None, 0)


def test_latency_command_line_refuses_no_repeats_before_loading_anything(latency, capsys):
    with pytest.raises(SystemExit) as stop:
        latency.main(["--repeats", "0"])
    assert stop.value.code == 2 and "--repeats must be at least 1" in capsys.readouterr().err


def test_latency_ratio_to_the_floor(latency):
    assert latency.ratio(30.0, 12.0) == "2.5"
    assert latency.ratio(30.0, 0.0) == "-"


def test_latency_synthetic_report_words_are_distinct_and_have_no_digits(latency):
    # the product's search keeps one hit per wording (numbers taken out): digits would merge the reports
    from mets_core.index import wording_of
    words = [latency.letters(i) for i in range(2000)]
    assert len({wording_of(f"synthetic report {w}") for w in words}) == 2000
    assert words[:3] == ["a", "b", "c"] and words[26] == "ba"


def test_cli_speed_rate_past_start_up():
    cli_speed = benchmark("cli_speed")
    assert cli_speed.rate_past_startup(5, 12.0, 4.0) == pytest.approx(0.5)       # 4 records in 8 s
    assert cli_speed.rate_past_startup(1, 12.0, 4.0) is None                     # nothing past the first
    assert cli_speed.rate_past_startup(5, 4.0, 4.5) is None                      # noise, not a rate


@pytest.mark.parametrize("argv", [["--n", "1"], ["--repeat", "0"]])
def test_cli_speed_refuses_counts_it_cannot_measure_with(argv, monkeypatch, capsys):
    cli_speed = benchmark("cli_speed")
    monkeypatch.setattr(sys, "argv", ["cli_speed.py", *argv])
    with pytest.raises(SystemExit) as stop:
        cli_speed.main()
    assert stop.value.code == 2 and "at least" in capsys.readouterr().err


def test_retrieval_scores_are_pooled_over_the_halves_not_averaged():
    hubness = benchmark("retrieval_hubness")
    # half A: 1 query, Jaccard 1.0, its rhythm found, report 0 shown; half B: 3 queries, Jaccard 0.2 each,
    # 1 of 2 rhythm queries found, reports 0 and 1 shown
    a = {"queries": 1, "jaccard sum": 1.0, "rhythm hits": 1, "rhythm queries": 1, "counts": np.array([1, 0, 0])}
    b = {"queries": 3, "jaccard sum": 0.6, "rhythm hits": 1, "rhythm queries": 2, "counts": np.array([3, 3, 0])}
    got = hubness.pooled([a, b])
    assert got["jaccard@10"] == pytest.approx(1.6 / 4)          # the halves' mean would say 0.6
    assert got["rhythm in top 5"] == pytest.approx(2 / 3)       # ... 0.75
    assert got["top share"] == pytest.approx(4 / 4)             # report 0 in every query's top 10
    assert got["reports shown"] == 2                            # ... 1.5
    assert hubness.pooled([b])["jaccard@10"] == pytest.approx(0.2)


@pytest.fixture(scope="module")
def measure_validation():
    return benchmark("measure_validation")


@pytest.mark.parametrize("argv", [["--trend", "--rhythm"], ["--folds", "9"], ["--annotators", "--folds", "1-8"]])
def test_measure_validation_refuses_flags_it_would_ignore(measure_validation, argv):
    with pytest.raises(SystemExit) as stop:
        measure_validation.parse_args(argv)
    assert stop.value.code == 2


def test_measure_validation_takes_folds_with_ptbxl(measure_validation):
    args = measure_validation.parse_args(["--ptbxl", "--folds", "9"])
    assert args.ptbxl and args.folds == "9"


def test_train_throughput_help_says_its_whole_first_paragraph(monkeypatch, capsys):
    train_throughput = benchmark("train_throughput")
    monkeypatch.setattr(sys, "argv", ["train_throughput.py", "--help"])
    with pytest.raises(SystemExit):
        train_throughput.main()
    assert "Target: real >= 0.8 x bare." in " ".join(capsys.readouterr().out.split())


def test_train_throughput_refuses_no_steps(monkeypatch, capsys):
    train_throughput = benchmark("train_throughput")
    monkeypatch.setattr(sys, "argv", ["train_throughput.py", "--steps", "0"])
    with pytest.raises(SystemExit) as stop:
        train_throughput.main()
    assert stop.value.code == 2


def test_learned_delineation_says_to_extract_first(tmp_path, monkeypatch):
    learned = benchmark("learned_delineation")
    monkeypatch.setattr(learned, "CACHE", tmp_path / "empty")
    with pytest.raises(SystemExit, match="run the `extract` step first"):
        learned.load()
