"""Submissions: validate once, store with the outbox row that forwards them, replay by idempotency key.

A submission and the outbox row that announces it commit together, so nothing
accepted is ever lost and nothing is sent that was not stored. Lookups, ratings
and data requests are in ``tracking.py``; status events in ``status_events.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from widget_server.errors import ConflictError, InvalidError
from widget_server.intake import at_once, attachments, codes, hooks, idempotency, quickload, reference, rows
from widget_server.intake.idempotency import hash_request
from widget_server.intake.schemas import SubmissionCreateSchema, flatten_errors
from widget_server.intake.sites import Site
from widget_server.store import db, direct, outbox, versions
from widget_server.store.blobs import get_storage

IDEMPOTENCY_CONFLICT = idempotency.IDEMPOTENCY_CONFLICT  # its home is idempotency.py


@dataclass(frozen=True)
class Created:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def schema_for(site: Site) -> SubmissionCreateSchema:
    """The site's validation schema, built once per version of the sites and reference lists:
    building one (deep copies of every field, the site's lists as sets) cost a submission about
    a tenth of its time. A schema keeps no state between loads."""
    key = (site.id, site.key, site.name, site.province_code,
           tuple(site.categories) if site.categories is not None else None,
           tuple(site.agencies) if site.agencies is not None else None)
    return versions.cache("submission-schemas", "sites", "reference", limit=256).get(
        key, lambda: _build_schema(site))


def _build_schema(site: Site) -> SubmissionCreateSchema:
    return SubmissionCreateSchema(
        categories={c["code"] for c in reference.categories_for(site)},
        agencies={a["code"] for a in reference.agencies_for(site)},
        communes={c["code"] for c in reference.communes(site.province_code)},
        consent_version=reference.consent_for(site.name).version,
    )


INVALID = "Vui lòng kiểm tra lại các thông tin được đánh dấu."


def validate(site: Site, payload: Any) -> dict[str, Any]:
    """The cleaned submission, or InvalidError with messages by dotted field path."""
    if not isinstance(payload, dict):
        raise InvalidError(INVALID, errors={"_schema": ["Dữ liệu phải là một đối tượng JSON."]})
    try:
        # The common case by the schema's rules without marshmallow's machinery (quickload.py);
        # anything else, and every mistake a citizen is told about, through marshmallow.
        data = quickload.load(schema_for(site), payload)
        for check in hooks.current().validators:
            check(site, data)
    except ValidationError as exc:
        raise InvalidError(INVALID, errors=flatten_errors(exc.messages)) from exc
    if data.get("hp"):
        # A field hidden from people was filled: a bot. Say nothing more specific.
        raise InvalidError(INVALID, errors={"_schema": ["Không thể gửi phản ánh. Vui lòng thử lại."]})
    return data


# --------------------------------------------------------------------------- intake


def create_submission(site: Site, payload: Any, *, via: str, **options: Any) -> dict[str, Any]:
    """Validate and store a submission with its outbox row; returns the 201 body.

    Takes the options of :func:`create_idempotent`.
    """
    return create_idempotent(site, payload, via=via, **options).body


def create_idempotent(
    site: Site,
    payload: Any,
    *,
    via: str,
    src: str | None = None,
    idempotency_key: str | None = None,
    store_attachments: Any = None,
    request_hash: str | None = None,
    data: dict[str, Any] | None = None,
) -> Created:
    """Validate and store, or replay the answer given to the same ``idempotency_key``.

    ``store_attachments(conn, submission_id) -> list[dict]``, when given, runs in the
    same transaction and returns the attachment descriptors for the forwarded body.
    ``data``, when given, is ``payload`` already validated by :func:`validate`.

    One write transaction and no read before it: the idempotency record is claimed first
    (an upsert that takes a free or expired key), so a replay reads the stored answer and
    writes nothing, and a new submission costs four statements (record, submission,
    history, outbox row) on SQLite and one on PostgreSQL (``at_once.py``), which commits by
    itself when no hook writes for the submission and no file goes with it.
    """
    data = data if data is not None else validate(site, payload)
    req_hash = request_hash or hash_request(payload)
    claim = (idempotency_key, req_hash) if idempotency_key else None
    row = rows.new_row(site, data, via=via, src=src or data.get("src"))
    engine = db.get_engine()
    if store_attachments is None and db.is_postgres(engine) and not hooks.current().for_submission(data):
        alone = _insert_alone(site, row, claim)
        if alone is not None:
            return alone
    # The answer, the forwarded body and on SQLite the statements' values, made before the
    # transaction (on SQLite it holds the one write lock every process waits for).
    receipt = rows.receipt(row, site.key)
    forwarded = None if store_attachments else rows.forward_data(row, site)
    made = _Made(receipt, forwarded, _ahead(engine, site, row, receipt, forwarded, claim))
    for _ in range(3):
        try:
            with db.write() as conn:
                body = _insert(conn, site, data, dict(row), made, store_attachments=store_attachments,
                               claim=claim)
            return Created(201, body, False)
        except _Replayed as replayed:
            if replayed.created is not None:
                return replayed.created
            # The answer expired between the claim and the read: claim again.
        except IntegrityError:
            # Another request with the same key committed first: answer as it did.
            if not idempotency_key:
                raise
            previous = _replay(site, idempotency_key, req_hash)
            if previous:
                return previous
            raise
    raise _Replayed.gave_up()


def _insert_alone(site: Site, row: dict[str, Any], claim: tuple[str, str] | None) -> Created | None:
    """PostgreSQL: the four rows by one statement that commits by itself (``at_once.insert_alone``).
    None when the transaction's way must go on: the tracking code was taken (nothing was
    written; ``row`` gets a new code), or the live answer holding the key expired before it
    was read."""
    receipt = rows.receipt(row, site.key)
    now = row["submitted_at"]
    try:
        stored = at_once.insert_alone(
            row, destination=site.destination,
            payload={"type": "submission.created", "data": rows.forward_data(row, site)},
            claim=idempotency.claim_params(site.id, *claim, 201, receipt, now) if claim else None)
    except IntegrityError as exc:
        if not at_once.code_taken(exc):
            raise
        row["tracking_code"] = codes.generate()
        return None
    if stored:
        return Created(201, receipt, False)
    assert claim is not None  # without a key there is nothing to hold it
    return _replay(site, *claim)


class _Replayed(Exception):
    """Raised inside the write transaction to roll it back and answer with a stored response."""

    def __init__(self, created: Created | None) -> None:
        super().__init__("idempotent replay")
        self.created = created

    @staticmethod
    def gave_up() -> ConflictError:
        return ConflictError(IDEMPOTENCY_CONFLICT, code="idempotency-key-reused")


def _replay(site: Site, key: str, req_hash: str, conn: Connection | None = None) -> Created | None:
    if conn is None:
        with db.read() as own:
            return _replay(site, key, req_hash, own)
    found = idempotency.stored(conn, site.id, key, req_hash)
    return Created(found[0], found[1], True) if found else None


def _submission_insert(dialect: str) -> Any:
    s = db.submissions
    return (db.insert_for(dialect)(s).values({c: sa.bindparam(c, type_=s.c[c].type) for c in at_once.COLUMNS})
            .on_conflict_do_nothing(index_elements=["tracking_code"]).returning(s.c.id))


_SUBMISSION = direct.Statement(_submission_insert)
_h = db.history.c
_HISTORY = direct.Statement(sa.insert(db.history).values(
    submission_id=sa.bindparam("submission_id", type_=_h.submission_id.type),
    status="received", note=None, sequence=0, at=sa.bindparam("at", type_=_h.at.type)))


def _insert_submission(conn: Connection, row: dict[str, Any]) -> bool:
    """False when the tracking code is taken (40 random bits: rare); the caller draws again."""
    return bool(_SUBMISSION.rows(conn, row))


class _Ahead(NamedTuple):
    """SQLite: a new submission's statements with their values converted for the driver."""

    claim: direct.Prepared | None
    submission: direct.Prepared
    history: direct.Prepared
    outbox: direct.Prepared


