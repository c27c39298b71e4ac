"""Writes a function whose entry is a CASES-way switch with skewed weights; every case joins.

The dense CFG is the worst case for ext-TSP's split candidates (one chain adjacent to every
other), so it exercises the split-work budget. Usage: wide_switch.py NAME CASES
"""
import sys

name = sys.argv[1]
cases = int(sys.argv[2])
out = [f"define i64 @{name}(i64 %x) !prof !0 {{", "entry:", "  switch i64 %x, label %def ["]
out += [f"    i64 {i}, label %c{i}" for i in range(cases)]
out.append("  ], !prof !1")
for i in range(cases):
    out += [f"c{i}:", f"  %v{i} = mul i64 %x, {i + 3}", "  br label %join"]
out += ["def:", "  br label %join", "join:"]
phis = ", ".join(f"[ %v{i}, %c{i} ]" for i in range(cases))
out += [f"  %r = phi i64 {phis}, [ 0, %def ]", "  ret i64 %r", "}", ""]
out.append('!0 = !{!"function_entry_count", i64 100000}')
weights = ", ".join(f"i32 {(i * 37) % 100 + 1}" for i in range(cases))
out.append(f'!1 = !{{!"branch_weights", i32 5, {weights}}}')
print("\n".join(out))
