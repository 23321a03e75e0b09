"""The FastAPI application factory (``uvicorn omoitrade.api.app:create_app --factory``)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request

from omoitrade.api import market_data
from omoitrade.api.problems import install_problem_handlers
from omoitrade.config import Settings
from omoitrade.runtime.paper import PaperMarket
from omoitrade.store import Database
from omoitrade.store.migrate import current_revision, head_revision


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    market: PaperMarket | None = None,
) -> FastAPI:
    """Build the API for ``settings`` (read from the environment by default).

    ``market`` is the running paper market whose data the market-data routes serve.
    """
    settings = settings or Settings()
    database = database or Database(settings.resolved_database_url())
    app = FastAPI(title="OmoiTrade", version=version("omoitrade"), docs_url="/api/docs")
    app.state.database = database
    app.state.market = market
    install_problem_handlers(app)
    app.include_router(market_data.router)

    @app.get("/api/v1/health", tags=["system"])
    def health(request: Request) -> dict[str, Any]:
        """Liveness and the database's schema revision against the code's."""
        db: Database = request.app.state.database
        revision = current_revision(db.engine)
        head = head_revision()
        return {
            "status": "ok" if revision == head else "degraded",
            "version": app.version,
            "database": {"dialect": db.dialect, "revision": revision, "head": head},
        }

    return app
