"""Tests that keep the documentation honest."""

from __future__ import annotations

import re
from pathlib import Path

from widget_server.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    documented = set(re.findall(r"^\| `PHANHOI_([A-Z0-9_]+)` \|", README, flags=re.M))
    missing = {f"PHANHOI_{name}" for name in SETTINGS} - {f"PHANHOI_{n}" for n in documented}
    assert not missing, f"undocumented settings: {sorted(missing)}"
    stale = documented - set(SETTINGS)
    assert not stale, f"documented settings that do not exist: {sorted(stale)}"


def test_every_setting_read_in_the_code_is_declared():
    used: set[str] = set()
    for path in (ROOT / "widget_server").rglob("*.py"):
        used |= set(re.findall(r"""config\[["']([A-Z][A-Z0-9_]+)["']\]""", path.read_text("utf-8")))
        used |= set(re.findall(r"""config\.get\(["']([A-Z][A-Z0-9_]+)["']""", path.read_text("utf-8")))
    # Flask's own keys, and keys the demo command sets for the pages (not user settings).
    flask_own = {"TESTING", "SECRET_KEY", "RATELIMIT_ENABLED", "SERVER_NAME", "DEMO_SITE_KEY"}
    undeclared = used - set(SETTINGS) - flask_own
    assert not undeclared, f"settings read but not declared in config.SETTINGS: {sorted(undeclared)}"


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_status_labels_have_one_wording_everywhere():
    import json

    from phanhoi.models import STATUS_LABELS_VI
    from widget_server.vocab import STATUSES

    vi = json.loads((ROOT / "static/widget/i18n/vi.json").read_text("utf-8"))["statuses"]
    en = json.loads((ROOT / "static/widget/i18n/en.json").read_text("utf-8"))["statuses"]
    assert set(vi) == set(en) == set(STATUSES)
    assert STATUS_LABELS_VI == vi  # the SDK ships without the relay, so it keeps a copy
    assert len(set(vi.values())) == len(vi)  # no two statuses read alike


SDK_README = (ROOT / "sdk" / "README.md").read_text(encoding="utf-8")


def test_the_sdk_readme_names_every_field_of_the_objects_it_shows():
    """`SubmissionReceipt(id, tracking_code, …)` in the SDK's README is what a partner reads to
    know what they get: every name there exists, and no field is left out."""
    import dataclasses

    import phanhoi
    from phanhoi import events, models, webhooks

    shown = re.findall(r"`([A-Z][A-Za-z]+)\(([a-z0-9_, ]+)\)`", SDK_README)
    assert len(shown) >= 8, shown
    for name, listed in shown:
        cls = next(getattr(m, name) for m in (phanhoi, models, events, webhooks) if hasattr(m, name))
        assert dataclasses.is_dataclass(cls), name
        documented = [a.strip() for a in listed.split(",")]
        missing = [f.name for f in dataclasses.fields(cls) if f.name != "raw" and f.name not in documented]
        assert not missing, f"{name}: sdk/README.md does not name {missing}"
        unknown = [a for a in documented if not any(f.name == a for f in dataclasses.fields(cls))
                   and not isinstance(getattr(cls, a, None), property)]
        assert not unknown, f"{name}: sdk/README.md names {unknown}, which it does not have"
