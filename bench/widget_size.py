"""Widget weight: raw, gzip and brotli sizes of what browsers download, against the budgets.

    python bench/widget_size.py          # table
    python bench/widget_size.py --json   # for scripts and CI

Sizes are of the files as the relay serves them: esbuild's output in
``static/widget/build/`` (``make widget``), compressed the way the relay serves
them (gzip level 9, brotli quality 11), read through ``widget_server.web.assets``.
"source" is the readable source the build starts from (for the loader, with the
banner.css it inlines). The form page's own HTML (``/w/KEY/form``, rendered by a
relay on a throw-away SQLite database) is counted too, compressed as
``widget_server.web.compress`` serves pages (gzip level 6, brotli quality 5).
Exit status 1 when a budget is exceeded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from widget_server.web import compress  # noqa: E402
from widget_server.web.assets import get_asset, widget_dir  # noqa: E402

FORM_HTML = "form page HTML (/w/KEY/form)"

# What loads before any click, and what the form page loads (issue 3, item 8). altcha.js
# loads only on the form pages of sites that turn ALTCHA on; both form figures must fit.
BUDGETS = {
    "before click (loader.js)": (["loader.js"], 4 * 1024),
    # dialog.js loads on intent (pointer or focus on the banner); reported, budgeted with the loader.
    # 6 KB + 64 B: the banner's rules for larger text (WCAG 1.4.4) took the last bytes of 6 KB.
    "after intent (loader.js + dialog.js)": (["loader.js", "dialog.js"], 6 * 1024 + 64),
    "form page (form.js + form.css)": (["form.js", "form.css"], 12 * 1024),
    "form page with ALTCHA (+ altcha.js)": (["form.js", "form.css", "altcha.js"], 12 * 1024),
    # Issue 10, item 6: the page itself, and everything the framed form downloads.
    "form page HTML": ([FORM_HTML], 9 * 1024),
    "form page, all of it (HTML + form.js + form.css)": ([FORM_HTML, "form.js", "form.css"], 20 * 1024),
    # The results and scoreboard variants' framed page, fetched only when the slot nears the viewport.
    "variants (board.js + board.css)": (["board.js", "board.css"], 4 * 1024),
}


# Sources a built file is made of, when more than the file of the same name.
SOURCES = {"loader.js": ["loader.js", "banner.css"], "dialog.js": ["dialog.js", "dialog.css"]}


@lru_cache(maxsize=1)
def form_page_html() -> bytes:
    """The framed form's HTML as the relay renders it, uncompressed."""
    from widget_server import create_app
    from widget_server.intake import sites
    from widget_server.store import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench-" * 6, "ATTACHMENT_DIR": folder,
                          "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3"})
        engine = db.get_engine(app)
        db.upgrade(engine)
        with app.app_context():
            site, _ = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
        resp = app.test_client().get(f"/w/{site.key}/form", headers={"Accept-Encoding": "identity"})
        engine.dispose()
    if resp.status_code != 200:
        raise SystemExit(f"the form page answered {resp.status_code}")
    return resp.data


def sizes(name: str) -> dict[str, int]:
    if name == FORM_HTML:
        body = form_page_html()
        return {"source": len(body), "raw": len(body), "gzip": len(compress.encode(body, "gzip")),
                "brotli": len(compress.encode(body, "br")) if compress.brotli_available() else -1}
    asset = get_asset(name)
    if asset is None:
        raise SystemExit(f"{name} is not built: run `make widget`")
    source = sum(len((widget_dir() / part).read_bytes()) for part in SOURCES.get(name, [name]))
    return {
        "source": source,
        "raw": len(asset.body),
        "gzip": len(asset.gzip),
        "brotli": len(asset.brotli) if asset.brotli is not None else -1,
    }


def report() -> dict:
    files = {name: sizes(name) for names, _ in BUDGETS.values() for name in names}
    groups = {}
    for label, (names, budget) in BUDGETS.items():
        total = {k: sum(files[n][k] for n in names) for k in ("raw", "gzip", "brotli")}
        groups[label] = {**total, "budget_gzip": budget, "ok": total["gzip"] <= budget}
    return {"files": files, "budgets": groups}


def main(argv: list[str]) -> int:
    data = report()
    if "--json" in argv:
        print(json.dumps(data, indent=2))
    else:
        print(f"{'file':<34}{'source':>9}{'raw':>9}{'gzip':>9}{'brotli':>9}")
        for name, s in data["files"].items():
            print(f"{name:<34}{s['source']:>9}{s['raw']:>9}{s['gzip']:>9}{s['brotli']:>9}")
        print()
        print(f"{'budget':<50}{'raw':>9}{'gzip':>9}{'brotli':>9}{'limit':>9}")
        for label, g in data["budgets"].items():
            flag = "ok" if g["ok"] else "OVER"
            print(f"{label:<50}{g['raw']:>9}{g['gzip']:>9}{g['brotli']:>9}{g['budget_gzip']:>9}  {flag}")
    return 0 if all(g["ok"] for g in data["budgets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
