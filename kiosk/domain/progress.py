"""The step indicator: where the resident is and how many steps are left, on every
screen, for a single procedure and for a life event alike. Labels are msgids."""

from __future__ import annotations

from dataclasses import dataclass

CHOOSE = "手続きをえらぶ"
QUESTIONS = "質問に答える"
PLAN = "手続きの一覧"
IDENTITY = "本人確認"
ENTRY = "入力"
REVIEW = "内容の確認"
PAYMENT = "お支払い"
TICKET = "番号札"
LABELS = (CHOOSE, QUESTIONS, PLAN, IDENTITY, ENTRY, REVIEW, PAYMENT, TICKET)

# Session steps (kiosk.domain.session.Step values) → the label they belong to.
_OF_STEP = {
    "procedure": CHOOSE, "event": CHOOSE, "question": QUESTIONS, "plan": PLAN,
    "identity": IDENTITY, "card": IDENTITY, "pin": IDENTITY, "reading": IDENTITY,
    "entry": ENTRY, "confirm": REVIEW, "payment": PAYMENT, "cashless": PAYMENT,
    "issuing": TICKET, "ticket": TICKET, "thanks": TICKET,
}


@dataclass(frozen=True)
class Progress:
    index: int                 # 0-based position of the current step in `labels`
    total: int
    labels: tuple[str, ...]    # msgids, in order

    @property
    def current(self) -> str:
        return self.labels[self.index]

    @property
    def left(self) -> int:
        """Steps after this one."""
        return self.total - self.index - 1


def progress_of(step: str, *, life_event: bool, payment: bool,
                entry: bool) -> Progress | None:
    """The indicator for a session step (None on the welcome screen). `payment`: a fee
    is (or may be) due; `entry`: fields are typed after the identity step (a life event's
    fields no card holds, or the whole form without a card)."""
    label = _OF_STEP.get(step)
    if label is None:
        return None
    labels = [CHOOSE]
    if life_event:
        labels += [QUESTIONS, PLAN]
    labels.append(IDENTITY)
    if entry:
        labels.append(ENTRY)
    labels.append(REVIEW)
    if payment:
        labels.append(PAYMENT)
    labels.append(TICKET)
    if label not in labels:
        # Typing one field opened from the review (single path) belongs to the review.
        label = REVIEW if label == ENTRY else TICKET
    return Progress(labels.index(label), len(labels), tuple(labels))
