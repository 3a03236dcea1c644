"""E-mail through the ward's SMTP relay (`[notify.smtp]`), stdlib smtplib only.

STARTTLS (when configured) before anything is sent, with the relay's certificate checked;
AUTH only when a username is set (the password from the environment). One connection per
message: the worker sends few, and a relay that hangs costs one timeout, not the queue.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kiosk.backoffice.config_notify import SmtpSettings


class MailFailed(Exception):
    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def send_mail(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=smtp.sender.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as s:
            if smtp.starttls:
                s.starttls(context=ssl.create_default_context())
            if smtp.username:
                s.login(smtp.username, os.environ.get(smtp.password_env, ""))
            s.send_message(msg)
    except smtplib.SMTPRecipientsRefused:
        raise MailFailed("the relay refused the recipient", False) from None
    except smtplib.SMTPResponseException as exc:
        raise MailFailed(f"the relay answered {exc.smtp_code}", exc.smtp_code >= 400
                         and exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(f"the relay failed ({type(exc).__name__})", True) from None
