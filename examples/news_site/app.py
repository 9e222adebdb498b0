"""A tiny news site that carries the Phản hồi widget under its articles.

Run (from the repository root):

    PHANHOI_RELAY_URL=http://localhost:5000 PHANHOI_SITE_KEY=site_... \
        flask --app examples/news_site/app.py run --port 8000

Settings: ``PHANHOI_RELAY_URL``, ``PHANHOI_SITE_KEY``, ``PHANHOI_EMBED_PIN``
(``1`` default: versioned loader with SRI; ``0``: always the newest loader.js),
``PHANHOI_EMBED_VARIANT`` (banner | button | inline).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response, render_template
from markupsafe import Markup
from phanhoi import PhanHoiError, embed_snippet, qr_svg, standalone_url

log = logging.getLogger(__name__)

ARTICLE = {
    "title": "Thanh Hóa đẩy mạnh tiếp nhận phản ánh, kiến nghị của người dân qua mạng",
    "lead": (
        "Người dân có thể gửi phản ánh, kiến nghị về thủ tục hành chính và dịch vụ công "
        "ngay trên trang báo, theo dõi kết quả bằng mã tra cứu."
    ),
    "paragraphs": [
        (
            "Hệ thống Phản hồi Thanh Hóa tiếp nhận phản ánh, kiến nghị về môi trường, an toàn "
            "thực phẩm, hạ tầng kỹ thuật, vướng mắc của doanh nghiệp và hành vi gây phiền hà "
            "của cán bộ trong giải quyết thủ tục hành chính."
        ),
        (
            "Thông tin cá nhân của người gửi không được công khai nếu người gửi không đồng ý. "
            "Khiếu nại, tố cáo được giải quyết theo quy định riêng."
        ),
    ],
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        RELAY_URL=os.environ.get("PHANHOI_RELAY_URL", "http://localhost:5000"),
        SITE_KEY=os.environ.get("PHANHOI_SITE_KEY", "demo"),
        EMBED_PIN=os.environ.get("PHANHOI_EMBED_PIN", "1") != "0",
        EMBED_VARIANT=os.environ.get("PHANHOI_EMBED_VARIANT", "banner"),
    )
    if test_config:
        app.config.update(test_config)
    cache: dict[str, str] = {}

    def snippet() -> str:
        # Fetch the manifest once per process, not per page view. If the relay is
        # unreachable, keep serving articles with the unpinned loader rather than
        # failing the news page.
        if "snippet" not in cache:
            cfg = app.config
            try:
                cache["snippet"] = embed_snippet(
                    cfg["RELAY_URL"], cfg["SITE_KEY"], cfg["EMBED_VARIANT"], "vi", cfg["EMBED_PIN"]
                )
            except PhanHoiError as e:
                log.warning("widget manifest unavailable, using unpinned loader: %s", e)
                return embed_snippet(
                    cfg["RELAY_URL"], cfg["SITE_KEY"], cfg["EMBED_VARIANT"], "vi", pin=False
                )
        return cache["snippet"]

    @app.get("/")
    def article() -> str:
        return render_template(
            "article.html",
            article=ARTICLE,
            # embed_snippet escapes every attribute value itself.
            widget=Markup(snippet()),  # noqa: S704 - built by embed_snippet, which escapes it
            form_url=standalone_url(app.config["RELAY_URL"], app.config["SITE_KEY"], "web"),
        )

    @app.get("/qr.svg")
    def qr() -> Response:
        svg = qr_svg(app.config["RELAY_URL"], app.config["SITE_KEY"], "print")
        return Response(svg, mimetype="image/svg+xml")

    return app


if __name__ == "__main__":
    create_app().run(port=int(os.environ.get("PORT", "8000")))
