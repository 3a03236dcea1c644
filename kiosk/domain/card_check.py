"""What the kiosk does with the card check's result, and how the card was opened.

The offline check (kiosk.card.authenticity) answers genuine / not verifiable / tampered.
A tampered card is always refused. A card that cannot be verified (no J-LIS CA key
configured, or none that matches) follows the ward's policy, `[card] unverifiable`:

- ``accept_and_flag`` (default): the visit goes on and the application carries
  ``authenticity = "not_verifiable"``; the counter console flags it, so the clerk looks at
  the card itself;
- ``refuse``: the resident is sent to staff (or the keyboard path) as for a tampered card.
"""

from __future__ import annotations

from enum import StrEnum

from kiosk.domain.application import Authenticity


class UnverifiablePolicy(StrEnum):
    ACCEPT_AND_FLAG = "accept_and_flag"
    REFUSE = "refuse"


def accepted(authenticity: Authenticity, policy: UnverifiablePolicy) -> bool:
    """Whether the card's data may fill the form."""
    if authenticity is Authenticity.TAMPERED:
        return False
    if authenticity is Authenticity.NOT_VERIFIABLE:
        return policy is UnverifiablePolicy.ACCEPT_AND_FLAG
    return True


def flagged(authenticity: Authenticity | None) -> bool:
    """Whether the counter must look at the card itself (anything short of genuine)."""
    return authenticity is not None and authenticity is not Authenticity.GENUINE
