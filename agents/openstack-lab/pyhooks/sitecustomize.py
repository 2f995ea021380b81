"""Loaded by every Python process of the lab (its PYTHONPATH points here): SQLite that survives concurrent writers.

Nova's API, conductor and scheduler write the same SQLite files. With pysqlite's default (deferred) transactions
two of them can deadlock on the lock upgrade, and SQLite then answers "database is locked" at once, without
waiting (seen here: DELETE /servers/{id} -> 500). oslo.db already stops the driver's own BEGIN and emits a deferred
BEGIN per transaction; here every transaction starts with BEGIN IMMEDIATE instead (takes the write lock up front, so
writers queue on the busy timeout instead of deadlocking). Only processes started by the lab (UTTER_OSLAB_DIR
set) are touched.
"""

import os

if os.environ.get("UTTER_OSLAB_DIR"):
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:  # not the lab's venv
        pass
    else:

        @event.listens_for(Engine, "connect")
        def _utter_lab_sqlite_connect(dbapi_conn, _record):
            if type(dbapi_conn).__module__.startswith("sqlite3"):
                dbapi_conn.isolation_level = None  # no implicit BEGIN from the driver
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout = 60000")
                cur.close()

        # class-level listeners run before oslo.db's per-engine ones: ours opens the transaction and sets the
        # marker with which oslo.db's own "begin" listener skips its deferred BEGIN
        @event.listens_for(Engine, "begin")
        def _utter_lab_sqlite_begin(conn):
            if conn.dialect.name == "sqlite" and "in_transaction" not in conn.info:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.info["in_transaction"] = True

        @event.listens_for(Engine, "commit")
        @event.listens_for(Engine, "rollback")
        def _utter_lab_sqlite_end(conn):
            conn.info.pop("in_transaction", None)
