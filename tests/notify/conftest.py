"""A real SMTP server (aiosmtpd, STARTTLS with a throwaway CA, AUTH) and the reference SMS gateway."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import free_port
from tests.e2e.conftest import LiveServer, make_loop, pinned_backoff  # noqa: F401 - fixtures
from tests.widget.conftest import context, page, relay  # noqa: F401 - fixtures

USER, PASSWORD = "relay", "s3cret/pass:word"


class Inbox:
    """What the server received, and how it misbehaves: replies and delays per step."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.rcpt_delay = 0.0
        self.data_delay = 0.0  # after the message is stored, before "250" is answered
        self.received = threading.Event()
        self.rcpt_seen = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.rcpt_seen.set()
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        # Stored first, answered later: the server has accepted responsibility (RFC 5321 §4.1.1.4)
        # even if the client never reads the "250".
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.received.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 OK: queued"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    def __init__(self, ca: trustme.CA) -> None:
        self.ca = ca
        self.inbox = Inbox()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     tls_context=server_ctx, require_starttls=True,
                                     authenticator=_authenticate, auth_require_tls=True)
        self.controller.start()

    def url(self, password: str = PASSWORD) -> str:
        from urllib.parse import quote

        return f"smtp://{USER}:{quote(password, safe='')}@127.0.0.1:{self.port}?starttls=1"

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer(ca)
    yield server
    server.stop()


@pytest.fixture
def sms_gateway() -> Iterator[Any]:
    import sms_gateway

    app = sms_gateway.create_app({"TOKEN": "gateway-token"})
    server = LiveServer(app)
    server.app = app  # type: ignore[attr-defined]
    yield server
    server.stop()
