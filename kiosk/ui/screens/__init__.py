"""The resident screens, one per session step (each a .py + a .kv)."""

from kiosk.ui.screens.card import CardScreen
from kiosk.ui.screens.cashless import CashlessScreen
from kiosk.ui.screens.check_in import CheckInScreen
from kiosk.ui.screens.code_b import CodeBScreen
from kiosk.ui.screens.confirm import ConfirmScreen
from kiosk.ui.screens.entry import EntryScreen
from kiosk.ui.screens.event import EventScreen
from kiosk.ui.screens.identity import IdentityScreen
from kiosk.ui.screens.payment import PaymentScreen
from kiosk.ui.screens.pin import PinScreen
from kiosk.ui.screens.plan import PlanScreen
from kiosk.ui.screens.procedure import ProcedureScreen
from kiosk.ui.screens.question import QuestionScreen
from kiosk.ui.screens.thanks import ThanksScreen
from kiosk.ui.screens.ticket import TicketScreen
from kiosk.ui.screens.wait import IssuingScreen, WaitScreen
from kiosk.ui.screens.welcome import WelcomeScreen

SCREENS = (WelcomeScreen, CheckInScreen, ProcedureScreen, EventScreen, QuestionScreen,
           PlanScreen, IdentityScreen, CardScreen, PinScreen, CodeBScreen,
           WaitScreen, EntryScreen, ConfirmScreen, PaymentScreen, CashlessScreen,
           IssuingScreen, TicketScreen, ThanksScreen)

__all__ = ["SCREENS"]
