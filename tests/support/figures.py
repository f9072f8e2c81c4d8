"""Figures a reliability run reports (load held, faults injected, inputs tried).

Each test calls ``record(name, ...)``; with ``O2C_RELIABILITY_REPORT=FILE`` set
(``scripts/reliability`` sets it) every record is appended to FILE as one JSON
line, which the script sums up for docs/reliability.md. Without it, the record
is only printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def record(name: str, **figures: Any) -> None:
    line = json.dumps({"test": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       **figures}, default=str, sort_keys=True)
    print(line)
    target = os.environ.get("O2C_RELIABILITY_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
