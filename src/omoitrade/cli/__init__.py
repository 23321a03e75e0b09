"""The ``omoitrade`` command line.

``main`` is the console script's entry (:mod:`omoitrade.cli.entry`): importing this
package stays light, so that a Ctrl-C during the application's imports is handled. The
application itself is ``omoitrade.cli.app.app``.
"""

from omoitrade.cli.entry import main

__all__ = ["main"]
