"""Notices by email: one SMTP transaction per notice (``PHANHOI_SMTP_URL``).

``smtp://user:pass@host:587?starttls=1`` upgrades with STARTTLS before it logs in;
``smtps://user:pass@host:465`` speaks TLS from the start; credentials never go over
a connection that is not encrypted. Certificates are checked against the system's
trust store (``SSL_CERT_FILE`` points elsewhere).

Outcomes: 2xx delivered; 4xx retry (the server asks us to come back); 5xx dead at
once, with the server's reason (addresses masked): the address or the message is
refused for good. A refused login pauses the destination until an operator resumes
it. The ``Message-ID`` is the outbox id, the same on every attempt, so a receiver
that sees a message twice can tell. Just before the final "." the adapter calls
``event.handover`` (see ``delivery/notices.py``): past it the server may deliver
even if we never hear its answer, so a lost connection there is not retried blindly.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from widget_server.delivery.destinations import deadline
from widget_server.delivery.destinations.base import Event, Result
from widget_server.intake import personal

TRUE = {"1", "true", "yes", "on"}
#: A whole notice (connection, TLS, login, envelope, message, the last reply) ends within this
#: many of ``timeout``, the bound of each step: a server that answers each step slowly, or keeps
#: a reply going line by line (a tarpit sends ``250-`` lines seconds apart), would otherwise hold
#: a delivery thread for as long as it liked. Never past the row's lease either (the worker's
#: ``deadline.at_most``).
STEPS_PER_NOTICE = 4
LOST_AFTER_HANDOVER = ("outcome unknown: the connection ended after the message was handed over; "
                       "not sent again (it most likely arrived); `outbox retry` sends it again")


def _reason(code: int, message: bytes | str) -> str:
    """``SMTP 550 5.1.1 …``: the server's words with any address in them masked, and any phone
    or ID number (a server may quote the message back); the worker logs it and keeps it."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    text = re.sub(r"<[^>]*>|\S+@\S+", "…", " ".join(text.split()))
    return personal.hide(f"SMTP {code} {text}", mark="…")[:300]


def _outcome(code: int, message: bytes | str) -> Result:
    if 200 <= code < 300:
        return Result("delivered", status=code)
    if code in (530, 534, 535, 538):  # RFC 4954: authentication required, too weak, refused
        return Result("pause", status=code, error=_reason(code, message))
    if 400 <= code < 500:
        return Result("retry", status=code, error=_reason(code, message))
    return Result("rejected", status=code, error=_reason(code, message))


