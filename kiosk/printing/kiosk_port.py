"""The printer as the kiosk app sees it (the `TicketPrinter` port of kiosk.ui.ports).

The app hands over the ticket the desk issued; this makes the slip, prints it and
answers None, or the Japanese msgid to show beside the number on screen — the ticket
stays valid either way. A routed visit (a life event) prints two slips: the ticket with
its route, then the 手続き案内票 (kiosk.printing.guide).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from kiosk.domain.catalog import Catalog, Procedure, Ward
from kiosk.domain.session import Ticket
from kiosk.domain.visit import RoutedRequest
from kiosk.printing.device import Printer, PrintError
from kiosk.printing.guide import HERE, GuideEntry, GuideSlip
from kiosk.printing.slip import RouteStop, TicketSlip, counter_group, slip_for


class KioskTicketPrinter:
    def __init__(self, printer: Printer, clock: Callable[[], datetime] = datetime.now) -> None:
        self.printer = printer
        self.clock = clock

    def can_print(self) -> bool:
        """Ask before issuing: False when a ticket would not come out now."""
        return self.printer.can_print()

    def print_ticket(self, ticket: Ticket, procedure: Procedure, ward: Ward,
                     language: str = "ja") -> str | None:
        slip = slip_for(ticket, procedure, ward, issued_at=self.clock(), language=language)
        return self._print(slip)

    def print_visit(self, ticket: Ticket, request: RoutedRequest | RoutedPrint,
                    event_name: str, catalog: Catalog, ward: Ward,
                    language: str = "ja") -> str | None:
        """A routed visit: the ticket with its route, then the guide slip. The first
        problem is the answer (the guide is not tried when the ticket failed)."""
        visit = request if isinstance(request, RoutedPrint) else RoutedPrint.of(
            catalog, event_name, request)
        now = self.clock()
        ticket_slip, guide_slip = visit.slips(ticket, ward, issued_at=now, language=language)
        return self._print(ticket_slip) or self._print(guide_slip)

    def _print(self, slip: TicketSlip | GuideSlip) -> str | None:
        try:
            self.printer.print_ticket(slip)
        except PrintError as exc:   # already logged by the adapter, with the cause
            return exc.message
        return None

    def close(self) -> None:
        self.printer.close()


class RoutedPrint:
    """What the two slips of a routed visit need, taken from the domain's plan:
    the event's name, the route's stages (service, procedures) and the guide items
    (name, place, office, bring, url) — plain values, so this module stays independent
    of how the domain spells its classes."""

    def __init__(self, catalog: Catalog, event_name: str,
                 stages: Sequence[tuple[str, Sequence[str]]],
                 guide: Sequence[GuideEntry]) -> None:
        self.catalog = catalog
        self.event_name = event_name
        self.stages = [(service, tuple(procs)) for service, procs in stages]
        self.guide = tuple(guide)

    @classmethod
    def of(cls, catalog: Catalog, event_name: str, request: RoutedRequest) -> RoutedPrint:
        """From the domain's routed request (kiosk.domain.visit)."""
        guide = [GuideEntry(g.name, g.place.value, g.bring, g.office, g.url,
                            procedure=g.procedure, note=g.note) for g in request.guide]
        return cls(catalog, event_name, [(s.service, s.procedures) for s in request.route],
                   guide)

    def route(self, ward: Ward) -> tuple[RouteStop, ...]:
        return tuple(
            RouteStop(seq=i, service_name=self.catalog.service(service).name,
                      prefix=self.catalog.service(service).prefix,
                      counter_group=counter_group(ward, service))
            for i, (service, _) in enumerate(self.stages, 1))

    def entries(self, ward: Ward) -> tuple[GuideEntry, ...]:
        """The guide items, those done here with the stage (and counters) that does them."""
        stage_of = {proc: (i, service) for i, (service, procs) in enumerate(self.stages, 1)
                    for proc in procs}
        out = []
        for entry in self.guide:
            if entry.place == HERE and entry.procedure in stage_of and entry.stage is None:
                seq, service = stage_of[entry.procedure]
                entry = replace(entry, stage=seq, counter=counter_group(ward, service))
            out.append(entry)
        return tuple(out)

    def slips(self, ticket: Ticket, ward: Ward, *, issued_at: datetime,
              language: str = "ja") -> tuple[TicketSlip, GuideSlip]:
        route = self.route(ward)
        first = self.stages[0][0] if self.stages else ticket.service
        ticket_slip = TicketSlip(
            ward_name=ward.name, procedure_name=self.event_name, number=ticket.number,
            counter_group=counter_group(ward, first), issued_at=issued_at,
            people_ahead=ticket.people_ahead, wait_minutes=ticket.wait_minutes,
            status_url=ticket.status_url or "", language=language, route=route)
        guide_slip = GuideSlip(
            ward_name=ward.name, event_name=self.event_name, number=ticket.number,
            issued_at=issued_at, entries=self.entries(ward),
            status_url=ticket.status_url or "", language=language)
        return ticket_slip, guide_slip
