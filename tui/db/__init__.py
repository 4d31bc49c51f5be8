"""Access to pg_cron through psycopg (async). Nothing here imports textual."""

from tui.db import actions
from tui.db.client import Database, DatabaseError
from tui.db.connect import ConnectOptions
from tui.db.stream import RunStream

__all__ = ["ConnectOptions", "Database", "DatabaseError", "RunStream", "actions"]
