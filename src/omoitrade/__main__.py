"""``python -m omoitrade`` is the ``omoitrade`` command."""

from omoitrade.cli import main

main()