class _Made(NamedTuple):
    receipt: dict[str, Any]
    forwarded: dict[str, Any] | None  # None when files go with it: made in the transaction
    ahead: _Ahead | None


def _ahead(engine: Engine, site: Site, row: dict[str, Any], receipt: dict[str, Any],
           forwarded: dict[str, Any] | None, claim: tuple[str, str] | None) -> _Ahead | None:
    """On SQLite (without files), the four statements ready to run: their values' conversions
    (dates, the JSON bodies) are done before the write lock is taken, not while it is held."""
    if forwarded is None or db.is_postgres(engine):
        return None
    dialect, now = engine.dialect, row["submitted_at"]
    return _Ahead(
        claim=idempotency.CLAIM.prepare(dialect, idempotency.claim_params(
            site.id, *claim, 201, receipt, now)) if claim else None,
        submission=_SUBMISSION.prepare(dialect, row),
        history=_HISTORY.prepare(dialect, {"submission_id": row["id"], "at": now}),
        outbox=outbox.prepare(dialect, destination=site.destination, event_type="submission.created",
                              data=forwarded, submission_id=row["id"], at=now)[1])


def _insert(conn: Connection, site: Site, data: dict[str, Any], row: dict[str, Any], made: _Made, *,
            store_attachments: Any, claim: tuple[str, str] | None = None) -> dict[str, Any]:
    now = row["submitted_at"]
    receipt, forwarded, ahead = made
    if db.is_postgres(conn) and forwarded is not None:  # the four rows in one statement
        claimed, stored = at_once.insert(
            conn, row, destination=site.destination,
            payload={"type": "submission.created", "data": forwarded},
            claim=idempotency.claim_params(site.id, *claim, 201, receipt, now) if claim else None)
        if claimed and stored:  # the hooks see the stored submission, in the same transaction
            for hook in hooks.current().for_submission(data):
                hook(conn, site, data, row)
            return receipt
    elif ahead is not None:
        claimed = ahead.claim is None or bool(ahead.claim.rows(conn))
    else:
        claimed = not claim or idempotency.claim(conn, site.id, *claim, 201, receipt, now)
    if claim and not claimed:
        raise _Replayed(_replay(site, *claim, conn))
    for _ in range(5):  # 40 random bits: a collision is rare, but never fatal
        if ahead.submission.rows(conn) if ahead is not None else _insert_submission(conn, row):
            break
        row["tracking_code"] = codes.generate()
        receipt, forwarded, ahead = rows.receipt(row, site.key), None, None  # they name the code: made again
        if claim:  # the answer recorded for the key names the code finally given
            idempotency.amend(conn, site.id, claim[0], receipt)
    else:
        raise RuntimeError("no free tracking code after 5 draws")
    if ahead is not None:
        ahead.history.run(conn)
    else:
        _HISTORY.run(conn, {"submission_id": row["id"], "at": now})
    for hook in hooks.current().for_submission(data):
        hook(conn, site, data, row)
    if ahead is not None:
        ahead.outbox.run(conn)
        return receipt
    if forwarded is None:
        files = store_attachments(conn, row["id"]) if store_attachments else []
        forwarded = rows.forward_data(row, site, files)
    outbox.enqueue(conn, destination=site.destination, event_type="submission.created",
                   data=forwarded, submission_id=row["id"], at=now)
    return receipt


