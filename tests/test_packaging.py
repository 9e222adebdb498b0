"""The built wheel carries templates and the widget's static files and runs outside the source tree."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _build(where: Path, out: Path, pattern: str) -> Path:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
                   cwd=where, check=True, capture_output=True)
    (path,) = out.glob(pattern)
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build(ROOT, tmp_path_factory.mktemp("dist"), "phanhoi_widget-*.whl")


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory) -> Path:
    return _build(ROOT / "sdk", tmp_path_factory.mktemp("sdkdist"), "phanhoi-*.whl")


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ["widget_server/__init__.py", "widget_server/static/widget/build/loader.js",
                     "widget_server/static/widget/build/form.js", "widget_server/static/widget/build/form.css",
                     "widget_server/static/widget/i18n/vi.json",
                     "widget_server/store/migrations/env.py"]:
        assert required in names, required
    assert any(n.startswith("widget_server/web/templates/") and n.endswith(".html") for n in names)
    assert any(n.startswith("widget_server/store/migrations/versions/") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # The SDK and the reference central system are distributions of their own.
    assert not any(n.startswith(("tests/", "bench/", "phanhoi/", "central_system/", "examples/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "Requires-Dist: phanhoi>=" in metadata
    # The readable sources and the build script stay in the repository; browsers get the build.
    assert "widget_server/static/widget/loader.js" not in names
    assert not any(n.endswith((".mjs", "banner.css")) for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_source_tree(wheel, sdk_wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel), str(sdk_wheel)],
                   check=True, capture_output=True)
    # The wheel's dependencies come from this environment, but not its editable source paths:
    # a .pth line adds a directory without processing the .pth files inside it.
    site = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = textwrap.dedent(f"""
        import widget_server, phanhoi
        for m in (widget_server, phanhoi):
            assert "{ROOT}" not in m.__file__, m.__file__
        from widget_server import create_app
        from widget_server.store import db
        app = create_app({{"TESTING": True, "DATABASE_URL": "sqlite:///{tmp_path}/w.db",
                          "SECRET_KEY": "x" * 32, "MIN_FILL_SECONDS": 0}})
        db.upgrade(db.get_engine(app))
        with app.app_context():
            from widget_server.intake import sites
            site, _ = sites.create_site("Báo", ["https://bao.example"])
        c = app.test_client()
        r = c.get("/static/widget/loader.js"); assert r.status_code == 200 and len(r.data) > 500, r.status_code
        r = c.get("/static/widget/manifest.json"); assert r.status_code == 200, r.status_code
        r = c.get(f"/w/{{site.key}}/form"); assert r.status_code == 200 and "<form" in r.get_data(as_text=True), r.status_code
        r = c.get(f"/s/{{site.key}}"); assert r.status_code == 200, r.status_code
        print("ok")
    """)
    result = subprocess.run([str(py), "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    cli = subprocess.run([str(venv / "bin" / "phanhoi-widget"), "--help"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert cli.returncode == 0 and "sites" in cli.stdout, cli.stderr
    # The reference central system is a distribution of its own: the demo says so, no traceback.
    demo = subprocess.run([str(venv / "bin" / "phanhoi-widget"), "demo", "--port", "5", "--instance",
                           str(tmp_path / "demo")], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert demo.returncode == 1 and "Traceback" not in demo.stderr, demo.stderr
    assert demo.stderr.startswith("Error: Bản demo cần hệ thống trung tâm mẫu") and "pip install ./examples" in demo.stderr
    assert not (tmp_path / "demo").exists()
    # Side by side, and each uninstalls cleanly without taking the other's files.
    subprocess.run([*pip, "uninstall", "--yes", "phanhoi-widget"], check=True, capture_output=True)
    assert not (site / "widget_server").exists()
    assert subprocess.run([str(py), "-c", "import phanhoi.central"], capture_output=True).returncode == 0
    subprocess.run([*pip, "uninstall", "--yes", "phanhoi"], check=True, capture_output=True)
    assert not (site / "phanhoi").exists()


def _production_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Production deployment", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_production_install_builds_the_sdk_the_relay_depends_on(wheel):
    """Neither `phanhoi-widget` nor the SDK `phanhoi` it requires is on PyPI: `pip install
    "phanhoi-widget[postgres,redis]"`, or the relay's wheel alone, ended in "No matching
    distribution found for phanhoi>=0.1.0". The README builds both and installs from that folder."""
    commands = _production_commands()
    builds = [c for c in commands if "-m build" in c]
    assert any(re.search(r"-m build( --outdir \S+)? sdk\b", c) for c in builds), builds
    assert any(re.search(r"-m build( --outdir \S+)? \.( |$)", c) for c in builds), builds
    installs = [c for c in commands if c.startswith("pip install")]
    assert installs and all("--find-links" in c for c in installs), installs
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("/METADATA"))).decode()
    assert "Requires-Dist: phanhoi>=" in metadata  # what makes the SDK's wheel necessary


def test_sdk_wheel_depends_on_requests_alone(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
                   cwd=ROOT / "sdk", check=True, capture_output=True)
    (path,) = tmp_path.glob("phanhoi-*.whl")
    archive = zipfile.ZipFile(path)
    assert "phanhoi/py.typed" in archive.namelist()
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith("/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].strip() for r in core] == ["requests"], requires
    loaded = subprocess.check_output(
        [sys.executable, "-c", "import sys, phanhoi, phanhoi.central, phanhoi.embed, phanhoi.cli; "
         "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
         "{'flask', 'werkzeug', 'sqlalchemy', 'marshmallow', 'segno'})))"], text=True)
    assert loaded.strip() == ""
