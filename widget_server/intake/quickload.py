"""A well-formed submission loaded by its schema's own rules, without marshmallow's machinery.

marshmallow's generic ``Schema.load`` (an error store, hooks looked up by name, partial and
``many`` handling, each field through several layers) cost a durable submission about a sixth
of its CPU, most of it not in the checks themselves. ``load(schema, payload)`` walks the same
schema once with none of that (``quick``; ``load`` falls back to marshmallow): the same fields in the same order, each field's own
``_deserialize`` (the NFC cleaning, the phone and email parsing), its own ``validators`` (the
lengths, ranges, URL check), its ``load_default``, and the schema's own ``@pre_load``,
``@validates`` and ``@validates_schema`` methods. Every limit is still written once, in
``schemas.py``.

``quick`` answers only for the common case and gives up (``None``) at anything else: a value of an
unexpected type, an unknown or a ``null`` field where the schema wants a value, any check
that fails, a hook or a field option it does not know (then for every payload). marshmallow
loads those, and says what is wrong. So it can never accept what marshmallow refuses, and
what it accepts it returns as marshmallow does (``tests/server/test_quickload.py`` holds the
two to the same answer on thousands of generated payloads).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from marshmallow import RAISE, Schema, ValidationError, fields, missing

from widget_server.intake.schemas import StrictBoolean


class _Unusual(Exception):
    """Not the common case: marshmallow loads it."""


def load(schema: Schema, payload: Any) -> dict[str, Any]:
    """``schema.load(payload)``: by ``quick`` when it can, else by marshmallow (which raises
    ``ValidationError`` with the messages for what is wrong)."""
    data = quick(schema, payload)
    return data if data is not None else schema.load(payload)  # type: ignore[no-any-return]


def quick(schema: Schema, payload: Any) -> dict[str, Any] | None:
    """What ``schema.load(payload)`` returns, or None when marshmallow must load it itself."""
    plan = _plan(schema)
    if plan is None:
        return None
    try:
        return _load(plan, payload)
    except (_Unusual, ValidationError):
        return None


_PRE_LOAD, _VALIDATES, _VALIDATES_SCHEMA = "pre_load", "validates", "validates_schema"
_ABSENT = object()


class _Field(NamedTuple):
    name: str
    required: bool
    default: Any  # _ABSENT: left out, as marshmallow leaves a field without load_default
    allow_none: bool
    convert: Callable[[Any], Any]  # a present, non-null value → the loaded one (validators included)


class _Plan(NamedTuple):
    names: frozenset[str]
    fields: tuple[_Field, ...]
    pre_load: tuple[Callable[..., Any], ...]
    validates: tuple[tuple[Callable[..., Any], str], ...]
    validates_schema: tuple[Callable[..., Any], ...]


def _plan(schema: Schema) -> _Plan | None:
    """The schema's fields and hooks as this module applies them; None when it has an option or
    a hook not applied here. Made once per schema object (the relay keeps its schemas)."""
    cached = schema.__dict__.get("_phanhoi_quickload")
    if cached is None or cached[0] is not schema:  # copy.copy(schema) copies __dict__ too
        cached = schema.__dict__["_phanhoi_quickload"] = (schema, _make_plan(schema))
    return cached[1]  # type: ignore[no-any-return]


def _make_plan(schema: Schema) -> _Plan | None:
    if schema.many or schema.partial or schema.unknown != RAISE:
        return None
    hooks = dict(schema._hooks)  # noqa: SLF001 - a snapshot: marshmallow adds keys to the class's dict
    for tag, registered in hooks.items():
        if registered and tag not in (_PRE_LOAD, _VALIDATES, _VALIDATES_SCHEMA):
            return None  # post_load and the like
        for _name, pass_collection, options in registered:
            if pass_collection or options.get("pass_original"):
                return None
    planned = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            return None
        if field.pre_load or field.post_load:
            return None
        convert = _converter(field)
        if convert is None:
            return None
        default = field.load_default
        planned.append(_Field(name, bool(field.required), _ABSENT if default is missing else default,
                              bool(field.allow_none), convert))
    return _Plan(
        frozenset(schema.load_fields),
        tuple(planned),
        tuple(getattr(schema, name) for name, _many, _options in hooks.get(_PRE_LOAD, ())),
        tuple((getattr(schema, name), field_name) for name, _many, options in hooks.get(_VALIDATES, ())
              for field_name in options["field_names"]),
        tuple(getattr(schema, name) for name, _many, _options in hooks.get(_VALIDATES_SCHEMA, ())),
    )


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """``Field.deserialize`` for a present, non-null value, for the kinds of field applied here:
    exactly ``Nested`` (no validators of its own), ``Float`` and ``StrictBoolean``, and any
    ``String`` (its own ``_deserialize``: CleanString, Contact, Url); none that changes how a
    field deserializes or validates (``Pluck``, a subclass that rounds)."""
    kind = type(field)
    if kind.deserialize is not fields.Field.deserialize or kind._validate is not fields.Field._validate:
        return None
    if isinstance(field, fields.Nested):
        if kind is not fields.Nested or field.many or field.unknown is not None or field.validators:
            return None  # Pluck, a list of objects, another unknown rule, checks of the whole
        nested = field.schema
        if not isinstance(nested, Schema):
            return None
        plan = _plan(nested)
        return None if plan is None else functools.partial(_load, plan)
    validators = tuple(field.validators)
    if kind is StrictBoolean:
        return functools.partial(_checked, _boolean, validators)
    if kind is fields.Float:
        return functools.partial(_checked, _float, validators)
    if isinstance(field, fields.String):  # and CleanString, Contact, Url: their own _deserialize
        return functools.partial(_checked, functools.partial(_string, field._deserialize), validators)  # noqa: SLF001
    return None


def _load(plan: _Plan, payload: Any) -> dict[str, Any]:
    if type(payload) is not dict:
        raise _Unusual
    for hook in plan.pre_load:
        payload = hook(payload, many=False, partial=None, unknown=RAISE)
    if not payload.keys() <= plan.names:
        raise _Unusual  # an unknown field
    data: dict[str, Any] = {}
    for field in plan.fields:
        value = payload.get(field.name, _ABSENT)
        if value is _ABSENT:
            if field.required:
                raise _Unusual
            default = field.default
            if default is not _ABSENT:
                data[field.name] = default() if callable(default) else default
        elif value is None:
            if not field.allow_none:
                raise _Unusual
            data[field.name] = None
        else:
            data[field.name] = field.convert(value)
    for check, field_name in plan.validates:
        if field_name in data:
            check(data[field_name], data_key=field_name)
    for check_all in plan.validates_schema:
        check_all(data, many=False, partial=None, unknown=RAISE)
    return data


def _checked(convert: Callable[[Any], Any], validators: tuple[Any, ...], value: Any) -> Any:
    output = convert(value)
    for check in validators:
        if check(output) is False:  # marshmallow 4 counts only a raised error: it decides these
            raise _Unusual
    return output


def _boolean(value: Any) -> bool:
    if value is not True and value is not False:
        raise _Unusual
    return value  # type: ignore[no-any-return]


def _float(value: Any) -> float:
    # JSON numbers only (marshmallow also takes numeric strings: it loads those itself).
    if value is True or value is False or not isinstance(value, (int, float)):
        raise _Unusual
    try:
        output = float(value)
    except OverflowError:
        raise _Unusual from None
    if not math.isfinite(output):
        raise _Unusual
    return output


def _string(deserialize: Callable[..., Any], value: Any) -> Any:
    if not isinstance(value, str):
        raise _Unusual
    return deserialize(value, None, None)
