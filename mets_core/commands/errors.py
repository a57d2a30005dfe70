"""How a command reports a problem: one ``mets: WHAT: why`` line on stderr, and the exit codes."""
from __future__ import annotations

import sys

EXIT_RECORD_ERROR = 1      # a record could not be found or read (the others were answered)
EXIT_SETUP_ERROR = 2       # the model, index or output file cannot be used; a usage error
# what loading a model or an index raises when the folder cannot be used (CheckpointError, ReportIndexError,
# TextModelError are ValueErrors or RuntimeErrors; a missing or unreadable file is an OSError)
SETUP_ERRORS = (ValueError, OSError, RuntimeError)


def first_line(err: BaseException | str) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def error(what: str, err: BaseException | str) -> None:
    """``mets: WHAT: why`` on stderr, naming WHAT (a record, a file, a command) once, at the front."""
    msg = first_line(err)
    for quoted in (repr(what), f"'{what}'"):
        msg = msg.replace(f": {quoted}", "").replace(f" {quoted}", " it")
    print(f"mets: {what}: {msg}", file=sys.stderr)


def usage(message: str) -> int:
    """A usage error: ``mets: MESSAGE`` on stderr; returns the exit code (commands raise SystemExit(usage(...)))."""
    print(f"mets: {message}", file=sys.stderr)
    return EXIT_SETUP_ERROR
