"""Alembic environment of the state store: always run from ``s4.state.store.upgrade`` with an open connection
(``config.attributes['connection']``) whose transaction and lock the caller holds."""

from __future__ import annotations

from alembic import context

from s4.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - `alembic` CLI use is not supported: use `s4 state upgrade`
    raise SystemExit("run migrations with `s4 state upgrade` (s4.state.store.upgrade)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
