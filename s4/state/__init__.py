"""The state store: one SQL database (SQLite by default, PostgreSQL for AWX and several controllers) holding the
gather history, the release-watch decisions, POC records and published report runs (docs/STATE.md).

Entry points::

    from s4.state import open_store
    with open_store() as store:              # S4_STATE_URL, else sqlite:///<checkout>/.cache/s4/state.sqlite
        s4.history.History(store=store)      # gather runs, snapshots, components
        s4.releasewatch.store.Store(store=store)
        s4.state.poc.record_step(store, ...) # POC records (s4.state.poc)
        s4.state.reports.record_run(store, ...)

``s4.state.schema`` owns the tables; ``s4/state/migrations`` (Alembic) creates and changes them.
"""

from __future__ import annotations

from s4.state.store import (
    ENV,
    StateError,
    Store,
    checkout_root,
    default_url,
    display_url,
    dump_text,
    head_revision,
    now,
    open_store,
    resolve_url,
    sqlite_path,
    upgrade,
)

__all__ = ["ENV", "StateError", "Store", "checkout_root", "default_url", "display_url", "dump_text", "head_revision", "now",
           "open_store", "resolve_url", "sqlite_path", "upgrade"]
