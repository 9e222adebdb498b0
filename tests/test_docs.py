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


def test_every_relay_path_the_docs_name_is_served_with_that_method(app):
    """`POST /api/v1/submissions/{code}/lookup` and the like, wherever the docs name one: the
    relay serves that path with that method (a renamed route leaves no stale sample behind)."""
    served = {(re.sub(r"<[^>]+>", "{}", r.rule), m) for r in app.url_map.iter_rules() for m in r.methods}
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "sdk" / "README.md",
            ROOT / "static" / "widget" / "README.md"]
    named = 0
    for doc in docs:
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (?:\{relay\}|https://RELAY)?(/[^`\s?]*)",
                                       doc.read_text("utf-8")):
            if path == "/" or path.startswith("/intake/"):  # bare Flask in the benchmarks; the central system's
                continue
            shape = re.sub(r"\{[^}]+\}|pk_…|SITE_KEY|KEY", "{}", path)
            assert (shape, method) in served, f"{doc.name}: {method} {path} is not served"
            named += 1
    assert named >= 15, named


FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def _doc_snippets(text: str) -> list[str]:
    """Lines of code blocks, inline code (joined across line breaks) and, for the README's
    Commands table, each command of its first column with the program's name put back."""
    out = [line for block in FENCE.findall(text) for line in block.splitlines()]
    out += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", FENCE.sub("", text))]
    if "## Commands" in text:
        table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
        for line in table.splitlines():
            if line.startswith("| `"):
                first = re.split(r"(?<!\\)\|", line)[1]
                out += ["phanhoi-widget " + c for c in re.findall(r"`([^`]+)`", first)]
    return out


def test_every_relay_command_the_docs_show_exists_with_its_options():
    """`phanhoi-widget outbox list --state dead` and the Commands table: each command path is a
    command and each `--option` one of its options (alternatives `a|b` are each checked)."""
    import click

    from widget_server.cli import main

    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "sdk" / "README.md",
            ROOT / "static" / "widget" / "README.md"]
    checked = 0
    for doc in docs:
        for snippet in _doc_snippets(doc.read_text("utf-8")):
            for found in re.finditer(r"(?:^|[\s/(])phanhoi-widget((?: +[^\s#]+)*)", snippet):
                for invocation in re.split(r" \| ", found.group(1).replace("\\|", "|")):
                    tokens = invocation.split()
                    if tokens[:1] == ["phanhoi-widget"]:
                        tokens = tokens[1:]
                    commands: list[click.Command] = [main]
                    for token in tokens:
                        if token.startswith(("-", "[")):
                            break
                        # get_command: a plugin's command too (Flask-Limiter's `limiter`)
                        deeper = [c for g in commands if isinstance(g, click.Group)
                                  for t in token.split("|") if (c := g.get_command(click.Context(g), t))]
                        if not deeper:
                            break
                        commands = deeper
                    for command in commands:
                        where = f"{doc.name}: phanhoi-widget {invocation}"
                        assert not (tokens and isinstance(command, click.Group)), f"{where}: not a command"
                        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
                        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", invocation):
                            assert option in options, f"{where}: {command.name} has no {option}"
                        checked += 1
    assert checked >= 40, checked


def test_every_source_file_the_docs_name_exists():
    """`web/public.py`, `intake/at_once.py`, `bench/widget_size.py`…: a file the docs point a
    reader to is there, under that name (a path may be written from any folder down)."""
    skip = {".git", ".venv", "node_modules", "build", "__pycache__"}
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
             if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)]
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "sdk" / "README.md",
            ROOT / "static" / "widget" / "README.md"]  # bench/README is a log: it names old files too
    named = 0
    for doc in docs:
        for path in set(re.findall(r"`((?:[\w.-]+/)*[\w.-]+\.(?:py|js|mjs|css))`", doc.read_text("utf-8"))):
            assert any(f == path or f.endswith("/" + path) for f in files), f"{doc.relative_to(ROOT)}: no file {path}"
            named += 1
    assert named >= 40, named


def test_the_sdk_readme_gives_each_client_method_its_parameters():
    """The Client reference table's `rate(tracking_code, contact, satisfied, comment=None, *, …)`
    lists the method's parameters in order, as a partner will call it."""
    import inspect

    import phanhoi

    table = SDK_README.split("## Client reference", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\w+)\(([^)]*)\)`", table, flags=re.M)
    assert len(rows) >= 8, rows
    for name, listed in rows:
        documented = [p.strip().split("=")[0] for p in listed.split(",") if p.strip() not in ("", "*")]
        actual = [p for p in inspect.signature(getattr(phanhoi.Client, name)).parameters if p != "self"]
        assert documented == actual, f"Client.{name}: sdk/README.md says {documented}, the SDK has {actual}"


def _problem_types_raised() -> set[str]:
    """Every problem ``type`` the relay's code can give: ``code=``/``type=`` of its errors and
    ``Problem``s, the codes of its form-token and file errors, its error classes' own codes and
    the HTTP errors' slugs (read from the source, so a new one cannot be missed)."""
    import ast

    from widget_server.web.problems import _slug

    slug = re.compile(r"^[a-z]+(-[a-z0-9]+)*$")
    found = {_slug(code) for code in (400, 401, 403, 404, 405, 413, 415, 429, 418)}
    for path in (ROOT / "widget_server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                found |= {st.value.value for st in node.body if isinstance(st, ast.Assign)
                          and [getattr(t, "id", None) for t in st.targets] == ["code"]
                          and isinstance(st.value, ast.Constant)}
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if not (name.endswith("Error") or name in ("Problem", "_file_error")):
                continue
            found |= {k.value.value for k in node.keywords if k.arg in ("code", "type")
                      and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)}
            if name in ("FormTokenError", "_file_error"):
                found |= {a.value for a in node.args if isinstance(a, ast.Constant)
                          and isinstance(a.value, str) and slug.match(a.value)}
    return found


def test_every_problem_type_is_documented_and_every_documented_one_exists():
    """docs/problems.md is where a partner's program learns what each ``type`` means: a type
    the code gives and the page does not name, or a row the code no longer gives, fails."""
    text = (ROOT / "docs" / "problems.md").read_text("utf-8")
    raised = _problem_types_raised()
    assert {"too-fast", "attachment-unsafe", "store-unavailable", "method-not-allowed"} <= raised
    assert raised - set(re.findall(r"`([a-z]+(?:-[a-z0-9]+)*)`", text)) == set()
    rows = {t for line in text.splitlines() if line.startswith("| `")  # a table's first column
            for t in re.findall(r"`([a-z-]+)`", line.split("|")[1])}
    assert rows and rows - raised == set()