class SmtpDestination:
    """Sends ``notice.send`` events (``to``, ``subject``, ``text``, ``html``) as email."""

    name = "notify-email"

    def __init__(self, url: str, *, sender: str, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url or "")
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("PHANHOI_SMTP_URL must be smtp://… or smtps://…")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.host = parts.hostname
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = not self.implicit_tls and query.get("starttls", "0").lower() in TRUE
        self.port = parts.port or (465 if self.implicit_tls else 587 if self.starttls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        if not (self.user or "").isascii() or not self.password.isascii():
            # smtplib encodes AUTH as ASCII: say so now rather than fail on every notice.
            raise ValueError("PHANHOI_SMTP_URL: the user name and password must be ASCII")
        if self.user and not (self.implicit_tls or self.starttls):
            raise ValueError("PHANHOI_SMTP_URL has credentials but no TLS: add ?starttls=1 or use smtps://")
        self.sender = sender
        address = parseaddr(sender)[1]
        self.domain = address.rpartition("@")[2] or "localhost"
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpDestination:
        host = urlsplit(str(config.get("PUBLIC_URL") or "")).hostname or "localhost"
        sender = str(config.get("NOTIFY_FROM") or f"no-reply@{host}")
        return cls(str(config.get("SMTP_URL") or ""), sender=sender,
                   timeout=float(config.get("SMTP_TIMEOUT") or 30.0))

    def close(self) -> None:
        pass  # one connection per notice: nothing held between them

    def message(self, event: Event) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = event.data["to"]
        msg["Subject"] = event.data["subject"]
        msg["Date"] = formatdate(localtime=False)
        # The outbox id, the same on every attempt: receivers can tell a repeat.
        msg["Message-ID"] = f"<{event.id}@{self.domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        msg["Content-Language"] = "vi, en"
        msg.set_content(event.data["text"])
        msg.add_alternative(event.data["html"], subtype="html")
        return msg

    def _connect(self, watch: deadline.Watch) -> smtplib.SMTP:
        conn: smtplib.SMTP
        # Connected in the constructor, its socket watched before the server's greeting is read.
        if self.implicit_tls:
            conn = _WatchedSMTP_SSL(watch, host=self.host, port=self.port, local_hostname=self.domain,
                                    timeout=self.timeout, context=self.ssl_context)
        else:
            conn = _WatchedSMTP(watch, host=self.host, port=self.port, local_hostname=self.domain,
                                timeout=self.timeout)
        if self.starttls:
            conn.ehlo()
            conn.starttls(context=self.ssl_context)
            watch.reads_from(conn.sock)  # the TLS socket now (the plain one went into it)
        return conn

    def deliver(self, event: Event) -> Result:
        msg = self.message(event)
        body = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        # Dot-stuffing (RFC 5321 §4.5.2), as smtplib.SMTP.data does before its final ".".
        body = re.sub(rb"(?m)^\.", b"..", body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        with deadline.within(deadline.seconds_for(self.timeout * STEPS_PER_NOTICE)) as watch:
            return self._transaction(event, body, watch)

    def _transaction(self, event: Event, body: bytes, watch: deadline.Watch) -> Result:
        handed_over = False
        conn: smtplib.SMTP | None = None
        try:
            conn = self._connect(watch)
            conn.ehlo()
            if self.user:
                conn.login(self.user, self.password)
            for code, reply in (conn.mail(self.sender), conn.rcpt(event.data["to"])):
                if code >= 300:
                    return _outcome(code, reply)
            code, reply = conn.docmd("DATA")
            if code != 354:
                return _outcome(code, reply)
            conn.send(body)
            if event.handover is not None and not event.handover():
                # Another worker holds the row now. Dropping the connection before the final
                # "." makes the server discard what it has (RFC 5321 §4.1.1.4).
                conn.close()
                return Result("retry", error="lease lost before the message was handed over")
            handed_over = True
            conn.send(b".\r\n")
            code, reply = conn.getreply()
            return _outcome(code, reply)
        except smtplib.SMTPAuthenticationError as exc:
            return _outcome(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPNotSupportedError:
            return Result("pause", error="the mail server offers no STARTTLS or AUTH")
        except smtplib.SMTPResponseException as exc:
            if handed_over:
                return Result("rejected", error=LOST_AFTER_HANDOVER)
            return _outcome(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            if handed_over:
                return Result("rejected", error=LOST_AFTER_HANDOVER)
            timed_out = watch.expired or isinstance(exc, (socket.timeout, TimeoutError))
            return Result("retry", error=f"SMTP {'timeout' if timed_out else type(exc).__name__}")
        finally:
            if conn is not None:
                if watch.expired:
                    conn.close()  # cut by the deadline: no QUIT to wait for
                else:
                    try:
                        conn.quit()
                    except (smtplib.SMTPException, OSError):
                        conn.close()


class _Watched:
    """An SMTP connection whose socket, once made, the attempt's deadline shuts when it passes."""

    def __init__(self, watch: deadline.Watch, **kwargs: Any) -> None:
        self._watch = watch
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self._watch.reads_from(sock)
        return sock


class _WatchedSMTP(_Watched, smtplib.SMTP):
    pass


class _WatchedSMTP_SSL(_Watched, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's name, watched
    """Watched from before its TLS handshake: a server can make a handshake last one step's
    ``timeout``, which may be longer than what is left of the row's lease."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain: socket.socket = super(smtplib.SMTP_SSL, self)._get_socket(host, port, timeout)  # type: ignore[misc]
        sock = self.context.wrap_socket(plain, server_hostname=self._host,  # type: ignore[attr-defined]
                                        do_handshake_on_connect=False)
        self._watch.reads_from(sock)
        try:
            sock.do_handshake()
        except BaseException:
            sock.close()
            raise
        return sock