def create_with_files(site: Site, payload: Any, uploads: Sequence[Any], *, via: str,
                      idempotency_key: str | None, src: str | None = None) -> Created:
    """:func:`create_idempotent` with the uploaded files checked and stored in the same transaction.

    The submission is validated once, first: no file is decoded or stored for a form that
    fails anyway. ``uploads`` are werkzeug ``FileStorage`` objects (or anything with
    ``filename`` and ``stream``).
    """
    data = validate(site, payload)
    if not uploads:
        return create_idempotent(site, payload, via=via, src=src, idempotency_key=idempotency_key,
                                 data=data)
    prepared = attachments.prepare_all(list(uploads))
    request_hash = hash_request({"submission": payload, "files": [p.sha256 for p in prepared]})
    storage = get_storage()
    stored: list[attachments.Stored] = []
    ran: list[bool] = []
    try:
        for ready in prepared:
            stored.append(attachments.Stored(ready, storage.put(ready.data)))
        created = create_idempotent(
            site, payload, via=via, src=src, idempotency_key=idempotency_key,
            request_hash=request_hash, store_attachments=attachments.recorder(stored, ran), data=data)
    except BaseException:
        for done in stored:
            storage.delete(done.key)
        raise
    # An idempotent replay, even one that lost a race after its own rows were rolled back
    # (``ran`` is set then too): the first request's files are the ones kept.
    if not ran or created.replayed:
        for done in stored:
            storage.delete(done.key)
    return created
