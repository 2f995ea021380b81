#!/usr/bin/env python3
"""Gas budget check for scripts/test: fails if a measured operation costs more than its budget.

Reads the snapshot the gas tests just wrote under FOUNDRY_PROFILE=gas (group "LeaseEscrow", execution gas):
  gas_budget.py SNAPSHOT_DIR
A budgeted entry that is missing from the snapshot is a failure too (renamed or dropped test).
Stdlib only. Budgets are in gas and live here, so raising one is a reviewed change to this file.
"""
import json
import sys
from pathlib import Path

BUDGETS = {
    "LeaseEscrow": {
        "open lease": 150_000,
        "acknowledge": 70_000,
        "top up": 40_000,
        "withdraw one lease": 60_000,
        "close": 60_000,
    },
}


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    snap_dir = Path(argv[1])
    failures = 0
    print(f"  {'group':<14} {'name':<22} {'gas':>9} {'budget':>9} {'headroom':>9}  result")
    for group, budgets in BUDGETS.items():
        path = snap_dir / f"{group}.json"
        measured = {}
        if path.is_file():
            measured = {k: int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
        for name, budget in budgets.items():
            gas = measured.get(name)
            if gas is None:
                failures += 1
                print(f"  {group:<14} {name:<22} {'-':>9} {budget:>9} {'-':>9}  MISSING from {path}")
                continue
            ok = gas <= budget
            failures += not ok
            print(f"  {group:<14} {name:<22} {gas:>9} {budget:>9} {budget - gas:>9}  {'ok' if ok else 'OVER BUDGET'}")
        for name in sorted(set(measured) - set(budgets)):
            print(f"  {group:<14} {name:<22} {measured[name]:>9} {'-':>9} {'-':>9}  (no budget)")
    if failures:
        print(f"gas-budget: {failures} entr{'y' if failures == 1 else 'ies'} over budget or missing")
        return 1
    print("gas-budget: all budgeted operations within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
