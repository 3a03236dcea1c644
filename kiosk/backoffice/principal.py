"""Who is calling, as the engine sees it: a staff account or a device, its ward and role;
and rules naming which callers an operation admits. No HTTP here (auth.py signs callers in
and turns these rules into route dependencies)."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.backoffice.engine.errors import forbidden

# staff < supervisor < admin: each may do what the ones before it may. `central` (本庁) is
# outside that ladder: it sees every ward's figures on /central and nothing else — no
# tickets, no calling, no personal data. A city-wide admin (no ward) may look too.
ROLES = ("staff", "supervisor", "admin", "central")
LADDER = ("staff", "supervisor", "admin")
DEVICE_KINDS = ("kiosk", "display")   # the devices a rule admits unless it names others
# A payment terminal with a token of its own: it may only report its health (heartbeat);
# every other rule refuses it, as none names it.
TERMINAL = "terminal"
ENROLLED_KINDS = (*DEVICE_KINDS, TERMINAL)


@dataclass(frozen=True)
class Principal:
    kind: str                      # "staff" | "device"
    ward: str | None               # None = city-wide
    username: str | None = None
    role: str | None = None
    staff_id: int | None = None
    device_id: int | None = None
    device_kind: str | None = None
    device_name: str | None = None

    def may_see_ward(self, code: str) -> bool:
        return self.ward is None or self.ward == code

    def has_role(self, role: str) -> bool:
        if role == "central":  # every ward's figures: a ward's own admin is not city-wide
            return self.role == "central" or (self.role == "admin" and self.ward is None)
        if self.role not in LADDER or role not in LADDER:
            return False
        return LADDER.index(self.role) >= LADDER.index(role)

    def check_ward(self, code: str) -> None:
        if not self.may_see_ward(code):
            raise forbidden(f"this {'account' if self.kind == 'staff' else 'device'} "
                            f"belongs to ward {self.ward!r}, not {code!r}")

    def public(self) -> dict[str, object]:
        if self.kind == "staff":
            return {"kind": "staff", "username": self.username, "role": self.role,
                    "ward": self.ward}
        return {"kind": "device", "device_id": self.device_id, "name": self.device_name,
                "device_kind": self.device_kind, "ward": self.ward}


@dataclass(frozen=True)
class Callers:
    """Who an operation admits: staff of at least `role` (None: no staff) or a device of
    one of `devices`. One value serves the route's dependency and the engine's own check."""

    role: str | None = "staff"
    devices: tuple[str, ...] = DEVICE_KINDS

    def admit(self, principal: Principal) -> bool:
        if principal.kind == "staff":
            return self.role is not None and principal.has_role(self.role)
        return principal.device_kind in self.devices

    def refusal(self) -> str:
        who = [f"staff with role {self.role} or higher"] if self.role else []
        who += [f"a {d} device" for d in self.devices]
        return "this needs " + " or ".join(who)
