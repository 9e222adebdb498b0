"""PDF attachments, parsed with pypdf: one readable document, nothing that runs or hides files.

A regular expression over the bytes cannot see into compressed object streams
(PDF 1.5), where a ``/JavaScript`` action or an ``/EmbeddedFiles`` tree hides
behind FlateDecode. Here every object the file's cross-reference names is parsed
(including those inside object streams), and the decoded contents of every object
stream are searched too, so objects the cross-reference leaves out (found by
readers that repair files) are seen as well. Refused: encryption, JavaScript,
launch, submit, import and media actions, embedded files, XFA forms, additional
actions (``/AA``). The file is kept byte for byte as sent.
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
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToE", "/RichMediaExecute",
                     "/Rendition", "/Movie", "/Sound"}
# The same names in the bytes as sent and in decoded object streams (``#xx`` escapes undone).
_NAME = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|Encrypt|SubmitForm|ImportData)"
                   rb"(?![A-Za-z0-9#])")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Work per file is bounded: more objects than any citizen's scan has is refused as unreadable.
MAX_OBJECTS = 20_000


class UnsafePdf(Exception):
    """Scripts, actions, embedded files or encryption."""


class BadPdf(Exception):
    """Not a PDF pypdf can read as one document."""


def check(data: bytes) -> None:
    """Raise :class:`BadPdf` or :class:`UnsafePdf`; return when the document is plain."""
    if _NAME.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)):
        raise UnsafePdf("forbidden name in the file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnsafePdf("encrypted")
        numbers = {(num, gen) for gen, table in reader.xref.items() for num in table}
        numbers |= {(num, 0) for num in reader.xref_objStm}
        if len(numbers) > MAX_OBJECTS:
            raise BadPdf("too many objects")
        for num, gen in sorted(numbers):
            if num == 0:
                continue
            _inspect(reader.get_object(IndirectObject(num, gen, reader)))
        if len(reader.pages) < 1:
            raise BadPdf("no pages")
        _inspect(reader.trailer)
    except (UnsafePdf, BadPdf):
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            OSError, AssertionError) as exc:
        raise BadPdf(type(exc).__name__) from exc


def _inspect(obj: Any, depth: int = 0) -> None:
    """Direct objects only: indirect ones are inspected on their own turn."""
    if depth > 64:
        raise BadPdf("nested too deep")
    if isinstance(obj, StreamObject) and obj.get("/Type") == "/ObjStm":
        # Compressed objects, whether or not the cross-reference lists them.
        decoded = obj.get_data()
        if _NAME.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), decoded)):
            raise UnsafePdf("forbidden name in an object stream")
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in FORBIDDEN_KEYS:
                raise UnsafePdf(str(key))
            if key == "/S" and isinstance(value, NameObject) and value in FORBIDDEN_ACTIONS:
                raise UnsafePdf(str(value))
            if not isinstance(value, IndirectObject):
                _inspect(value, depth + 1)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            if not isinstance(item, IndirectObject):
                _inspect(item, depth + 1)
