"""Typed errors of the card reader. Each carries a short message the kiosk can show.

`message_ja` is also the msgid for `kiosk.i18n`, so the kiosk can translate it into the
resident's language; `message_en` is the English text for logs and maintainers' tools.
No message ever contains a PIN, a 個人番号 or holder data.
"""

from __future__ import annotations


class CardError(Exception):
    """Base of every error `kiosk.card` raises."""

    log_safe = True  # messages name the failure, never a PIN, a 個人番号 or holder data

    message_ja = "カードを読み取れませんでした。職員にお声がけください。"
    message_en = "The card could not be read. Please ask a member of staff."
    exit_code = 11  # for the CLI: one code per kind of failure

    def __init__(self, detail: str = "") -> None:
        self.detail = detail  # technical detail for maintainers (English, no personal data)
        super().__init__(f"{self.message_en} ({detail})" if detail else self.message_en)

    @property
    def msgid(self) -> str:
        """The kiosk.i18n msgid: translate it, then ``.format(**self.params)``."""
        return self.message_ja

    @property
    def params(self) -> dict[str, object]:
        return {}


class ServiceUnavailable(CardError):
    """pcscd is not running (or its socket is unreachable)."""

    message_ja = "カードリーダーの準備ができていません。職員にお声がけください。"
    message_en = "The card reader service is not running. Please ask a member of staff."
    exit_code = 3


class ReaderUnavailable(CardError):
    """No reader of that name: unplugged, or misconfigured."""

    message_ja = "カードリーダーが見つかりません。職員にお声がけください。"
    message_en = "The card reader is not connected. Please ask a member of staff."
    exit_code = 4


class NoCard(CardError):
    """No card arrived before the timeout (or none is present)."""

    message_ja = "カードが置かれていません。カードをリーダーに置いてください。"
    message_en = "No card found. Please place your card on the reader."
    exit_code = 5


class Cancelled(CardError):
    """The wait for a card was cancelled (the resident went back, the session ended)."""

    message_ja = "カードの読み取りを中止しました。"
    message_en = "Card reading was cancelled."
    exit_code = 12


class CardRemoved(CardError):
    """The card left the reader during a session."""

    message_ja = "読み取り中にカードが離れました。もう一度カードを置いてください。"
    message_en = "The card was removed while reading. Please place it on the reader again."
    exit_code = 9


class CardBusy(CardError):
    """Another program holds the card (exclusive access refused)."""

    message_ja = "カードリーダーが使用中です。しばらくしてからもう一度お試しください。"
    message_en = "The card reader is busy. Please try again in a moment."
    exit_code = 13


class NotMyNumberCard(CardError):
    """The card has no 券面事項入力補助AP: not a My Number card (or an unsupported one)."""

    message_ja = "マイナンバーカードではないようです。カードをご確認ください。"
    message_en = "This does not seem to be a My Number card. Please check the card."
    exit_code = 10


class CardDataError(CardError):
    """The card answered with data we cannot parse (malformed TLV, bad field)."""

    log_safe = False  # its detail may quote what the card holds

    message_ja = "カードの情報を読み取れませんでした。職員にお声がけください。"
    message_en = "The card's data could not be read. Please ask a member of staff."
    exit_code = 10


class CardCommunicationError(CardError):
    """An unexpected status word or a PC/SC failure."""

    exit_code = 11


class InvalidPin(CardError):
    """The entered PIN is not 4 digits. Nothing was sent to the card: no try was used."""

    message_ja = "暗証番号は数字4桁で入力してください。"
    message_en = "Please enter your 4-digit PIN."
    exit_code = 2


class PinRequired(CardError):
    """Data that needs the PIN was asked for before a successful VERIFY."""

    message_ja = "暗証番号の確認が必要です。"
    message_en = "The PIN must be confirmed first."
    exit_code = 11


