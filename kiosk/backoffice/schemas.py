"""Response models of the HTTP API: the OpenAPI document describes every answer, and each
answer must have exactly the fields listed here, so a column or key added later to what the
engine returns cannot reach a caller unnoticed. Timestamps are ISO 8601 strings as the engine
formats them (kiosk.backoffice.clock.iso); keys a caller's audience does not get are left
unset, and the routes answer with `response_model_exclude_unset` there.

Over 400 lines: every response model is in this one module (the developers' guide asks for
it here); it splits by resource when api.py does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    """A response: a key the engine returns that is not listed here is refused (the test
    servers answer 500 and the tests fail) instead of being passed through."""
    model_config = ConfigDict(extra="forbid")


class Health(Out):
    status: str
    database: str
    version: str


# --- auth, catalog, devices ----------------------------------------------------------------

class SignedIn(Out):
    token: str
    username: str
    role: str
    ward: str | None
    expires_at: str | None


class Me(Out):
    """A staff member (kind, username, role, ward) or a device (kind, device_id, name,
    device_kind, ward)."""
    kind: str
    username: str | None = None
    role: str | None = None
    device_id: int | None = None
    name: str | None = None
    device_kind: str | None = None
    ward: str | None = None


class CatalogService(Out):
    code: str
    prefix: str
    name: str
    target_wait_minutes: int
    default_service_minutes: int | float


class CatalogCounter(Out):
    number: int
    name: str
    services: list[str]


class CatalogWard(Out):
    code: str
    name: str
    city: str | None
    postcode: str | None
    services: list[str]
    opens: str
    closes: str
    weekdays: list[int]
    counters: list[CatalogCounter]


class Catalog(Out):
    version: str
    services: list[CatalogService]
    wards: list[CatalogWard]
    procedures: list[dict[str, Any]]  # the procedure catalog's own fields (catalog_json)


class WardHours(Out):
    code: str
    name: str
    open_now: bool
    opens: str
    closes: str
    weekdays: list[int]


class DeviceWard(CatalogWard):
    open_now: bool
    state: str


class DeviceConfig(Out):
    version: str
    server_time: str
    timezone: str
    public_url: str
    ward: DeviceWard
    services: list[CatalogService]
    procedures: list[dict[str, Any]]


class HeartbeatAck(Out):
    server_time: str
    config_version: str


class Device(Out):
    id: int
    name: str
    kind: str
    ward: str | None
    active: bool
    last_seen: str | None
    status: str | None
    heartbeat: dict[str, Any] | None


class WardState(Out):
    ward: str
    state: str
    open_now: bool


class CounterState(Out):
    ward: str
    number: int
    open: bool


# --- tickets ---------------------------------------------------------------------------------

class Stage(Out):
    """One stage of a routed visit (engine.shapes.route_json)."""
    seq: int
    service: str
    service_name: str
    procedures: list[str]
    status: Literal["waiting", "called", "serving", "done", "skipped"]
    counter: int | None


class GuideItem(Out):
    """One line of the 手続き案内票: non-personal msgids, where it is done, what to bring."""
    name: str
    place: Literal["here", "other", "online"]
    office: str | None = None
    bring: list[str] = []
    url: str | None = None
    service: str | None = None


class Ticket(Out):
    """A ticket as its issuer and the counter see it (engine.shapes.ticket_json); GET
    /tickets/{id} adds the application, its purge, the event count and allowed actions."""
    id: int
    number: str
    ward: str
    service: str
    service_name: str
    procedure: str | None
    priority: str
    language: str
    status: str
    position: int | None
    people_ahead: int
    estimated_wait_seconds: int
    # the range shown with it ([low, high] seconds) when the served estimate gives one
    estimated_wait_range: list[int] | None = None
    fee_yen: int | None
    payment_status: str | None
    counter: int | None
    recall_count: int
    status_token: str
    status_url: str
    issued_at: str | None
    called_at: str | None
    started_at: str | None
    completed_at: str | None
    offline: bool
    route: list[Stage] | None = None     # a routed visit's stages (issue #17)
    stage: int | None = None             # the current stage's seq


class FormLink(Out):
    procedure: str
    name: str
    url: str


class InterviewTicket(Ticket):
    """An interview's routed ticket and its forms to print for signature (form.pdf)."""
    forms: list[FormLink]


