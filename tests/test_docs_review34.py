"""The user-facing docs against the code (review 34): every `mets` command line they show uses options that
command has, with values among its choices, and every file of the repository they name exists.

The docs are read as a user reads them: inline code spans and code blocks. Each check is a function returning
the problems it found, so that one test can show on a made-up text that it does find them."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/ARCHITECTURE.md", "docs/measurements.md", "docs/paper_comparison.md",
        "docs/ptbxl_recipe.md", "docs/ptbxl_text_check.md", "docs/ptbxl_translation.md", "weights/MODEL_CARD.md"]
# the commands and sub-commands `mets --help` lists (a command missing here is caught by test_the_table_...)
COMMANDS = {"rank": (), "retrieve": (), "embed": (), "info": (), "download": (), "train": (), "evaluate": (),
            "ptbxl": ("translate-report", "text-check"), "corpus": ("build",), "export": ()}
REPO_FOLDERS = ("mets_core", "mets_train", "dashboard", "tests", "benchmarks", "scripts", "docs", "weights",
                ".streamlit", ".ci")
FILE_SUFFIXES = (".py", ".json", ".md", ".toml", ".sh", ".csv", ".txt", ".safetensors")


def mets_executable() -> str:
    beside = Path(sys.executable).with_name("mets")
    found = str(beside) if beside.is_file() else shutil.which("mets")
    if found is None:
        pytest.skip("the `mets` command is not installed (bash scripts/setup.sh installs it into .venv)")
    return found


@lru_cache(maxsize=None)
def help_text(*words: str) -> str:
    done = subprocess.run([mets_executable(), *words, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"mets {' '.join(words)} --help failed: {done.stderr}"
    return done.stdout


def code_spans(markdown: str) -> list[str]:
    """What a reader copies: each line of a fenced or indented code block, and each inline `code` span (which
    may run over a line break)."""
    spans, prose, fenced = [], [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced or (line.startswith("    ") and not line.lstrip().startswith(("-", "|", "*"))):
            spans.append(line)
        else:
            prose.append(line)
    spans += [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", "\n".join(prose))]
    return spans


def mets_command_problems(markdown: str) -> list[str]:
    """Options a `mets ...` command line in `markdown` gives that its command does not have, and values outside
    an option's choices."""
    names, subs = "|".join(COMMANDS), "|".join(s for v in COMMANDS.values() for s in v)
    problems = []
    for span in code_spans(markdown):
        for segment in re.split(rf"(?=\bmets (?:{names})\b)", span):
            m = re.match(rf"mets ({names})\b(?: ({subs})\b)?", segment)
            if not m:
                continue
            words = tuple(w for w in m.groups() if w)
            text = help_text(*words)
            for option, value in re.findall(r"(--[a-z][a-z0-9-]*)(?:[ =]([^\s\[\]()`|,;]+))?", segment):
                if not re.search(rf"{re.escape(option)}\b", text):
                    problems.append(f"`{segment.strip()}`: mets {' '.join(words)} has no {option}")
                    continue
                choices = re.search(rf"{re.escape(option)} \{{([^}}]*)\}}", text)
                if choices and value and not value.startswith(("{", "-")) \
                        and value not in choices.group(1).split(","):
                    problems.append(f"`{segment.strip()}`: {option} {value} is none of {{{choices.group(1)}}}")
    return problems


def missing_file_problems(markdown: str, doc: Path) -> list[str]:
    """Repository files named in code spans and relative links that do not exist."""
    problems = []
    for span in code_spans(markdown):
        for token in span.split():
            path = token.strip("'\"(),;:").split("::")[0]
            if path.startswith(REPO_FOLDERS) and "/" in path and path.endswith(FILE_SUFFIXES) \
                    and not any(c in path for c in "*<>{}") and not (ROOT / path).exists():
                problems.append(f"{path} does not exist")
    for target in re.findall(r"\]\(([^)\s]+)\)", markdown):
        if not target.startswith(("http://", "https://", "#", "mailto:")) \
                and not (doc.parent / target.split("#")[0]).exists():
            problems.append(f"link to {target}: no such file")
    return problems


def test_the_table_of_commands_is_the_one_mets_help_lists():
    shown = set(re.findall(r"^    ([a-z-]+)\s", help_text(), re.M))
    assert shown == set(COMMANDS), shown ^ set(COMMANDS)
    for command, subcommands in COMMANDS.items():
        if subcommands:
            assert set(re.findall(r"^    ([a-z-]+)\s", help_text(command), re.M)) == set(subcommands)


@pytest.mark.parametrize("doc", DOCS)
def test_every_mets_command_line_in_the_docs_uses_options_the_command_has(doc):
    assert mets_command_problems((ROOT / doc).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_file_the_docs_name_exists(doc):
    path = ROOT / doc
    assert missing_file_problems(path.read_text(encoding="utf-8"), path) == []


def test_the_checks_find_a_wrong_option_a_wrong_choice_and_a_missing_file():
    made_up = ("Run `mets rank REC --prompt x --threshold 0.5`, then\n\n"
               "    mets evaluate --protocol mets --folds 9 --protocol paper-auc\n\n"
               "and `mets ptbxl text-check --data-dir DIR\n--reports german`; see `benchmarks/no_such_bench.py` "
               "and [the card](no_such_card.md).\n")
    assert mets_command_problems(made_up) == [
        "`mets evaluate --protocol mets --folds 9 --protocol paper-auc`: --protocol paper-auc is none of "
        "{mets,ptbxl-auc,mitbih}",
        "`mets rank REC --prompt x --threshold 0.5`: mets rank has no --threshold",
        "`mets ptbxl text-check --data-dir DIR --reports german`: --reports german is none of "
        "{original,translated,cleaned}",
    ]
    assert missing_file_problems(made_up, ROOT / "README.md") == [
        "benchmarks/no_such_bench.py does not exist", "link to no_such_card.md: no such file"]
