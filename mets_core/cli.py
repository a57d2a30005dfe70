"""`mets` command line. Each command module exposes `register(subparsers)`; this file only dispatches.

The engine's own commands (rank, retrieve, embed, info, download) are listed below. Other packages add
commands as plug-ins: a table like COMMANDS registered in the entry point group `mets.commands`
(pyproject.toml). The trainer (`mets_train`: train, evaluate, corpus, ptbxl, export) is one; the engine
never imports it by module, it only reads the tables the group names.

Fast start: `mets --help`, `mets` alone and an unknown command are answered from the tables without
importing any command module (several import torch); a command imports only the modules that register it.
"""
from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from functools import lru_cache
from importlib import import_module

PLUGIN_GROUP = "mets.commands"
# The plug-in this repository ships. Read from the entry point group; when the group is empty (an install
# made before the plug-in existed, or a source tree on PYTHONPATH) it is looked up by this name if present.
BUNDLED_PLUGIN = "mets_train.commands:COMMANDS"
# What to say when one of the trainer's commands is asked for without the trainer installed.
TRAINER_COMMANDS = ("train", "evaluate", "corpus", "ptbxl", "export")

# command -> (one-line help shown by `mets --help`, modules to import for it). tests/test_cli_dataset.py checks
# that the tables list exactly the commands the modules register, with the same help.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rank": ("rank free-text prompts by similarity to each ECG record", ("mets_core.commands.rank",)),
    "retrieve": ("nearest reports of the index to each ECG record", ("mets_core.commands.retrieve",)),
    "embed": ("write the ECG embeddings of records (.npz or .parquet) for your own classifiers",
              ("mets_core.commands.embed",)),
    "info": ("the model, its text encoder and its training data", ("mets_core.commands.info",)),
    "download": ("download PhysioNet databases (resumable, SHA256-verified)", ("mets_core.download",)),
}

DESCRIPTION = "METS zero-shot ECG reading (similarities between ECGs and text, not diagnoses)"
DISTRIBUTION = "mets-ecg"       # the package name in pyproject.toml, whose metadata holds the version


def version() -> str:
    """The installed package's version (from its metadata), or a note that it is not installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version
    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (the mets-ecg package is not installed: pip install -e .)"


class _VersionAction(argparse.Action):
    """`mets --version`: looks the version up only when asked (the package metadata scan costs start-up time)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {version()}")
        parser.exit()


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_VersionAction, help="show the version of mets and exit")


