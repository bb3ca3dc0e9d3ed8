"""Write tests/fixtures/weeks/demo-<week>.status.json from a demo week's status.json, so the unit tests
of incidents and the week page read what the current code publishes (regenerate when the reviews'
findings change; tests/integration/test_published_week.py says when).

    workbench demo up && workbench report --params params --out /tmp/demo-reports
    python scripts/demo_week_fixture.py /tmp/demo-reports/<week>/status.json

Each result keeps what the incidents and the week page read; its timings (profile, seconds), which
differ on every machine and run, are left out. Paths and passwords are refused, not written.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "weeks"
DROPPED = ("profile", "seconds")  # machine- and run-dependent timings
NOTE = ("the demo week's status.json (workbench demo up; workbench report --params params), as the runner "
        "wrote it (schema, incidents) without the timings; regenerate: python scripts/demo_week_fixture.py "
        "<reports>/<week>/status.json")


def fixture(status: dict) -> dict:
    """The fixture's content: `status` with a note and without the timings of each result."""
    results = [{k: v for k, v in r.items() if k not in DROPPED} for r in status["results"]]
    return {"schema": status["schema"], "period": status["period"], "generated": status["generated"], "note": NOTE,
            **{k: v for k, v in status.items() if k not in ("schema", "period", "generated", "results")},
            "results": results}


def main(argv: list[str]) -> int:
    """Read the status.json named in `argv`, write the fixture beside the others, print its path."""
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    status = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    text = json.dumps(fixture(status), indent=1, ensure_ascii=False) + "\n"
    leaks = re.findall(r"(?:/work|/tmp|/home|/root)/\S*|\w+://[^/\s:@]+:[^@\s]+@", text)
    if leaks:
        print(f"not written: the status holds machine paths or passwords: {sorted(set(leaks))[:5]}", file=sys.stderr)
        return 1
    out = FIXTURES / f"demo-{status['period']}.status.json"
    out.write_text(text, encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
