"""The ``omoitrade`` console script: a tiny module, so that Ctrl-C is handled from the
first instant.

Importing the real application (:mod:`omoitrade.cli.app`: Typer, Rich, SQLAlchemy,
NumPy, the whole engine) takes the first seconds of every command. A Ctrl-C then would
end in Python's traceback; here it ends with one line, ``interrupted``, on stderr and
exit code 130 (128 + SIGINT, as a shell reports a process stopped by Ctrl-C). Once the
application runs, its commands handle Ctrl-C themselves (``omoitrade run`` stops
cleanly and exits 0).

An interrupt during the imports leaves the process by ``os._exit`` after flushing its
streams: nothing has been opened yet, and CPython would otherwise turn the exit into a
death by SIGINT when the interrupt struck inside code that a library builds with
``exec`` (dataclasses, named tuples), even though it was caught here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

INTERRUPTED_EXIT = 130  # 128 + SIGINT

_exit: Callable[[int], object] = os._exit  # how an interrupted import leaves the process


def main() -> None:
    """Import the application and run it; a Ctrl-C that reaches here is one line."""
    try:
        from omoitrade.cli.app import main as run_app
    except KeyboardInterrupt:
        _say_interrupted()
        _exit(INTERRUPTED_EXIT)
        return
    try:
        run_app()
    except KeyboardInterrupt:
        _say_interrupted()
        sys.exit(INTERRUPTED_EXIT)


def _say_interrupted() -> None:
    for stream, text in ((sys.stderr, "interrupted\n"), (sys.stdout, "")):
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError, KeyboardInterrupt):  # a closed stream, or a second Ctrl-C
            pass