def _load_table(reference: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    module, _, attr = reference.partition(":")
    return dict(getattr(import_module(module), attr or "COMMANDS"))


@lru_cache(maxsize=1)
def plugin_commands() -> dict[str, tuple[str, tuple[str, ...]]]:
    """The commands the installed plug-ins add (entry point group `mets.commands`), engine commands first."""
    from importlib.metadata import entry_points
    references = [ep.value for ep in entry_points(group=PLUGIN_GROUP)] or [BUNDLED_PLUGIN]
    table: dict[str, tuple[str, tuple[str, ...]]] = {}
    for reference in dict.fromkeys(references):
        module = reference.partition(":")[0]
        try:
            found = _load_table(reference)
        except ModuleNotFoundError as err:
            # the plug-in is not installed (or an old install still lists it): its commands are absent. Any
            # other import error is a bug in the plug-in and is raised.
            if err.name is None or not (module == err.name or module.startswith(err.name + ".")):
                raise
            continue
        table.update({name: entry for name, entry in found.items() if name not in COMMANDS})
    return table


def all_commands() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {**COMMANDS, **plugin_commands()}


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviated options: by default it reads `--prompts` as the only option it begins,
    `--prompts-file`, and a mistyped option silently means another one. Sub-command parsers are of this class
    too (``add_subparsers`` makes them of the parent's class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        # a command's parser refuses what it does not take itself: argparse hands the leftovers up to `mets`,
        # whose error showed the list of commands instead of the usage of the command that was typed
        # (`mets info weights/` said "usage: mets [-h] [--version] COMMAND ...")
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and self.prog != "mets":
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def add_subparsers(self, **kwargs):
        # `mets COMMAND --help` opens with what the command does: a command (an engine's or a plug-in's) registered
        # with its one-line help only had none (`mets evaluate --help` went from the usage to the options)
        action = super().add_subparsers(**kwargs)
        add_parser = action.add_parser

        def add_described(name, **options):
            if options.get("help") and not options.get("description"):
                options["description"] = as_sentence(options["help"])
            return add_parser(name, **options)

        action.add_parser = add_described
        return action


def as_sentence(text: str) -> str:
    """A one-line help ("zero-shot evaluation on ...") as a description: capitalised, ending with a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?", ")")) else ".")


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser (every command module), or one with only ``modules`` registered."""
    parser = _Parser(prog="mets", description=DESCRIPTION)
    _add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    every = list(dict.fromkeys(m for _, mods in all_commands().values() for m in mods))
    for mod in (every if modules is None else [m for m in every if m in modules]):
        import_module(mod).register(sub)
    return parser


def _overview_parser() -> argparse.ArgumentParser:
    """Commands and their help from the tables, without importing them."""
    parser = _Parser(prog="mets", description=DESCRIPTION, epilog="`mets COMMAND --help` for a command's options")
    _add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, _) in all_commands().items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    whole_process = argv is None        # the `mets` process itself, not a call with argv (tests): see _stopped
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    table = all_commands()
    if command in TRAINER_COMMANDS and command not in table:
        print(f"mets {command}: this command comes with the METS trainer (the mets_train package: training, "
              f"corpus, PTB-XL recipe and protocols, export), which is not installed here. Install the "
              f"repository with `pip install -e .` (or `bash scripts/setup.sh`) from a clone of it.",
              file=sys.stderr)
        return 2
    if command not in table:
        _overview_parser().parse_args(argv)     # prints help, or the usage error; exits
        return 2                                # pragma: no cover - parse_args exits above
    args = build_parser(list(table[command][1])).parse_args(argv)
    from .commands.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED
    previous = signal.signal(signal.SIGTERM, _interrupt) if _in_main_thread() else None
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader of our output went away (`mets info | head -2`): stop quietly; 128 + SIGPIPE, as a shell
        # reports a process that SIGPIPE ended
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except OSError as err:
        # the disk filled up under `mets rank DATA/ --json > results.json` (or --out): one line, not a traceback
        if err.errno not in DISK_FULL:
            raise
        _stdout_to_devnull()
        print(f"mets: {args.command}: the disk is full ({err.strerror}); free some space and run the command "
              f"again", file=sys.stderr)
        from .commands.errors import EXIT_SETUP_ERROR
        return EXIT_SETUP_ERROR
    except KeyboardInterrupt as err:
        # a command that writes rows says what it kept (commands/dataset.py) and exits itself; the others stop
        # here with one line instead of a traceback
        print("mets: interrupted", file=sys.stderr)
        return _stopped(getattr(err, "exit_code", EXIT_INTERRUPTED), whole_process=whole_process)
    except SystemExit as done:
        if done.code in INTERRUPT_CODES:                     # commands/dataset.py said what it kept
            return _stopped(done.code, whole_process=whole_process)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


INTERRUPT_CODES = (128 + signal.SIGINT, 128 + signal.SIGTERM)
DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}      # no space left; the user's quota reached


def _stdout_to_devnull() -> None:
    """Python flushes stdout again at exit, and would fail once more on a reader gone or a full disk: stdout is
    pointed at devnull first (the recipe of the signal module's documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _stopped(code: int, whole_process: bool) -> int:
    """The exit status of an interrupted command. When this is the `mets` process itself (`main()` without
    argv: the console script, `python -m mets_core.cli`), it ends now, its output flushed: Python's own exit
    waits on the reader pool's threads, and a reader process terminated mid-record can leave one of them
    blocked for ever (seen once in about ten interrupts under load: tests/test_cli_review31.py). The rows
    written are closed by then (commands/dataset.py). Called in-process with argv (tests), it only returns."""
    if whole_process:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


class Interrupted(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (rows kept, reader processes ended), exiting 128 + its number."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.exit_code = 128 + signum


def _interrupt(signum, frame) -> None:
    raise Interrupted(signum)


def _in_main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
