"""The extractor registry reaches every module: a format module its package forgets to import
would register nothing, and its type would silently become unsupported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import leaktriage.extractors


def test_discover_imports_every_extractor_module() -> None:
    root = Path(leaktriage.extractors.__file__).parent
    expected = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        expected.add(".".join(("leaktriage.extractors", *parts)))
    script = (
        "import sys\n"
        "from leaktriage.extractors import discover\n"
        "discover()\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('leaktriage.extractors')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    # Private helpers (_dates, _dkim...) are reached through the modules that use them.
    assert expected - set(out.split()) == set()
