"""How a command reports a problem: one ``mets: WHAT: why`` line on stderr, and the exit codes.

The readers phrase their hints for the Python API ("pass lead_names=[...] to read_ecg", "pass fs=500", the
dashboard's "upload them together"); `message` is the one place that says the same on the command line
("add --lead-names II,V5", "add --fs HZ, its sampling rate", "name the record instead").
"""
from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

from ..checkpoint import WEIGHTS_ENV
from ..ecg import API_POINTER

EXIT_RECORD_ERROR = 1      # a record could not be found or read (the others were answered)
EXIT_SETUP_ERROR = 2       # the model, index or output file cannot be used; a usage error
EXIT_INTERRUPTED = 128 + signal.SIGINT                     # Ctrl-C, as a shell reports it (SIGTERM: 128 + 15)
EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)    # the reader of the output went away (`| head`)
# what loading a model or an index raises when the folder cannot be used (CheckpointError, ReportIndexError,
# TextModelError are ValueErrors or RuntimeErrors; a missing or unreadable file is an OSError)
SETUP_ERRORS = (ValueError, OSError, RuntimeError)

# the library's hint (a regular expression) -> the command line's; LEAD_NAMES stands for the --lead-names hint,
# which names how many channels the file holds when the error says
LEAD_NAMES = "{lead_names}"
_CLI_HINTS: tuple[tuple[str, str], ...] = (
    (r"Pass lead_names=\[\.\.\.\] to read_ecg to name the channels \(one name per recorded channel, in order\)",
     LEAD_NAMES),
    (r"pass lead_names=\[\.\.\.\] \(one per lead, in order\)", LEAD_NAMES),
    (r"or pass lead_names=\[\.\.\.\] to name the signal columns", "or " + LEAD_NAMES),
    (r"or pass lead_names=\[\.\.\.\]", "or " + LEAD_NAMES),
    # the rate is the file's own: an example number is a rate a user may paste (PTB-XL's arrays are 100 Hz)
    (r"pass fs=500 \(Hz\) to read_ecg", "add --fs HZ, its sampling rate (e.g. --fs 500)"),
    (r"or pass fs=500 to read_ecg", "or add --fs HZ, its sampling rate (e.g. --fs 500)"),
    (r"and pass fs=$", "and add --fs HZ (its sampling rate)"),
    (r"\blead_names has (\d+ names?)\b", r"--lead-names has \1"),
    (r"\bthe fs argument\b", "--fs"),
    (r"leave fs out for formats", "leave --fs out for formats"),
    (API_POINTER.pattern, ""),        # a command-line user cannot look a Python module's name up
    # no weights where the default points (pipeline.METS.from_pretrained): the command line's ways to name them
    (r"train a model and save it there \(METS\.save_pretrained\), set \$" + WEIGHTS_ENV +
     r" to a checkpoint folder, or pass one", f"give a checkpoint folder with --model DIR, or set ${WEIGHTS_ENV} to "
                                             f"one (`mets train` makes one)"),
)
# a record's annotation file (LUDB's per-lead .i ... .v6, .atr, .q1c) named alone
_ANNOTATION_ALONE = re.compile(r"; upload them together \(or in one \.zip\)$")
# "CSV file 'x.csv' has ...", "WFDB record 'x': ...", "GE MUSE XML file 'x.xml' ...", "NumPy archive 'x.npz'
# entry ...": the kind of source (any number of capitalised words: makers, formats), then its quoted name
_KIND_THEN_NAME = r"\b((?:the )?(?:[A-Z][\w/+-]* )*(?:[\w-]+ )?(?:file|record|header|archive)) {quoted}"


def first_line(err: BaseException | str) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def message(what: str, err: BaseException | str) -> str:
    """The first line of `err` for the command line, about WHAT (a record, a file, a command) named at the front
    of the line: the name not repeated, and the readers' hints in command-line options."""
    msg = first_line(err)
    said = msg
    for library, cli in _CLI_HINTS:
        msg = re.sub(library, lambda found, cli=cli: _same_case(found.group(0), found.expand(cli).replace(
            LEAD_NAMES, _lead_names_hint(err, said) if LEAD_NAMES in cli else "")), msg)
    msg = _ANNOTATION_ALONE.sub(f"; name the record instead ({Path(what).with_suffix('')}), with its header and "
                                f"signal file in the same folder", msg)
    path = Path(what)
    for name in dict.fromkeys((what, path.name, path.stem)):
        for quoted in dict.fromkeys((repr(name), f"'{name}'")):
            kind_then_name = _KIND_THEN_NAME.format(quoted=re.escape(quoted))
            msg = re.sub("^" + kind_then_name + ": ", "", msg)       # "WFDB record 'x': none of" -> "none of"
            if msg.endswith(f": {quoted}"):                         # "No such file: 'x'" -> "No such file"
                msg = msg[: -len(f": {quoted}")]
            msg = re.sub(kind_then_name,                                                    # "CSV file 'x' has"
                         lambda found: found.group(1) if found.group(1).startswith("the ") else
                         "the " + found.group(1), msg)
            if msg.startswith(quoted + ": "):                       # "'x.xml': none of" -> "none of"
                msg = msg[len(quoted) + 2:]
            if msg.startswith(quoted + " "):                        # "'x.npy' is empty" -> "the file is empty"
                msg = "the file" + msg[len(quoted):]
    return msg


def _same_case(said: str, instead: str) -> str:
    """`instead`, capitalised when the text it replaces starts a sentence ("Pass lead_names" -> "Add ...")."""
    return instead[:1].upper() + instead[1:] if said[:1].isupper() else instead


def _lead_names_hint(err: BaseException | str, msg: str) -> str:
    """'add --lead-names ...' with an example of as many standard names as the file has channels (when known)."""
    from ..ecg import STANDARD_LEADS
    channels = getattr(err, "channel_names", None)           # UnnamedLeadsError: the file's channels, in order
    counted = re.search(r"holds (\d+) leads without names", msg)
    n = len(channels) if channels else int(counted.group(1)) if counted else None
    if n is None:
        return "add --lead-names with one name per recorded channel, in order (e.g. --lead-names I,II,V1)"
    example = ",".join({1: ["II"], 2: ["II", "V5"]}.get(n) or STANDARD_LEADS[:n])   # two channels: a Holter's
    recorded = f" ({', '.join(channels)})" if channels else ""
    return (f"add --lead-names with a name for each of its {n} recorded channel{'s' * (n != 1)}{recorded}, in "
            f"order, e.g. --lead-names {example}")


def error(what: str, err: BaseException | str) -> None:
    """``mets: WHAT: why`` on stderr, naming WHAT (a record, a file, a command) once, at the front."""
    print(f"mets: {what}: {message(what, err)}", file=sys.stderr)


def usage(text: str) -> int:
    """A usage error: ``mets: TEXT`` on stderr; returns the exit code (commands raise SystemExit(usage(...)))."""
    print(f"mets: {text}", file=sys.stderr)
    return EXIT_SETUP_ERROR
