"""The back-office schema (SQLAlchemy Core tables). Alembic migrations create it.

Times are stored as naive UTC. Ticket numbers are unique per ward, per *origin* service
(the queue whose letter is printed on the ticket) and per office day by a constraint; the
number itself comes from `ticket_sequences`, bumped atomically in the issuing transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# An audit-trail event whose data still holds a staff note ("note_purged" does not match).
NOTE_SQL = "data LIKE '%\"note\"%'"

# BigInteger ids autoincrement on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

wards = Table(
    "wards", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("state", String(8), nullable=False, server_default="auto"),  # auto|open|closed
)

services = Table(
    "services", metadata,
    Column("code", String(32), primary_key=True),
    Column("prefix", String(1), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
)

counters = Table(
    "counters", metadata,
    Column("ward", String(32), ForeignKey("wards.code"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("services", JSON, nullable=False),
    Column("is_open", Boolean, nullable=False, server_default="0"),
    Column("opened_at", DateTime),
)

staff = Table(
    "staff", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("ward", String(32), ForeignKey("wards.code")),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", DateTime, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default="0"),
    # Last use, written at most once a minute (idle timeout, [security] idle_minutes).
    Column("last_seen", DateTime),
    Index("ix_sessions_staff_id", "staff_id"),
)

# Sign-in throttling (auth.py): one row per (username, address) and per address, counted
# by one conditional upsert so parallel tries and several processes cannot pass the limit.
# Times are epoch seconds: the same arithmetic in SQLite and PostgreSQL.
login_attempts = Table(
    "login_attempts", metadata,
    Column("key", String(160), primary_key=True),  # "user:<address> <username>" | "addr:<address>"
    Column("tries", Integer, nullable=False),
    Column("window_start", Float, nullable=False),
    Column("blocked_until", Float, nullable=False, server_default="0"),
    Column("lockouts", Integer, nullable=False, server_default="0"),
)

# Who created, reset, disabled or re-keyed which account or device (never a secret).
account_events = Table(
    "account_events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(64)),                  # staff username; NULL: the command line
    Column("target_kind", String(8), nullable=False),  # staff | device
    Column("target", String(64), nullable=False),      # username | device name
    Column("ward", String(32)),                   # the target's ward (NULL: city-wide)
    Column("address", String(64)),                # the actor's client address
    Index("ix_account_events_ward_id", "ward", "id"),
)

devices = Table(
    "devices", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # kiosk|display
    Column("ward", String(32), ForeignKey("wards.code"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen", DateTime),
    Column("status", String(16)),
    Column("heartbeat", JSON),
)

# One-time enrolment codes (kiosk/backoffice/enrolment.py): the provisioning file carries
# the code, the kiosk trades it once for its device token. Only the code's hash is kept.
enrolment_codes = Table(
    "enrolment_codes", metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
)

# A device's health, one row per change of its state (routes/health.py): what it reported
# and what the server made of it; kept [devices] history_days. Never personal data.
device_reports = Table(
    "device_reports", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("ward", String(32), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("problems", JSON, nullable=False),     # e.g. ["printer:paper_out"]
    Column("report", JSON, nullable=False),       # the heartbeat as received
    Index("ix_device_reports_device_at", "device_id", "at"),
)

# A kiosk's "ask staff" for the floor staff (案内係): which kiosk, when, who took it.
floor_requests = Table(
    "floor_requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("ward", String(32), ForeignKey("wards.code"), nullable=False),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("place", String(40), nullable=False, server_default=""),  # e.g. "1階 正面入口"
    Column("reason", String(16), nullable=False),   # ask_staff | keypad
    Column("created_at", DateTime, nullable=False),
    Column("taken_by", String(64)),                 # the staff member's username
    Column("taken_at", DateTime),
    Index("ix_floor_requests_ward_id", "ward", "id"),
)

ticket_sequences = Table(
    "ticket_sequences", metadata,
    Column("ward", String(32), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last", Integer, nullable=False),
)

# The offline range's own counter (numbers [queue] offline_first..offline_last of a day).
block_sequences = Table(
    "block_sequences", metadata,
    Column("ward", String(32), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last", Integer, nullable=False),
)

number_blocks = Table(
    "number_blocks", metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("ward", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("first", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # The kiosk's Idempotency-Key (optional): a retried reservation returns the same block.
    Column("idempotency_key", String(128)),
    Column("request_hash", String(64)),
    Index("ux_number_blocks_device_key", "device_id", "idempotency_key", unique=True),
)

tickets = Table(
    "tickets", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ward", String(32), ForeignKey("wards.code"), nullable=False),
    Column("origin_service", String(32), nullable=False),  # whose letter is printed
    Column("service", String(32), nullable=False),         # the queue it is in now
    Column("day", Date, nullable=False),
    Column("number", Integer, nullable=False),
    Column("label", String(16), nullable=False),           # "A-012"
    Column("priority", String(16), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("language", String(8), nullable=False),
    Column("procedure", String(32)),
    Column("application", JSON(none_as_null=True)),  # None is SQL NULL, not JSON null
    Column("fee_yen", Integer, nullable=False, server_default="0"),
    Column("payment_status", String(16), nullable=False, server_default="none"),
    Column("payment", JSON),
    Column("status", String(16), nullable=False),
    Column("counter", Integer),
    Column("queue_at", DateTime, nullable=False),          # the call-order time
    Column("issued_at", DateTime, nullable=False),
    Column("called_at", DateTime),
    Column("started_at", DateTime),
    Column("completed_at", DateTime),
    Column("recall_count", Integer, nullable=False, server_default="0"),
    # The client's Idempotency-Key scoped to its sender: "d<device id>:" or "s<staff id>:"
    # + key (queue.issuer_key). SQLite does not enforce the length (migration 0410).
    Column("idempotency_key", String(160).with_variant(String(128), "sqlite"), nullable=False,
           unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_token", String(64), nullable=False, unique=True),
    Column("offline", Boolean, nullable=False, server_default="0"),
    Column("block_id", Integer, ForeignKey("number_blocks.id")),
    Column("device_id", Integer, ForeignKey("devices.id")),
    Column("staff_id", Integer, ForeignKey("staff.id")),
    # Set when the application record (personal data) was deleted (retention.py, 0300).
    Column("application_purged_at", DateTime),
    Column("application_purge_reason", String(16)),  # finished | retention
    # A routed visit (issue #17): its current stage's seq (NULL: a one-queue ticket), the
    # life event it came from and the non-personal 手続き案内票. For a routed ticket
    # `application` holds the LIST of its applications, so the purge clears them all at once.
    Column("stage", Integer),
    Column("life_event", String(32)),
    Column("guide", JSON(none_as_null=True)),
    UniqueConstraint("ward", "origin_service", "day", "number",
                     name="uq_tickets_ward_service_day_number"),
    Index("ix_tickets_queue", "ward", "service", "status", "rank", "queue_at"),
    # Partial, so that with stale statistics (a young table) the planner cannot pick them
    # for a queue count and filter every ticket of the ward; they serve the counters' current
    # tickets and the estimate's recent completions only.
    Index("ix_tickets_counter", "ward", "counter", "status",
          postgresql_where=text("counter IS NOT NULL"), sqlite_where=text("counter IS NOT NULL")),
    Index("ix_tickets_done", "ward", "service", "completed_at",
          postgresql_where=text("completed_at IS NOT NULL"),
          sqlite_where=text("completed_at IS NOT NULL")),
    # Only tickets still holding personal data: what the purge looks through.
    Index("ix_tickets_unpurged", "issued_at", "id",
          postgresql_where=text("application IS NOT NULL"),
          sqlite_where=text("application IS NOT NULL")),
)

# The ordered stages of a routed visit (engine/visits.py). The current stage's live state
# (called, serving, counter) is the ticket row's; a stage row is written when the visit
# reaches it (arrived_at) and leaves it (called/started/completed_at, counter, status).
ticket_stages = Table(
    "ticket_stages", metadata,
    Column("ticket_id", BigId, ForeignKey("tickets.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("service", String(32), nullable=False),
    Column("procedures", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # waiting|called|serving|done|skipped
    Column("counter", Integer),
    Column("arrived_at", DateTime),
    Column("called_at", DateTime),
    Column("started_at", DateTime),
    Column("completed_at", DateTime),
    # The statistics read stages by ward and completion (central.py).
    Column("ward", String(32), nullable=False),
    Index("ix_ticket_stages_ward_done", "ward", "completed_at"),
)

# Every wait estimate shown to a resident (issue #22): at issue (the kiosk's ticket) and at each
# status read whose shown minutes changed (the phone page); `actual_seconds` is written when
# the ticket is called in that queue (engine/shown.py). Numbers only, nothing personal.
ticket_estimates = Table(
    "ticket_estimates", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("ward", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("stage", Integer, nullable=False, server_default="0"),  # 0: a one-queue ticket
    Column("at", DateTime, nullable=False),
    Column("source", String(8), nullable=False),        # issue | status | stream
    Column("method", String(16), nullable=False),       # estimate.py's method name
    Column("people_ahead", Integer, nullable=False),
    Column("estimate_seconds", Integer, nullable=False),
    Column("low_seconds", Integer),                     # the range shown, if one was
    Column("high_seconds", Integer),
    Column("actual_seconds", Integer),                  # from `at` to the call
    Index("ix_ticket_estimates_ticket", "ticket_id", "stage"),
    Index("ix_ticket_estimates_ward_at", "ward", "at"),
)

# Waiting tickets per queue and rank, kept by triggers on tickets (migration 0201 on
# PostgreSQL, 0560 on SQLite) so issuing need not count a long queue.
waiting_counts = Table(
    "waiting_counts", metadata,
    Column("ward", String(32), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
)

ticket_events = Table(
    "ticket_events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id")),
    Column("ward", String(32), nullable=False),
    Column("service", String(32)),
    Column("type", String(32), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64)),        # staff username
    Column("device_id", Integer),       # kiosk/display that did it
    Column("counter", Integer),
    Column("data", Text, nullable=False),  # the event as published (JSON text)
    # PostgreSQL only (defaults of migration 0580; NULL on SQLite, whose ids commit in
    # order): the writing transaction's id, and the oldest transaction still running when
    # the row was written — what kiosk.backoffice.event_order needs because ids taken from
    # a sequence can commit out of order.
    Column("xid", BigInteger),
    Column("horizon", BigInteger),
    Index("ix_ticket_events_ward_id", "ward", "id"),
    Index("ix_ticket_events_xid", "xid", postgresql_where=text("xid IS NOT NULL"),
          sqlite_where=text("xid IS NOT NULL")),
    Index("ix_ticket_events_ticket", "ticket_id"),
    # Events still carrying a staff note (free text, may name the resident): what the
    # purge looks through for tickets that have no application record (retention.py).
    Index("ix_ticket_events_note", "ticket_id",
          postgresql_where=text(NOTE_SQL), sqlite_where=text(NOTE_SQL)),
)

# Appointments (予約, issue #19; engine/appointments.py). No name, no address: the booking
# code is the resident's key; a contact (e-mail / phone) and the client's network address
# are kept only as keyed hashes, for the limits per contact and per address.
appointments = Table(
    "appointments", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("ward", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("procedure", String(32)),
    Column("life_event", String(32)),
    Column("language", String(8), nullable=False),
    Column("day", Date, nullable=False),            # the office day of the slot
    Column("slot_at", DateTime, nullable=False),    # the slot's start (naive UTC)
    # held | booked | cancelled | expired | checked_in | late | no_show
    Column("status", String(16), nullable=False),
    Column("hold_until", DateTime),
    Column("contact_hash", String(64)),
    Column("address_hash", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("checked_in_at", DateTime),
    Column("ticket_id", BigId, ForeignKey("tickets.id")),
    Index("ix_appointments_slot", "ward", "service", "slot_at", "status"),
    Index("ix_appointments_contact", "contact_hash", "status"),
    Index("ix_appointments_address", "address_hash", "created_at"),
)

# A place in today's queue taken from home (issue #19; engine/remote.py): not a ticket until
# checked in at a kiosk, then queued at `taken_at`. No personal data: the code is the
# resident's key, the client's network address only a keyed hash (the limit per address).
remote_places = Table(
    "remote_places", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("ward", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("day", Date, nullable=False),            # the office day it was taken
    Column("taken_at", DateTime, nullable=False),   # its place in the line (naive UTC)
    Column("status", String(16), nullable=False),   # waiting | checked_in | no_show | cancelled
    Column("almost_at", DateTime),                  # when it came to "almost your turn"
    Column("checked_in_at", DateTime),
    Column("address_hash", String(64)),
    Column("ticket_id", BigId, ForeignKey("tickets.id")),
    Index("ix_remote_places_ward", "ward", "service", "day", "status"),
    Index("ix_remote_places_address", "address_hash", "day"),
)

# Appointments taken per slot (held + booked + checked in): one conditional increment per
# booking, so parallel bookings in several processes cannot pass the slot's capacity.
appointment_slots = Table(
    "appointment_slots", metadata,
    Column("ward", String(32), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("slot_at", DateTime, primary_key=True),
    Column("taken", Integer, nullable=False),
)

# Notifications (issue #19; engine/notify.py). Where to reach a resident who opted in on the
# phone page (a Web Push subscription or an e-mail address) or gave an e-mail with a booking:
# kept only while its ticket / booking lives, then deleted (notify.purge).
notify_subscriptions = Table(
    "notify_subscriptions", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ward", String(32), nullable=False),
    Column("ticket_id", BigId, ForeignKey("tickets.id")),
    Column("appointment_id", BigId, ForeignKey("appointments.id")),
    Column("remote_place_id", BigId, ForeignKey("remote_places.id")),  # a place from home
    Column("channel", String(8), nullable=False),     # push | email
    Column("target", String(1024), nullable=False),   # the push endpoint | the address
    Column("p256dh", String(100)),                    # push: the browser's public key …
    Column("auth", String(32)),                       # … and auth secret (base64url)
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_notify_subscriptions_ticket", "ticket_id"),
    Index("ix_notify_subscriptions_appointment", "appointment_id"),
    Index("ix_notify_subscriptions_place", "remote_place_id"),
)

# What is to be sent, one row per message and channel: inserted in the queue's transaction
# (or after it), delivered by the server's worker (notify_worker.py) with bounded retries.
# `data` holds only the ticket number, counter, ward, service and times; `dedupe` makes
# each notice once-only across server processes.
notify_outbox = Table(
    "notify_outbox", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscription_id", BigInteger),            # gone: the row is dropped
    Column("ward", String(32), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("kind", String(16), nullable=False),       # confirmation|reminder|ahead|called
    Column("language", String(8), nullable=False),
    Column("data", JSON, nullable=False),
    Column("dedupe", String(120), nullable=False, unique=True),
    Column("status", String(8), nullable=False),      # pending|sent|failed|dropped
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("last_error", String(200)),
    Index("ix_notify_outbox_due", "status", "next_at"),
)

# The catalog (catalog.toml + life_events.toml + the [calendar] days) as numbered versions:
# every admin change is a new row, the newest is in force in every process (issue #20,
# kiosk/backoffice/catalog_versions.py). The row is also the change's audit record.
catalog_versions = Table(
    "catalog_versions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64)),                  # staff username; NULL: the command line
    Column("ward", String(32)),                   # the ward it concerns (NULL: city-wide)
    Column("action", String(32), nullable=False),  # catalog.imported, catalog.fee, …
    Column("changes", JSON, nullable=False),      # ["procedures.juminhyo.fee_yen: 300 → 350"]
    Column("data", JSON, nullable=False),         # {"catalog", "life_events", "calendar"}
)

# The kiosk fleet (kiosk/backoffice/fleet.py): releases a city admin registered (an image
# bundle: served from [fleet] bundle_dir by its file name, or from any HTTPS url) and the
# release each ward's kiosks should run (a ward's admin chooses among published ones).
releases = Table(
    "releases", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("compatible", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("filename", String(200)),              # in [fleet] bundle_dir (served here)
    Column("url", String(500)),                   # or an https:// address elsewhere
    Column("published", Boolean, nullable=False, server_default="1"),
    Column("notes", String(500)),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(64)),
    # checked at registration: verified | unchecked (no keyring); NULL: a url's
    Column("signature", String(16)),
)

ward_releases = Table(
    "ward_releases", metadata,
    Column("ward", String(32), ForeignKey("wards.code"), primary_key=True),
    Column("version", String(64)),                # NULL: held back (no update offered)
    Column("canary_version", String(64)),         # for the devices named in `canary`
    Column("canary", JSON, nullable=False),       # device names
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", String(64)),
)
