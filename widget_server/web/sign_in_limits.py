"""The console's sign-in limits, and an account's owner never locked out by others.

Per address every attempt counts as it arrives (``RATELIMIT_SIGN_IN``); per account over all
addresses only the failed ones (``limit_keys.refused``, ``RATELIMIT_SIGN_IN_ACCOUNT``), both
Flask-Limiter limits declared in ``limits.BUDGETS``. An account past its limit is closed to
every address that has failed to sign in to it within the last day, and open to one attempt
from any other, ``FRESH_TRIES`` a day in all: strangers' failures cannot lock its owner out (nor
a colleague's typo behind the same office address), and many addresses buy a guesser little.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from flask import current_app, g, request
from limits import parse_many

from widget_server.web.limit_keys import client_ip, refused, sign_in_key

# An address that has failed to sign in to an account within this period may no longer try it
# once it is past its limit.
FAILED_MEMORY = "1 per day"
# Failed attempts from fresh addresses an account past its limit takes in all: beyond them it is
# closed to every address until its own window passes (many fresh addresses get no more guesses).
FRESH_TRIES = "10 per day"
SIGN_IN_ACCOUNT_SCOPE = "sign-in-account"
SIGN_IN_ENDPOINTS: set[str] = set()


@functools.lru_cache(maxsize=8)
def _parsed(value: str) -> list[Any]:
    return list(parse_many(value))


def _store() -> Any:
    limiter = current_app.extensions.get("phanhoi_limiter")
    return limiter.limiter if limiter is not None and limiter.enabled else None


def _prefix() -> list[str]:
    prefix = str(current_app.extensions.get("phanhoi_limit_prefix", ""))
    return [prefix] if prefix else []


def _fresh_tries() -> list[str]:
    return [*_prefix(), "sign-in-fresh", sign_in_key()]


def _failed_here() -> list[str]:
    return [*_prefix(), "sign-in-failed", client_ip(), sign_in_key()]


def owner_may_try() -> bool:
    """True (the account's limit does not apply) when the account is past its limit and this
    address has not failed to sign in to it in the last day: its owner, elsewhere, still gets in."""
    store = _store()
    if store is None:
        return False
    try:
        # The account's own count, as Flask-Limiter keeps a shared limit's: [prefix,] key, scope.
        account = [*_prefix(), sign_in_key(), SIGN_IN_ACCOUNT_SCOPE]
        locked = any(not store.test(item, *account)
                     for item in _parsed(str(current_app.config["RATELIMIT_SIGN_IN_ACCOUNT"])))
        if not locked:
            return False
        fresh = all(store.test(item, *_failed_here()) for item in _parsed(FAILED_MEMORY)) and all(
            store.test(item, *_fresh_tries()) for item in _parsed(FRESH_TRIES))
        if fresh:
            g.phanhoi_fresh_sign_in = True
        return fresh
    except Exception:  # noqa: BLE001 - limit store trouble: the limits apply as they are
        return False


def remember_failed_sign_in(resp: Any) -> Any:
    """After a request: a refused sign-in marks its address, for that account, for ``FAILED_MEMORY``."""
    if request.endpoint in SIGN_IN_ENDPOINTS and request.method == "POST" and refused(resp):
        store = _store()
        if store is not None:
            with contextlib.suppress(Exception):  # limit store trouble loses a mark, nothing more
                for item in _parsed(FAILED_MEMORY):
                    store.hit(item, *_failed_here())
                if g.get("phanhoi_fresh_sign_in"):
                    for item in _parsed(FRESH_TRIES):
                        store.hit(item, *_fresh_tries())
    return resp
