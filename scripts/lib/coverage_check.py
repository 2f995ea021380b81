#!/usr/bin/env python3
"""Coverage gate for scripts/test: line AND branch coverage of the contracts must each be >= 95%.

  coverage_check.py LCOV_FILE [SOURCE_PREFIX]

Reads the lcov report of `forge coverage --report lcov`, keeps only files under SOURCE_PREFIX
(default contracts/src/; tests, scripts and dependencies are left out), prints a per-file table with the
uncovered lines and branches, and fails if the total line or branch percentage is below the minimum.
Stdlib only. The minimum lives here on purpose, so lowering it is a reviewed change.
"""
import sys
from pathlib import Path

MIN_LINES = 95.0
MIN_BRANCHES = 95.0


def parse(path: Path):
    files, cur = {}, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("SF:"):
            name = line[3:]
            cur = files.setdefault(name, {"lines": {}, "branches": {}})
        elif cur is None:
            continue
        elif line.startswith("DA:"):
            num, count = line[3:].split(",")[:2]
            cur["lines"][int(num)] = max(cur["lines"].get(int(num), 0), int(count))
        elif line.startswith("BRDA:"):
            num, block, branch, taken = line[5:].split(",")
            key = (int(num), block, branch)
            cur["branches"][key] = max(cur["branches"].get(key, 0), 0 if taken == "-" else int(taken))
        elif line == "end_of_record":
            cur = None
    return files


def pct(hit, found):
    return 100.0 if found == 0 else 100.0 * hit / found


def ranges(nums):
    nums, out = sorted(set(nums)), []
    for n in nums:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in out)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    prefix = argv[2] if len(argv) == 3 else "contracts/src/"
    files = {k: v for k, v in parse(Path(argv[1])).items() if k.startswith(prefix)}
    if not files:
        print(f"coverage: no files under {prefix} in {argv[1]}")
        return 1
    width = max(len(f) for f in files) + 2
    print(f"  {'file':<{width}} {'lines':<20} {'branches':<20}")
    tl = th = tb = tbh = 0
    notes = []
    for name in sorted(files):
        lines, branches = files[name]["lines"], files[name]["branches"]
        lf, lh = len(lines), sum(1 for c in lines.values() if c > 0)
        bf, bh = len(branches), sum(1 for c in branches.values() if c > 0)
        tl, th, tb, tbh = tl + lf, th + lh, tb + bf, tbh + bh
        print(f"  {name:<{width}} {pct(lh, lf):6.2f}% ({lh:>4}/{lf:<4}) {pct(bh, bf):6.2f}% ({bh:>4}/{bf:<4})")
        missed_lines = [n for n, c in lines.items() if c == 0]
        missed_branches = [k[0] for k, c in branches.items() if c == 0]
        if missed_lines:
            notes.append(f"  {name}: uncovered lines {ranges(missed_lines)}")
        if missed_branches:
            notes.append(f"  {name}: untaken branches at lines {ranges(missed_branches)}")
    lp, bp = pct(th, tl), pct(tbh, tb)
    print(f"  {'TOTAL':<{width}} {lp:6.2f}% ({th:>4}/{tl:<4}) {bp:6.2f}% ({tbh:>4}/{tb:<4})")
    for n in notes:
        print(n)
    ok = lp >= MIN_LINES and bp >= MIN_BRANCHES
    print(f"coverage: lines {lp:.2f}% (min {MIN_LINES}%), branches {bp:.2f}% (min {MIN_BRANCHES}%): "
          f"{'ok' if ok else 'BELOW MINIMUM'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