class WrongPin(CardError):
    """The card refused the PIN. `tries_left` tries remain (at least 1)."""

    exit_code = 6
    MSGID_AGAIN = "暗証番号が違います。あと{tries_left}回間違えるとロックされます。"
    MSGID_LAST = ("暗証番号が違います。残りが1回になったため、ここではこれ以上入力できません。"
                  "窓口でお手続きください。")

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        if tries_left > 1:
            self.message_en = (f"Wrong PIN. The card locks after {tries_left} more wrong "
                               "tries.")
        else:  # the kiosk never uses the last try
            self.message_en = ("Wrong PIN. Only one try is left, so the kiosk will not ask "
                               "again. Please go to the counter.")
        self.message_ja = self.msgid.format(**self.params)
        super().__init__(f"tries left: {tries_left}")

    @property
    def msgid(self) -> str:
        return self.MSGID_AGAIN if self.tries_left > 1 else self.MSGID_LAST

    @property
    def params(self) -> dict[str, object]:
        return {"tries_left": self.tries_left}


class LastPinTry(CardError):
    """Only one try is left: the kiosk does not send the PIN (it would risk the lock)."""

    message_ja = ("暗証番号の残り回数が1回です。ロックを防ぐため、ここでは入力できません。"
                  "窓口でお手続きください。")
    message_en = ("Only one PIN try is left. To keep your card from locking, the kiosk will "
                  "not use it. Please go to the counter.")
    exit_code = 7

    def __init__(self, detail: str = "") -> None:
        self.tries_left = 1
        super().__init__(detail)


class PinBlocked(CardError):
    """No tries left: only the municipal office can reset the PIN."""

    message_ja = ("暗証番号がロックされています。市区町村の窓口で暗証番号の再設定を"
                  "してください。")
    message_en = ("The PIN is locked. It can only be reset at the municipal office counter.")
    exit_code = 8

    def __init__(self, detail: str = "") -> None:
        self.tries_left = 0
        super().__init__(detail)


class InvalidCodeB(CardError):
    """照合番号B is not 14 ASCII digits. Nothing was sent to the card: no try was used."""

    message_ja = "生年月日・有効期限の年・セキュリティコードを確認してください。"
    message_en = ("Please check the birth date, the card's expiry year and the security "
                  "code.")
    exit_code = 2


class WrongCodeB(CardError):
    """The card refused 照合番号B. `tries_left` tries remain."""

    exit_code = 6
    MSGID = ("生年月日・有効期限の年・セキュリティコードのどれかが違います。"
             "あと{tries_left}回間違えるとロックされます。")
    MSGID_STOP = ("生年月日・有効期限の年・セキュリティコードのどれかが違います。"
                  "ロックを防ぐため、ここではこれ以上入力できません。窓口でお手続きください。")

    def __init__(self, tries_left: int, *, stop: bool = False) -> None:
        self.tries_left = tries_left
        self.stop = stop  # the kiosk will not send another: too few tries are left
        self.message_en = ("The birth date, expiry year or security code is wrong. "
                           + ("The kiosk will not try again; please go to the counter."
                              if stop else f"The card locks after {tries_left} more wrong "
                              "tries."))
        self.message_ja = self.msgid.format(**self.params)
        super().__init__(f"code B tries left: {tries_left}")

    @property
    def msgid(self) -> str:
        return self.MSGID_STOP if self.stop else self.MSGID

    @property
    def params(self) -> dict[str, object]:
        return {"tries_left": self.tries_left}


class CodeBTriesLow(CardError):
    """Too few 照合番号B tries are left (≤ 2): the kiosk does not send it."""

    message_ja = ("カードの照合の残り回数が少ないため、ロックを防ぐよう、ここでは入力できません。"
                  "窓口でお手続きください。")
    message_en = ("Only a few tries are left for the card's check number. To keep the card "
                  "from locking, the kiosk will not use them. Please go to the counter.")
    exit_code = 7

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(f"code B tries left: {tries_left}")


class CodeBBlocked(CardError):
    """照合番号B has no tries left: only the municipal office can help."""

    message_ja = "このカードの照合はロックされています。市区町村の窓口でお手続きください。"
    message_en = "The card's check number is locked. Please go to the municipal office."
    exit_code = 8

    def __init__(self, detail: str = "") -> None:
        self.tries_left = 0
        super().__init__(detail)


class NumberUnavailable(CardError):
    """EF 0001 (個人番号) stays closed: the card was opened with 照合番号B, not the PIN."""

    message_ja = ("暗証番号を使わない読み取りでは、マイナンバー（個人番号）は読み取れません。"
                  "窓口でご確認ください。")
    message_en = ("Without the PIN the card does not give the individual number; staff will "
                  "check it at the counter.")
    exit_code = 11
