"""The ``omoitrade`` console script: a tiny module, so that Ctrl-C is handled from the
first instant.

Importing the real application (:mod:`omoitrade.cli.app`: Typer, Rich, SQLAlchemy,
NumPy, the whole engine) takes the first seconds of every command. A Ctrl-C then would
end in Python's traceback; here it ends with one line, ``interrupted``, on stderr and
exit code 130 (128 + SIGINT, as a shell reports a process stopped by Ctrl-C). Once the
application runs, its commands handle Ctrl-C themselves (``omoitrade run`` stops
cleanly and exits 0).
"""

from __future__ import annotations

import sys

INTERRUPTED_EXIT = 130  # 128 + SIGINT


def main() -> None:
    """Import the application and run it; a Ctrl-C that reaches here is one line."""
    try:
        from omoitrade.cli.app import main as run_app

        run_app()
    except KeyboardInterrupt:
        _interrupted()


def _interrupted() -> None:
    try:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    except (OSError, KeyboardInterrupt):  # a closed stream, or a second Ctrl-C
        pass
    sys.exit(INTERRUPTED_EXIT)
