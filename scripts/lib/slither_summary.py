#!/usr/bin/env python3
"""Summarizes slither's JSON output for scripts/test and decides the gate: no High or Medium finding.

  slither_summary.py RESULTS_JSON
Exit 0 when slither succeeded and found nothing of impact High or Medium, 1 otherwise. Stdlib only.
"""
import json
import sys
from collections import Counter
from pathlib import Path

GATING = ("High", "Medium")


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    path = Path(argv[1])
    if not path.is_file():
        print(f"slither: no results at {path}: slither did not finish (see its output above)")
        return 1
    data = json.loads(path.read_text(encoding="utf-8"))
    if not data.get("success"):
        print(f"slither: analysis failed: {data.get('error')}")
        return 1
    findings = (data.get("results") or {}).get("detectors") or []
    counts = Counter(f["impact"] for f in findings)
    order = ("High", "Medium", "Low", "Informational", "Optimization")
    print("slither: findings by impact: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in order))
    gating = [f for f in findings if f["impact"] in GATING]
    for f in gating:
        first = f["description"].strip().splitlines()[0]
        print(f"  {f['impact']:<6} {f['check']:<28} {first}")
    if gating:
        print(f"slither: {len(gating)} High/Medium finding(s). Fix them, or if a finding is a justified false "
              "positive, put `// slither-disable-next-line DETECTOR` with a reason on the line before it.")
        return 1
    print("slither: no High or Medium findings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
