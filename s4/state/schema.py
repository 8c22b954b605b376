"""The state store's schema: the one place that defines its tables (docs/STATE.md).

SQLAlchemy Core tables, portable between SQLite and PostgreSQL. Alembic migrations (``s4/state/migrations``) create
and change them; a change here needs a new migration (``tests/unit/state/test_migrations.py`` compares the two).

Dates are ISO-8601 UTC text (``2026-11-27T08:00:00Z``): the same on both engines, sortable, what the old SQLite
files held. No column holds a secret: the writers refuse secret-looking keys (``s4.redact.is_secret_key``).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# explicit constraint names: Alembic can alter/drop them on both engines
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

TS = String(32)           # ISO-8601 UTC timestamp text
NAME = String(255)        # host, client, POC, product names (validated by s4.names where they come from tenants)

# --- store bookkeeping --------------------------------------------------------------------------------------------

#: key/value facts about the store itself (e.g. which legacy SQLite files were imported)
meta = Table(
    "s4_meta", metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- gather history -----------------------------------------------------------------------------------------------

gather_runs = Table(
    "gather_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=False),
    Column("playbook", String(255), nullable=False),
    Column("hosts_ok", Integer, nullable=False),
    Column("hosts_failed", Integer, nullable=False),
)
Index("ix_gather_runs_started", gather_runs.c.started_at)

#: one row per distinct content of a host's facts; runs point at it (deduplicated by sha256 per host)
snapshots = Table(
    "snapshots", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host", NAME, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),          # bytes of the canonical JSON before compression
    Column("data", LargeBinary, nullable=False),      # zlib(canonical JSON), volatile keys left out
    Column("created_at", TS, nullable=False),
    UniqueConstraint("host", "sha256"),
)

#: a run's result per host; ``snapshot_id`` NULL when the host failed; ``volatile_json`` holds the keys that change
#: on every gather (gathered_at, timings) so they do not defeat the dedupe
run_hosts = Table(
    "run_hosts", metadata,
    Column("run_id", Integer, ForeignKey("gather_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("host", NAME, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=True),
    Column("volatile_json", Text, nullable=True),
)
Index("ix_run_hosts_host_run", run_hosts.c.host, run_hosts.c.run_id)
Index("ix_run_hosts_snapshot", run_hosts.c.snapshot_id)

#: every tracked component per host with the first and last run that saw it (``site`` '' = host level)
components = Table(
    "components", metadata,
    Column("host", NAME, primary_key=True),
    Column("site", NAME, primary_key=True, server_default=""),
    Column("product", NAME, primary_key=True),
    Column("version", NAME, primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("first_seen_run", Integer, nullable=False),
    Column("last_seen_run", Integer, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
)
Index("ix_components_last", components.c.host, components.c.last_seen_run)

# --- release watch ------------------------------------------------------------------------------------------------

rw_announcements = Table(
    "rw_announcements", metadata,
    Column("id", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("product", NAME, nullable=False),
    Column("cycle", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("released", TS, nullable=False),
    Column("ready_on", TS, nullable=False),
    Column("decided_on", TS, nullable=False),
    Column("data_json", Text, nullable=False),
)

rw_deliveries = Table(
    "rw_deliveries", metadata,
    Column("announcement_id", String(255), ForeignKey("rw_announcements.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", NAME, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("recipients", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("message_id", String(255), nullable=True),
    Column("sent_at", TS, nullable=True),
    # the job sending this notice (status 'sending'): a random token and when it claimed it; a claim older than the
    # lease is taken over by the next job (docs/RELEASE_WATCH.md "Overlapping jobs")
    Column("claim_token", String(64), nullable=True),
    Column("claimed_at", TS, nullable=True),
    CheckConstraint("status IN ('pending', 'sending', 'sent', 'not-notified')", name="status"),
)

# --- POC records --------------------------------------------------------------------------------------------------

POC_STEPS = ("provision", "golive", "rollback", "teardown")
POC_STATUSES = ("failed", "provisioned", "live", "rolled-back", "torn-down")
POC_OUTCOMES = ("ok", "failed", "aborted")

#: the current state of each POC (one row per POC name)
poc_records = Table(
    "poc_records", metadata,
    Column("name", NAME, primary_key=True),
    Column("client", NAME, nullable=True),
    Column("vmid", Integer, nullable=True),
    Column("node", NAME, nullable=True),
    Column("source_host", NAME, nullable=True),
    Column("sites_json", Text, nullable=False, server_default="[]"),
    Column("profile", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("operator", NAME, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("provisioned_at", TS, nullable=True),
    Column("live_at", TS, nullable=True),
    Column("rolled_back_at", TS, nullable=True),
    Column("torn_down_at", TS, nullable=True),
    CheckConstraint("status IN ('failed', 'provisioned', 'live', 'rolled-back', 'torn-down')", name="status"),
)
Index("ix_poc_records_client", poc_records.c.client)

#: one row per step a job ran on a POC (what the timesheet sums)
poc_events = Table(
    "poc_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poc_name", NAME, ForeignKey("poc_records.name", ondelete="CASCADE"), nullable=False),
    Column("client", NAME, nullable=True),
    Column("step", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_after", String(16), nullable=False),
    Column("operator", NAME, nullable=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("job_id", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    CheckConstraint("step IN ('provision', 'golive', 'rollback', 'teardown')", name="step"),
    CheckConstraint("outcome IN ('ok', 'failed', 'aborted')", name="outcome"),
)
Index("ix_poc_events_client_started", poc_events.c.client, poc_events.c.started_at)
Index("ix_poc_events_poc", poc_events.c.poc_name)

HANDOVER_STATUSES = ("drafted", "sent")

#: the client handover notice of a passed POC (s4.poc.handover): one row per distinct notice content (``digest``,
#: sha256 of what the notice says), so a rerun finds what it drafted or sent and never sends the same notice twice;
#: a POC whose content changed (new address, other versions) gets a new row. No message body, no secret.
poc_handovers = Table(
    "poc_handovers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poc_name", NAME, ForeignKey("poc_records.name", ondelete="CASCADE"), nullable=False),
    Column("client", NAME, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("recipients", Text, nullable=False, server_default=""),
    Column("message_id", String(255), nullable=False),
    Column("eml", Text, nullable=True),                   # the dry run's draft file (None once sent)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("sent_at", TS, nullable=True),
    UniqueConstraint("poc_name", "digest"),
    CheckConstraint("status IN ('drafted', 'sent')", name="status"),
)
Index("ix_poc_handovers_client", poc_handovers.c.client)

# --- published reports --------------------------------------------------------------------------------------------

report_runs = Table(
    "report_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),          # eol_report | release_watch
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=False),
    Column("as_of", String(10), nullable=True),
    Column("destination", Text, nullable=True),           # host:path or directory the run published to
    Column("counts_json", Text, nullable=False, server_default="{}"),
    Column("operator", NAME, nullable=True),
    Column("job_id", String(64), nullable=True),
)
Index("ix_report_runs_kind", report_runs.c.kind, report_runs.c.id)
