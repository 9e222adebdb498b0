"""Notices to citizens: "Báo cho tôi khi có trả lời" (DESIGN.md, "Telling the citizen").

``consent``: the separate consent and the channels offered; ``requests``: a citizen's
request, stored with the submission, withdrawn and erased; ``notices``: queued with
the status event, composed when sent; ``content``: what they say. The senders are
outbox adapters (``delivery/destinations/smtp.py`` and ``sms.py``). This layer joins
intake through ``intake.hooks``; intake never imports it.
"""

from __future__ import annotations

from flask import Flask

from widget_server.intake import hooks
from widget_server.notify import consent, notices, requests

__all__ = ["consent", "init_app", "notices", "requests"]


def init_app(app: Flask) -> None:
    registry = hooks.of(app)
    registry.validators.append(requests.validate)
    registry.on_submission.append(requests.record)
    registry.on_status.append(notices.on_status)
    registry.on_redact.append(requests.on_redact)
    registry.config.append(consent.public_config)
