"""The engine's `mets` commands: `mets rank`, `mets retrieve`, `mets embed`, `mets info`.

One module per command (``rank``, ``retrieve``, ``embed``, ``info``), each with ``register(subparsers)``
and its ``cmd_*(args) -> exit code``; what they share lives in small modules:

* ``errors``         how a command reports a problem: one ``mets: WHAT: why`` line on stderr, exit codes;
* ``options``        the options every dataset command takes (RECORD..., --out, --resume, --model, ...);
* ``records``        RECORD arguments -> record files (folders, globs, @lists, RECORDS), before the model loads;
* ``read_ahead``     the pool of processes reading (and preprocessing) records ahead of the encoder;
* ``model_loading``  the model and what it wants read, with the CLI's error handling;
* ``output``         --out files (.csv, .jsonl, .parquet), one row per record, and --resume;
* ``dataset``        a dataset run: start reading, score in batches, write rows, progress, the answer.

Exit codes: 0 all records answered; 1 some record could not be found or read (each one is one stderr line
and never stops the run); 2 the model, index or output file cannot be used, or a usage error; 130 interrupted
(Ctrl-C; 143 for SIGTERM: the rows written so far are kept, one line says how many and that --resume goes on);
141 the reader of the output went away (`mets info | head -2`: no traceback, nothing more written). Scores are
similarities, not diagnoses.

Nothing here is imported by ``mets --help``: `mets_core.cli` names the module of each command, and every
module imports only the standard library at import time (torch, the readers and pandas load when a command
runs).
"""
