"""Writes a function with BLOCKS blocks and branch weights, for the bounded-time tests.

Block i (1 <= i < BLOCKS-1) falls to i+1 with weight 1000 and branches to a block 7 ahead
with weight 1; the blocks are written in a scrambled (deterministic) order, so a layout pass
has to rebuild the long hot chain. Usage: large_function.py NAME BLOCKS
"""
import sys

name = sys.argv[1]
blocks = int(sys.argv[2])
bodies = {0: ["b0:", "  br label %b1"]}
for i in range(1, blocks - 1):
    side = min(blocks - 1, i + 7)
    bodies[i] = [
        f"b{i}:",
        f"  %v{i} = load volatile i64, ptr %p",
        f"  %c{i} = icmp eq i64 %v{i}, {i}",
        f"  br i1 %c{i}, label %b{side}, label %b{i + 1}, !prof !1",
    ]
bodies[blocks - 1] = [f"b{blocks - 1}:", "  ret i64 %x"]
# Entry first, then the rest in a fixed scrambled order (a multiplicative permutation).
rest = sorted(range(1, blocks), key=lambda i: (i * 7919) % blocks)
out = [f"define i64 @{name}(i64 %x, ptr %p) !prof !0 {{"]
for i in [0] + rest:
    out += bodies[i]
out += ["}", "", '!0 = !{!"function_entry_count", i64 1000}',
        '!1 = !{!"branch_weights", i32 1, i32 1000}']
print("\n".join(out))
