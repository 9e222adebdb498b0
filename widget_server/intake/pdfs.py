"""PDF attachments, parsed with pypdf: one readable document, nothing that runs or hides files.

A regular expression over the bytes cannot see into compressed object streams
(PDF 1.5), where a ``/JavaScript`` action or an ``/EmbeddedFiles`` tree hides
behind FlateDecode. Here every object the file's cross-reference names is parsed
(including those inside object streams), and the decoded contents of every object
stream are searched too, so objects the cross-reference leaves out (found by
readers that repair files) are seen as well. Refused: encryption, JavaScript,
launch, submit, import and media actions, actions that open another file
(``/GoToR``, ``/GoToE``: a path such as ``\\\\host\\share\\x.pdf`` makes Windows
hand the server the reader's password hash), embedded files, XFA forms, additional
actions (``/AA``), an ``/OpenAction`` that is anything but a destination in the
document itself (opening the file must not open a link, nor do anything else), and
links (``/URI``) other than ``http(s):`` and ``mailto:`` ones, which a reader
follows only when clicked. The file is kept byte for byte as sent.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

# Keys that make a PDF run code, fetch or hide things (ISO 32000-1 §7.11.4, §12.6, §12.7.8, §13.6).
FORBIDDEN_KEYS = {"/JS", "/JavaScript", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia",
                  "/RichMediaContent", "/XFA", "/AA", "/SubmitForm", "/ImportData", "/Encrypt"}
# Action types (``/S``) refused wherever they appear.
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE",
                     "/RichMediaExecute", "/Rendition", "/Movie", "/Sound"}
# The same names in the bytes as sent and in decoded object streams (``#xx`` escapes undone).
_NAME = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|Encrypt|SubmitForm|ImportData"
                   rb"|GoToR|GoToE)(?![A-Za-z0-9#])")
# Links a reader follows only when clicked, to a web page or a mail program.
_WEB_LINK = re.compile(r"(?:https?://|mailto:)[^\\]*\Z", re.IGNORECASE)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Work per file is bounded: more objects than any citizen's scan has is refused as unreadable.
MAX_OBJECTS = 20_000
# And so is what its object streams decode to (kilobytes in a real document): zeros compressed
# 1000:1 made a 1 MB file decode to gigabytes, held in memory for minutes, and it was kept.
MAX_DECODED_BYTES = 32 * 1024 * 1024
# Entries of the arrays and dictionaries parsed outside streams, in all (each costs pypdf about
# 4 µs): 10 MB of "[0 0 0 …]" took 20 s of a worker per file; a real document has far fewer
# (a few per object, and MAX_OBJECTS objects).
MAX_ENTRIES = 200_000
# Cross-reference entries read, over every revision of the file (pypdf's default, two million,
# took 4 s for a 10 KB file of zeros): each object has one, ten revisions of MAX_OBJECTS fit.
MAX_XREF_ENTRIES = 10 * MAX_OBJECTS


class UnsafePdf(Exception):
    """Scripts, actions, embedded files or encryption."""


class UnsafeAction(UnsafePdf):
    """An action that opens a link or another file, or one run when the document opens."""


class BadPdf(Exception):
    """Not a PDF pypdf can read as one document."""


def check(data: bytes) -> None:
    """Raise :class:`BadPdf` or :class:`UnsafePdf`; return when the document is plain."""
    _scan(data, "the file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False, xref_stream_maximum_entries=MAX_XREF_ENTRIES)
        if reader.is_encrypted:
            raise UnsafePdf("encrypted")
        numbers = {(num, gen) for gen, table in reader.xref.items() for num in table}
        numbers |= {(num, 0) for num in reader.xref_objStm}
        if len(numbers) > MAX_OBJECTS:
            raise BadPdf("too many objects")
        work = _Work()
        # The object streams first, each counted as soon as it is decoded: reading an object
        # inside one decodes it too, uncounted.
        streams = {(stream, 0) for stream, _index in reader.xref_objStm.values()}
        for num, gen in sorted(streams) + sorted(numbers - streams):
            if num == 0:
                continue
            _inspect(reader.get_object(IndirectObject(num, gen, reader)), work=work)
        if len(reader.pages) < 1:
            raise BadPdf("no pages")
        _inspect(reader.trailer, work=work)
    except (UnsafePdf, BadPdf):
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            OSError, AssertionError) as exc:
        raise BadPdf(type(exc).__name__) from exc


def _scan(data: bytes, where: str) -> None:
    found = _NAME.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data))
    if found:
        refused = UnsafeAction if found.group(1).startswith(b"GoTo") else UnsafePdf
        raise refused(f"forbidden name in {where}")


class _Work:
    """What reading one file has cost so far: the bytes its object streams decoded to (each
    stream once) and the entries parsed. Counted after each object, so a file stops within one
    object's cost."""

    def __init__(self) -> None:
        self.streams: set[int] = set()
        self.decoded = 0
        self.entries = 0


def _inspect(obj: Any, depth: int = 0, *, work: _Work) -> None:
    """Direct objects only: indirect ones are inspected on their own turn."""
    if depth > 64:
        raise BadPdf("nested too deep")
    if isinstance(obj, (DictionaryObject, ArrayObject)):
        work.entries += len(obj)
        if work.entries > MAX_ENTRIES:
            raise BadPdf("too many entries")
    if isinstance(obj, StreamObject) and obj.get("/Type") == "/ObjStm":
        # Compressed objects, whether or not the cross-reference lists them.
        content = obj.get_data()
        if id(obj) not in work.streams:  # a running total: a sum per stream was quadratic in them
            work.streams.add(id(obj))
            work.decoded += len(content)
        if work.decoded > MAX_DECODED_BYTES:
            raise BadPdf("object streams too large")
        _scan(content, "an object stream")
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in FORBIDDEN_KEYS:
                raise UnsafePdf(str(key))
            # An action's kind may be an indirect object: readers resolve it, so this does too.
            kind = value.get_object() if key == "/S" and isinstance(value, IndirectObject) else value
            if key == "/S" and isinstance(kind, NameObject) and kind in FORBIDDEN_ACTIONS:
                raise UnsafeAction(str(kind))
            if key == "/S" and kind == "/URI":
                _link(obj.get("/URI"))
            if key == "/OpenAction":
                _open_action(value)
            if not isinstance(value, IndirectObject):
                _inspect(value, depth + 1, work=work)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            if not isinstance(item, IndirectObject):
                _inspect(item, depth + 1, work=work)


def _link(uri: Any) -> None:
    uri = uri.get_object() if isinstance(uri, IndirectObject) else uri
    text = uri.decode("latin-1") if isinstance(uri, bytes) else str(uri or "")
    if not _WEB_LINK.match(text.strip()):
        raise UnsafeAction("/URI that is not a web or mail link")


def _open_action(value: Any, depth: int = 0) -> None:
    """What runs when the document opens: a destination (``[page /Fit]``, a named one) or
    ``/GoTo`` actions, nothing else (``/Next`` chains included)."""
    if depth > 16:
        raise BadPdf("actions chained too deep")
    action = value.get_object() if isinstance(value, IndirectObject) else value
    if not isinstance(action, DictionaryObject):
        return  # a destination in the document
    if action.get("/S") != "/GoTo":
        raise UnsafeAction(f"/OpenAction {action.get('/S')}")
    following = action.get("/Next")
    following = following.get_object() if isinstance(following, IndirectObject) else following
    for item in following if isinstance(following, ArrayObject) else [following] if following else []:
        _open_action(item, depth + 1)
