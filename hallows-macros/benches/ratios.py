#!/usr/bin/env python3
"""Turns the text output of `cargo bench -p hallows-macros --bench <name>` (stdin) into the
ratio tables of hallows-macros/README.md.

contention: for every workload/section/thread count, the adaptive dispatcher's time divided by
the best fixed version's time (1.00 = as fast as the best; 1.05 = 5% slower).
cacheline / multiversion: each variant's time relative to the first one listed.
"""
import re
import sys
from collections import defaultdict

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def parse(text):
    times = {}
    name = None
    for line in text.splitlines():
        m = re.match(r"^(\S+/\S+)\s*(time:.*)?$", line.strip())
        if m and not line.strip().startswith("time:") and "/" in line:
            name = m.group(1)
            rest = m.group(2) or ""
        else:
            rest = line
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", rest)
        if t and name:
            times[name] = float(t.group(1)) * UNITS[t.group(2)]
    return times


def contention(times):
    table = defaultdict(dict)
    for name, ns in times.items():
        _, workload, section, variant, threads = name.split("/")
        table[(workload, section, int(threads))][variant] = ns
    print("| workload | section | threads | best fixed | best ns/op | adaptive ns/op | adaptive / best |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for (workload, section, threads), row in sorted(table.items()):
        fixed = {k: v for k, v in row.items() if k != "adaptive"}
        if "adaptive" not in row or not fixed:
            continue
        best = min(fixed, key=fixed.get)
        ratio = row["adaptive"] / fixed[best]
        worst = max(worst, ratio)
        print(f"| {workload} | {section} | {threads} | {best} | {fixed[best]:.1f} | {row['adaptive']:.1f} | {ratio:.2f} |")
    print(f"\nworst adaptive / best ratio: {worst:.2f}")


def relative(times):
    groups = defaultdict(list)
    for name, ns in times.items():
        group, variant = name.rsplit("/", 1)
        groups[group].append((variant, ns))
    for group, rows in groups.items():
        base = rows[0][1]
        print(f"| {group} | " + " | ".join(f"{v}: {ns:.1f} ns ({base / ns:.2f}x)" for v, ns in rows) + " |")


def main():
    times = parse(sys.stdin.read())
    if any(n.startswith("contention/") for n in times):
        contention(times)
    else:
        relative(times)


if __name__ == "__main__":
    main()
