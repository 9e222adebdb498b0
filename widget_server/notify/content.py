"""What a notice says: the tracking code and a link to the track page, nothing else.

Never the answer, the citizen's name, contact or anything they wrote: a notice may
be read on a shared phone or a work mailbox, and the answer is behind the lookup,
which asks for the contact again. Vietnamese first, English second.

SMS: one segment, counted as the network counts it. Vietnamese with its diacritics
needs UCS-2, where one segment holds 70 UTF-16 units; the code, a sentence and a link
do not fit. So the SMS is Vietnamese written without diacritics, as Vietnamese
service SMS usually are, in the GSM 03.38 alphabet, where one segment holds 160
septets (characters of the extension table count two). If the link to the article
makes it longer, the relay's own track page is linked instead, and if even that
does not fit (a very long ``PUBLIC_URL``), the SMS names the code and the site only.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from widget_server.intake.rows import track_page as relay_link  # the 201's status_url too

#: What the notice says happened, by the status that triggered it.
HEADLINES = {
    "answered": ("đã có trả lời", "has an answer"),
    "published": ("đã có trả lời", "has an answer"),
    "rejected": ("đã có kết quả xử lý", "has a decision"),
    "accepted": ("đã được tiếp nhận", "has been accepted"),
}
#: The fragment the loader reads to open the lookup with the code filled in.
TRACK_FRAGMENT = "phanhoi-track="

SMS_SEGMENT_GSM7 = 160
SMS_SEGMENT_UCS2 = 70

# GSM 03.38: the basic table (one septet each) and its extension table (escape + one: two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def gsm7_septets(text: str) -> int | None:
    """Septets ``text`` takes in the GSM 7-bit alphabet, or None if it needs UCS-2."""
    count = 0
    for ch in text:
        if ch in GSM7_BASIC:
            count += 1
        elif ch in GSM7_EXTENSION:
            count += 2
        else:
            return None
    return count


def sms_segments(text: str) -> int:
    """Segments the network bills for ``text`` (one-part limits: 160 septets, or 70 UTF-16 units)."""
    septets = gsm7_septets(text)
    if septets is not None:
        return 1 if septets <= SMS_SEGMENT_GSM7 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= SMS_SEGMENT_UCS2 else -(-units // 67)


def unaccented(text: str) -> str:
    """Vietnamese without diacritics: "Phản ánh đã có" → "Phan anh da co" (Đ does not decompose)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def track_link(*, public_url: str, site_key: str, code: str, article: str | None = None) -> str:
    """The article the citizen wrote from, opening its lookup; else the relay's track page."""
    if article:
        parts = urlsplit(article)
        # Origin and path only: the query may carry someone's tracking parameters.
        return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}#{TRACK_FRAGMENT}{quote(code, safe='-')}"
    return relay_link(public_url=public_url, site_key=site_key, code=code)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def email(*, status: str, code: str, site_name: str, link: str) -> Message:
    vi, en = HEADLINES.get(status, HEADLINES["answered"])
    subject = f"Phản ánh {code} {vi} · Your feedback {code} {en}"
    text = (
        f"Phản ánh, kiến nghị mã {code} bạn gửi qua {site_name} {vi}.\n\n"
        f"Xem tại: {link}\n"
        "Để xem, nhập mã theo dõi cùng số điện thoại hoặc email bạn đã dùng khi gửi.\n\n"
        "Bạn nhận thư này vì đã chọn “Báo cho tôi khi có trả lời”. Đây là thư tự động, "
        "vui lòng không trả lời thư này.\n\n"
        "—\n"
        f"Your feedback with tracking code {code}, sent through {site_name}, {en}.\n\n"
        f"See it at: {link}\n"
        "Enter the tracking code with the phone number or email you gave.\n\n"
        "You get this message because you asked to be told when the answer comes. "
        "It is sent automatically; please do not reply.\n"
    )
    e = html.escape
    body = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head><body>"
        f"<p>Phản ánh, kiến nghị mã <strong>{e(code)}</strong> bạn gửi qua {e(site_name)} {e(vi)}.</p>"
        f'<p><a href="{e(link)}">Xem tại trang tra cứu</a></p>'
        "<p>Để xem, nhập mã theo dõi cùng số điện thoại hoặc email bạn đã dùng khi gửi.</p>"
        "<p><small>Bạn nhận thư này vì đã chọn “Báo cho tôi khi có trả lời”. Đây là thư tự động, "
        "vui lòng không trả lời thư này.</small></p><hr>"
        f'<div lang="en"><p>Your feedback with tracking code <strong>{e(code)}</strong>, sent through '
        f"{e(site_name)}, {e(en)}.</p>"
        f'<p><a href="{e(link)}">See it on the lookup page</a></p>'
        "<p>Enter the tracking code with the phone number or email you gave.</p>"
        "<p><small>You get this message because you asked to be told when the answer comes. "
        "It is sent automatically; please do not reply.</small></p></div>"
        "</body></html>"
    )
    return Message(subject=subject, text=text, html=body)


def sms(*, status: str, code: str, site_name: str, links: list[str]) -> str:
    """One GSM-7 segment: the first of ``links`` that fits, or none."""
    vi, _ = HEADLINES.get(status, HEADLINES["answered"])
    head = unaccented(f"Phản ánh {code} {vi}.")
    for link in links:
        candidate = f"{head} Xem: {link}"
        septets = gsm7_septets(candidate)
        if septets is not None and septets <= SMS_SEGMENT_GSM7:
            return candidate
    fallback = unaccented(f"{head} Tra cứu bằng mã này trên trang {site_name}.")
    septets = gsm7_septets(fallback)
    if septets is None or septets > SMS_SEGMENT_GSM7:
        fallback = head
    return fallback
