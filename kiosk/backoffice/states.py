"""The ticket state machine: which counter action is legal from which state."""

from __future__ import annotations

from kiosk.backoffice.engine.errors import conflict

STATES = ("waiting", "called", "serving", "held", "no_show", "done", "cancelled")

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "call": (frozenset({"waiting", "held", "no_show"}), "called"),
    "recall": (frozenset({"called", "no_show"}), "called"),
    "start": (frozenset({"called"}), "serving"),
    "complete": (frozenset({"serving"}), "done"),
    "hold": (frozenset({"waiting", "called", "serving"}), "held"),
    "resume": (frozenset({"held"}), "waiting"),
    "transfer": (frozenset({"waiting", "called", "serving", "held"}), "waiting"),
    "no-show": (frozenset({"called"}), "no_show"),
    "cancel": (frozenset({"waiting", "held", "no_show"}), "cancelled"),
}
ACTIONS = tuple(TRANSITIONS)

EVENT_OF = {
    "call": "ticket.called", "recall": "ticket.recalled", "start": "ticket.started",
    "complete": "ticket.completed", "hold": "ticket.held", "resume": "ticket.resumed",
    "transfer": "ticket.transferred", "no-show": "ticket.no_show", "cancel": "ticket.cancelled",
}


def allowed_actions(state: str) -> list[str]:
    return [a for a, (sources, _) in TRANSITIONS.items() if state in sources]


def check_transition(label: str, state: str, action: str) -> str:
    """The state `action` leads to from `state`, or a 409 saying why it is refused."""
    sources, target = TRANSITIONS[action]
    if state not in sources:
        allowed = allowed_actions(state)
        raise conflict(
            "illegal_transition",
            f"{label} is {state}; {action} needs {' or '.join(sorted(sources))}"
            + (f" (possible now: {', '.join(allowed)})" if allowed else " (it is finished)"),
            status=state, action=action, allowed=allowed)
    return target