class LifeEventSummary(Out):
    code: str
    name: str
    description: str
    questions: int


class InterviewOption(Out):
    value: str
    label: str


class InterviewQuestion(Out):
    key: str
    text: str
    hint: str
    options: list[InterviewOption]


class CodeName(Out):
    code: str
    name: str


class InterviewField(Out):
    key: str
    label: str
    kind: str
    required: bool
    choices: list[str]
    default: Any = None
    source: str


class RouteStageIn(Out):
    service: str
    procedures: list[str]


class Interview(Out):
    """The next question, or the derived list with its route, guide and fields to type."""
    event: str
    event_name: str
    question: InterviewQuestion | None
    procedures: list[CodeName]
    available: list[CodeName]
    route: list[RouteStageIn]
    guide: list[GuideItem]
    fields: list[InterviewField]


class Purged(Out):
    at: str | None
    reason: str | None


class TicketWithApplication(Ticket):
    application: dict[str, Any] | None
    # A routed visit: the applications of the CURRENT stage only (what its clerk needs).
    applications: list[dict[str, Any]] | None = None
    application_purged: Purged | None
    events: int
    allowed_actions: list[str]


class BatchResult(Out):
    """One item's answer: its status and the ticket, or its status and the error."""
    status: int
    ticket: Ticket | None = None
    error: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None


class BatchResults(Out):
    results: list[BatchResult]


class TicketEvent(Out):
    id: int
    type: str
    at: str | None
    actor: str | None
    device: int | None
    counter: int | None
    data: dict[str, Any]


class NumberBlock(Out):
    block_id: int
    ward: str
    service: str
    prefix: str
    day: str
    first: int
    last: int
    numbers: list[str]


class PhoneStatus(Out):
    number: str
    ward: str
    ward_name: str
    service: str
    service_name: str
    status: str
    position: int | None
    people_ahead: int
    estimated_wait_seconds: int
    estimated_wait_range: list[int] | None = None
    counter: int | None
    issued_at: str | None
    called_at: str | None
    language: str
    route: list[Stage] | None = None
    stage: int | None = None
    guide: list[GuideItem] | None = None


# --- queue views -----------------------------------------------------------------------------

class ServiceEstimate(Out):
    code: str
    waiting_count: int
    estimated_wait_seconds: int
    open_counters: int
    mean_service_seconds: int
    level: str


class Estimates(Out):
    ward: str
    name: str
    open_now: bool
    services: list[ServiceEstimate]


class Waiting(Out):
    id: int
    number: str
    priority: str
    status: str
    position: int
    waited_seconds: int
    estimated_wait_seconds: int
    offline: bool


class QueueService(Out):
    """Staff get every key; a display or kiosk the counts only (audience.py)."""
    code: str
    prefix: str
    name: str
    waiting_count: int
    estimated_wait_seconds: int
    mean_service_seconds: int | None = None
    open_counters: int
    target_wait_seconds: int | None = None
    waiting: list[Waiting] | None = None


class Held(Out):
    id: int
    number: str
    service: str


class NoShow(Held):
    called_at: str | None


class Serving(Out):
    id: int | None = None
    number: str
    service: str
    status: str
    called_at: str | None
    started_at: str | None = None
    recall_count: int


class Counter(Out):
    number: int
    name: str
    services: list[str]
    open: bool
    current: Serving | None


class RecentCall(Out):
    number: str
    counter: int | None
    service: str
    called_at: str | None


class QueueView(Out):
    """The ward's queue; held and no-show lists for staff only (audience.py)."""
    ward: str
    name: str
    open_now: bool
    generated_at: str | None
    last_event_id: int
    services: list[QueueService]
    held: list[Held] | None = None
    no_show: list[NoShow] | None = None
    counters: list[Counter]
    recent_calls: list[RecentCall]


class FloorRequest(Out):
    """A kiosk's "ask staff" for the floor staff (案内係): which kiosk, where, when, and
    who took it. Nothing about the resident."""
    id: int
    ward: str
    kiosk: str                 # the kiosk's device name
    place: str                 # where it stands ("1階 正面入口"), as the kiosk says
    reason: Literal["ask_staff", "keypad"]
    created_at: str
    taken_by: str | None
    taken_at: str | None


class FloorRequests(Out):
    ward: str
    open: list[FloorRequest]
    taken: list[FloorRequest]   # the last ones taken (the last hour), newest first
