"""Every Python block of the READMEs runs as written: no name used that it does not define."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "sdk" / "README.md", ROOT / "README.md"]
BLOCKS = [
    pytest.param(block, id=f"{doc.relative_to(ROOT)}:{n}")
    for doc in DOCS
    for n, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text("utf-8"), re.S), 1)
]


@pytest.mark.parametrize("block", BLOCKS)
def test_readme_python_blocks_define_every_name_they_use(block: str, tmp_path: Path) -> None:
    path = tmp_path / "block.py"
    path.write_text(block, encoding="utf-8")
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--isolated", "--no-cache", "--select", "F821,F822,F823", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, block + result.stdout
