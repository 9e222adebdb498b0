"""Language marking and copy on the pages, over HTTP."""

from __future__ import annotations

import re
from typing import Any


def test_english_page_marks_vietnamese_data_and_consent(client: Any, site: Any) -> None:
    key = site[0].key
    en = client.get(f"/s/{key}?lang=en").get_data(as_text=True)
    # Topic, agency and commune names and the consent text are Vietnamese: screen readers
    # must read them with a Vietnamese voice on an English page.
    for sid in ("f-category", "f-agency", "f-location-commune_code"):
        assert re.search(rf'<select id="{sid}" lang="vi"', en), sid
    assert '<option value="" lang="en">— Choose —</option>' in en
    assert '<option value="" lang="en">Not sure: the provincial system decides</option>' in en
    assert '<label for="f-consent-accepted" lang="vi">' in en
    assert "Chưa rõ cơ quan" not in en
    vi = client.get(f"/s/{key}").get_data(as_text=True)
    assert 'lang="vi"' not in vi.split("<body>", 1)[1]
    assert "Chưa rõ cơ quan" in vi
