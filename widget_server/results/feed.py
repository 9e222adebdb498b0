"""Atom (RFC 4287) for the latest published results: a newsroom's CMS or a reader's feed
reader follows the board with it. Built with ElementTree, so every text is escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50


def _when(value: dt.datetime | None) -> str:
    return (value or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def atom(items: list[dict[str, Any]], *, title: str, self_url: str, board_url: str,
         entry_url: Callable[[str], str], feed_id: str, author: str) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "vi"})
    _add(root, "id", feed_id)
    _add(root, "title", title)
    # RFC 4287 §4.2.15: the feed changed when its newest entry did.
    _add(root, "updated", _when(max((i["updated_at"] for i in items), default=None)))
    _add(_add(root, "author"), "name", author)
    _add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(root, "link", rel="alternate", type="text/html", href=board_url)
    _add(root, "generator", "Phản hồi Widget")
    for item in items:
        entry = _add(root, "entry")
        url = entry_url(item["id"])
        _add(entry, "id", url)
        _add(entry, "title", item["title"])
        _add(entry, "updated", _when(item["updated_at"]))
        _add(entry, "published", _when(item["published_at"]))
        _add(entry, "link", rel="alternate", type="text/html", href=url)
        if item["agency"]:
            _add(_add(entry, "author"), "name", item["agency"]["name"])
        if item["category"]:
            _add(entry, "category", term=item["category"]["code"], label=item["category"]["name"])
        summary = (item["question"] + "\n\n" if item["question"] else "") + item["answer"]
        _add(entry, "content", summary, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
