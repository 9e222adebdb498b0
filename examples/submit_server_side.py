"""Submit a citizen's feedback from a server (a newspaper CMS, a hotline desk) with
the ``phanhoi`` SDK, and print the tracking code.

    export PHANHOI_BASE_URL=http://localhost:5000
    export PHANHOI_SITE_KEY=site_...      # from `phanhoi-widget sites add ... --json`
    export PHANHOI_SITE_SECRET=sk_...     # the site's secret key (server side only!)
    python examples/submit_server_side.py [attachment ...]

Only submit what the citizen wrote and agreed to: the consent flag below must come
from the citizen ticking the consent box themselves (Law 91/2025/QH15).
"""

from __future__ import annotations

import sys

import phanhoi
from phanhoi import ConsentGiven, Location, SubmissionCreate, Submitter


def main(argv: list[str]) -> int:
    with phanhoi.Client() as client:
        try:
            config = client.site_config()
            category = config.categories[0].code if config.categories else "khac"
            submission = SubmissionCreate(
                category=category,
                title="Rác thải tồn đọng ở chợ Vườn Hoa",
                content=(
                    "Rác thải tại khu vực chợ Vườn Hoa đã ba ngày chưa được thu gom, "
                    "gây mùi hôi ảnh hưởng đến người dân xung quanh."
                ),
                location=Location(address="Chợ Vườn Hoa, phường Hạc Thành, Thanh Hóa"),
                submitter=Submitter(name="Lê Văn A", phone="0912345678"),
                confidential=True,  # "không công khai thông tin cá nhân"
                consent=ConsentGiven(version=config.consent.version, accepted=True),
                source_url="https://news.example/bai-viet",
            )
            # In a CMS, pass your own row id as idempotency_key so a re-run after a
            # crash returns the same submission instead of creating a second one.
            receipt = client.submit(submission, files=argv or None)
        except phanhoi.UnprocessableEntityError as e:
            print(f"Dữ liệu không hợp lệ: {e}", file=sys.stderr)
            for field, messages in e.errors.items():
                print(f"  {field}: {'; '.join(messages)}", file=sys.stderr)
            return 1
        except phanhoi.APIConnectionError as e:
            print(f"Không kết nối được máy chủ: {e}", file=sys.stderr)
            return 3
        except phanhoi.PhanHoiError as e:
            print(f"Lỗi: {e}", file=sys.stderr)
            return 1
    print(f"Mã theo dõi: {receipt.tracking_code}")
    print(f"Trạng thái: {phanhoi.status_label(receipt.status)}")
    if receipt.status_url:
        print(f"Tra cứu: {receipt.status_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
