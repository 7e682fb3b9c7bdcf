"""Email over SMTP: one message with a plain-text and an HTML part.

Headers are built with the stdlib's SMTP policy, which encodes the Chinese subject and display
names as RFC 2047 UTF-8 encoded words (``=?utf-8?b?...?=``) and folds long lines, so every mail
client shows them right. STARTTLS or implicit TLS as configured.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal

from pydantic import Field

from notify.base import DeliveryResult, Notification, Notifier, NotifierConfig, NotifierContext, Secret


class EmailConfig(NotifierConfig):
    type: Literal["email"] = "email"
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = Field(default="none", description="none | starttls | tls (implicit, usually port 465)")
    username: str | None = None
    password: Secret | None = None
    sender: str = Field(description="From address")
    sender_name: str = "舆情预警"
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)


def _address(addr: str, display: str = "") -> Address:
    user, _, domain = addr.partition("@")
    return Address(display_name=display, username=user, domain=domain)


class EmailNotifier(Notifier):
    type = "email"
    Config = EmailConfig

    def __init__(self, config: EmailConfig, context: NotifierContext | None = None) -> None:
        super().__init__(config, context)
        self.cfg = config

    def message(self, n: Notification) -> EmailMessage:
        c = self.cfg
        msg = EmailMessage(policy=SMTP)
        msg["Subject"] = n.title
        msg["From"] = _address(c.sender, c.sender_name)
        msg["To"] = [_address(a) for a in c.to]
        if c.cc:
            msg["Cc"] = [_address(a) for a in c.cc]
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=c.sender.partition("@")[2] or None)
        if n.key:
            msg["X-Yuqing-Key"] = n.key
        # base64 bodies: 7-bit clean, so servers without 8BITMIME pass them unchanged.
        msg.set_content(n.text, charset="utf-8", cte="base64")
        if n.html:
            msg.add_alternative(n.html, subtype="html", charset="utf-8", cte="base64")
        for path in n.attachments:
            p = Path(path)
            ctype = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
            maintype, _, subtype = ctype.partition("/")
            msg.add_attachment(p.read_bytes(), maintype=maintype, subtype=subtype, filename=p.name)
        return msg

    def send(self, notification: Notification) -> DeliveryResult:
        c = self.cfg
        missing = [a for a in notification.attachments if not Path(a).is_file()]
        if missing:  # an archived file was removed: retrying will not bring it back
            return DeliveryResult(False, f"attachment not found: {', '.join(missing)}", retryable=False)
        msg = self.message(notification)
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                if c.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if c.username:
                    smtp.login(c.username, c.password.get_secret_value() if c.password else "")
                refused = smtp.send_message(msg, from_addr=c.sender, to_addrs=[*c.to, *c.cc])
        except smtplib.SMTPRecipientsRefused as exc:
            return DeliveryResult(False, self.scrub(f"all recipients refused: {exc.recipients}"), retryable=False)
        except smtplib.SMTPAuthenticationError as exc:
            return DeliveryResult(False, self.scrub(f"SMTP authentication failed: {exc.smtp_code}"), retryable=False)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            # 4xx is a temporary refusal, 5xx a permanent one.
            return DeliveryResult(False, self.scrub(f"SMTP {exc.smtp_code}: {text}"[:300]), retryable=exc.smtp_code < 500)
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(False, self.scrub(f"{type(exc).__name__}: {exc}"[:300]), retryable=True)
        if refused:
            return DeliveryResult(True, f"sent; refused by some recipients: {sorted(refused)}")
        return DeliveryResult(True, "250 sent")
