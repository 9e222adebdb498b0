"""quickload: a submission it loads is loaded exactly as marshmallow loads it; anything else is
left to marshmallow. Generated payloads, from well-formed to hostile, hold the two together."""

from __future__ import annotations

import copy
import sys
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, post_load

from widget_server.intake import quickload
from widget_server.intake.schemas import (
    BaseSchema,
    DataRequestCreateSchema,
    LocationSchema,
    LookupCreateSchema,
    RatingCreateSchema,
    SubmissionCreateSchema,
)

CONSENT = "2025-07-v1"


def schema() -> SubmissionCreateSchema:
    return SubmissionCreateSchema(categories={"moi-truong", "giao-thong"}, agencies={"ubnd-tinh"},
                                  communes={"16279", "16282"}, consent_version=CONSENT)


SCHEMA = schema()


def base(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "category": "moi-truong",
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối ảnh hưởng người dân.",
        "submitter": {"name": "Lê Văn A", "phone": "0912345678"},
        "consent": {"version": CONSENT, "accepted": True},
    }
    payload.update(changes)
    return payload


def typed(value: Any) -> Any:
    """``value`` with each leaf's type (and a zero's sign) beside it: ``==`` takes 1 for 1.0 and True."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def marshmallow_load(payload: Any) -> dict[str, Any] | None:
    try:
        return SCHEMA.load(copy.deepcopy(payload))  # type: ignore[no-any-return]
    except ValidationError:
        return None


USUAL = [
    base(),
    base(submitter={"name": "Lê Văn A", "email": "Le.Van.A@Example.VN"}),
    base(submitter={"name": "  Lê   Văn A ", "phone": "091 234 5678", "email": "a@b.vn"}),
    base(submitter={"name": "Le Van A", "phone": "+84 912-345-678", "email": None}),
    base(agency="", confidential=False, src="tv", hp=""),
    base(agency="ubnd-tinh", source_url="https://baothanhhoa.vn/bai-viet?id=1"),
    base(location={"commune_code": "16279", "address": "Cổng chợ Vườn Hoa", "lat": 19.8, "lon": 105.77}),
    base(location={"lat": 20, "lon": 106}),  # JSON integers: floats, as marshmallow gives them
    base(location=None, agency=None, source_url=None, src=None, notify=None, altcha=None),
    base(title="Hoá đơn\u200b điện", content="Dòng một\r\n\r\n\r\n\r\nDòng\u202e hai " * 3),
    base(title="Hoa\u0301 đơn điện tăng cao"),  # NFD in, NFC out
]


@pytest.mark.parametrize("payload", USUAL)
def test_the_usual_submission_is_loaded_here_and_exactly_as_marshmallow_loads_it(payload):
    expected = marshmallow_load(payload)
    assert expected is not None
    assert typed(quickload.quick(SCHEMA, copy.deepcopy(payload))) == typed(expected)


UNUSUAL = [
    "not an object",
    [base()],
    base(unknown_field=1),
    base(category="khong-co"),
    base(agency="khong-co"),
    base(title="Rác"),  # too short
    base(title="   Rác    \u200b\u200b   "),  # long enough only before cleaning
    base(content=None),
    base(submitter={"name": "Lê Văn A"}),  # no way to answer
    base(submitter={"name": "Lê Văn A", "phone": "12345"}),
    base(submitter={"name": "Lê Văn A", "phone": "0912345678", "extra": 1}),
    base(submitter={"name": "Lê Văn A", "email": "not-an-email"}),
    base(submitter="Lê Văn A"),
    base(consent={"version": CONSENT, "accepted": "true"}),
    base(consent={"version": CONSENT, "accepted": False}),
    base(consent={"version": "2020-01-v0", "accepted": True}),
    base(location={"lat": 19.8}),
    base(location={"lat": True, "lon": 105.0}),
    base(location={"lat": "19.8", "lon": "105.7"}),  # marshmallow takes these: it loads them itself
    base(location={"lat": 10 ** 400, "lon": 1}),
    base(location={"lat": 91, "lon": 1}),
    base(location={"commune_code": "99999"}),
    base(source_url="javascript:alert(1)"),
    base(source_url="https://"),
    base(src="a b"),
    base(confidential=1),
    base(hp=None),
    base(notify={"by": "email", "consent": {"version": CONSENT, "accepted": True}}),
]


@pytest.mark.parametrize("payload", UNUSUAL)
def test_anything_else_is_left_to_marshmallow(payload):
    assert quickload.quick(SCHEMA, copy.deepcopy(payload)) is None


def test_a_schema_with_a_hook_it_does_not_apply_is_always_left_to_marshmallow():
    class Stamped(SubmissionCreateSchema):
        @post_load
        def _stamp(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return {**data, "stamped": True}

    stamped = Stamped(categories={"moi-truong"}, consent_version=CONSENT)
    assert stamped.load(base())["stamped"] is True
    assert quickload.quick(stamped, base()) is None


# --------------------------------------------------------------------------- generated payloads

TRICKY_TEXT = st.sampled_from([
    "", " ", "\u200b", "\t\n", "a", "Rác", "Rác thải tồn đọng", "x" * 64, "x" * 65, "x" * 5001,
    "0912345678", "+84912345678", "084 912 345 678", "02373 852 111", "a@b.vn", "A@B.VN ",
    "moi-truong", "ubnd-tinh", "16279", CONSENT, "https://baothanhhoa.vn/a", "http://localhost/x",
    "ftp://x.vn/", "tv", "TV.1", "Hoa\u0301", "\u202e", "\x00", "\ud7ff", "Ω" * 300,
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TRICKY_TEXT, st.text(max_size=40))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["lat", "lon", "name", "x"]), inner, max_size=3)),
    max_leaves=6)
PATHS = [("category",), ("agency",), ("title",), ("content",), ("confidential",), ("source_url",),
         ("src",), ("hp",), ("altcha",), ("notify",), ("location",), ("location", "lat"),
         ("location", "lon"), ("location", "commune_code"), ("location", "address"), ("submitter",),
         ("submitter", "name"), ("submitter", "phone"), ("submitter", "email"), ("consent",),
         ("consent", "version"), ("consent", "accepted"), ("extra",), ("submitter", "extra"),
         ("notify", "by"), ("notify", "consent"), ("notify", "consent", "version"),
         ("notify", "consent", "accepted")]
MUTATION = st.tuples(st.sampled_from(PATHS), st.one_of(st.just("delete"), VALUES))


def mutate(payload: dict[str, Any], mutations: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    for path, value in mutations:
        target = payload
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if value == "delete":
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return payload


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.sampled_from(USUAL), mutations=st.lists(MUTATION, max_size=3))
def test_whatever_it_loads_marshmallow_loads_the_same(start, mutations):
    payload = mutate(copy.deepcopy(start), mutations)
    sent = copy.deepcopy(payload)
    quick = quickload.quick(SCHEMA, sent)
    assert typed(sent) == typed(payload)  # the caller's payload (hashed for idempotency) untouched
    if quick is not None:
        assert typed(quick) == typed(marshmallow_load(payload))


# The other bodies the API loads through ``body.load``: a status lookup, a rating, a data request.
OTHER_BODIES = [LookupCreateSchema(), RatingCreateSchema(), DataRequestCreateSchema()]
OTHER_VALUES = st.one_of(VALUES, st.sampled_from(["withdraw_consent", "delete", "withdraw_notify", "nope"]))


@pytest.mark.parametrize("body_schema", OTHER_BODIES, ids=lambda s: type(s).__name__)
def test_the_usual_lookup_rating_and_data_request_bodies_are_loaded_here(body_schema):
    usual = {"LookupCreateSchema": {"contact": " 0912 345 678 "},
             "RatingCreateSchema": {"contact": "a@b.vn", "satisfied": False, "comment": "Chậm\r\n\r\n\r\nquá"},
             "DataRequestCreateSchema": {"contact": "0912345678", "kind": "delete"}}[type(body_schema).__name__]
    assert quickload.quick(body_schema, copy.deepcopy(usual)) == body_schema.load(copy.deepcopy(usual))


@settings(max_examples=600, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("body_schema", OTHER_BODIES, ids=lambda s: type(s).__name__)
def test_whatever_body_it_loads_marshmallow_loads_the_same(body_schema, data):
    names = [*body_schema.load_fields, "extra"]
    payload = data.draw(st.dictionaries(st.sampled_from(names), OTHER_VALUES, max_size=4))
    quick = quickload.quick(body_schema, copy.deepcopy(payload))
    if quick is not None:
        try:
            expected = body_schema.load(copy.deepcopy(payload))
        except ValidationError as exc:
            raise AssertionError(f"loaded here, refused by marshmallow: {exc.messages}") from exc
        assert typed(quick) == typed(expected)



# --------------------------------------------------------------------------- schemas it must not plan
# What a change to the schemas could bring: each case would be loaded wrongly by a plan that
# did not know it, so it must be left to marshmallow (or applied as marshmallow applies it).

def agree(schema: Any, payload: Any) -> None:
    """quickload's contract: None, or exactly marshmallow's answer."""
    quick = quickload.quick(schema, copy.deepcopy(payload))
    if quick is None:
        return
    try:
        expected = schema.load(copy.deepcopy(payload))
    except ValidationError as exc:
        raise AssertionError(f"loaded here {quick!r}; refused by marshmallow: {exc.messages}") from exc
    assert typed(quick) == typed(expected)


def _has_point(location: dict[str, Any]) -> None:
    if location["lat"] is None:
        raise ValidationError("Cần vị trí trên bản đồ.")


def test_a_nested_fields_own_validators_are_not_skipped():
    class Located(SubmissionCreateSchema):
        location = fields.Nested(LocationSchema, load_default=None, allow_none=True, validate=_has_point)

    agree(Located(), base(location={"address": "Cổng chợ"}))


def test_pluck_is_not_taken_for_nested():
    class Name(BaseSchema):
        name = fields.String(required=True)

    class Body(BaseSchema):
        who = fields.Pluck(Name, "name", required=True)

    agree(Body(), {"who": {"name": "a"}})


def test_a_float_of_its_own_kind_keeps_its_own_loading():
    class Rounded(fields.Float):
        def _validated(self, value: Any) -> float:
            return round(super()._validated(value), 4)

    class Body(BaseSchema):
        lat = Rounded(required=True)

    agree(Body(), {"lat": 19.80000123})


def test_a_copy_of_a_schema_gets_its_own_plan():
    location = LocationSchema()
    assert quickload.quick(location, {}) is not None  # a plan made and kept on `location`

    class Body(BaseSchema):  # marshmallow copies the instance to apply ``only``
        where = fields.Nested(location, only=("lat", "lon"), required=True)

    agree(Body(), {"where": {"address": "not a field of this copy"}})
    first = SubmissionCreateSchema(categories={"moi-truong"}, consent_version=CONSENT)
    assert quickload.quick(first, base()) is not None
    other = copy.copy(first)
    other.allowed_categories = {"giao-thong"}  # another site's list
    agree(other, base(category="moi-truong"))


def test_a_hook_registered_by_another_thread_while_a_plan_is_made_does_not_escape():
    """marshmallow adds keys to a schema class's hook table on first use; another thread doing
    so while a plan iterates it must not turn into an exception (a 500 instead of a 422)."""
    class Fresh(SubmissionCreateSchema):  # a class whose hook table no load has read yet
        pass

    schema = Fresh(categories={"moi-truong"}, consent_version=CONSENT)
    hooks = type(schema)._hooks
    hooks.pop("post_load", None)
    code = quickload._make_plan.__code__
    fired: list[bool] = []

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code is not code:
            return None

        def local(frame: Any, event: str, arg: Any) -> Any:
            if event == "line" and not fired and frame.f_locals.get("tag") is not None:
                fired.append(True)  # what another thread's first complete load does
                thread = threading.Thread(target=lambda: hooks["post_load"])
                thread.start()
                thread.join()
            return local

        return local

    sys.settrace(tracer)
    try:
        result = quickload.quick(schema, base())
    finally:
        sys.settrace(None)
    assert fired
    assert result is None or typed(result) == typed(schema.load(base()))


def test_load_is_marshmallows_answer_whichever_path_gives_it():
    declined = base(location={"lat": "19.8", "lon": "105.7"})  # numeric strings: marshmallow's
    assert quickload.quick(SCHEMA, copy.deepcopy(declined)) is None
    assert typed(quickload.load(SCHEMA, copy.deepcopy(declined))) == typed(marshmallow_load(declined))
    assert quickload.load(SCHEMA, copy.deepcopy(declined))["location"]["lat"] == 19.8
    with pytest.raises(ValidationError) as refused:
        quickload.load(SCHEMA, base(title="Rác"))
    assert list(refused.value.messages) == ["title"]
    assert typed(quickload.load(SCHEMA, base())) == typed(marshmallow_load(base()))
