#!/usr/bin/env python3
"""Writes prefetch.profile and prefetch-corrupt.profile for prefetch-profile.ll and
prefetch-profile-corrupt.ll, and prefetch-gather.profile for prefetch-nested-gather.ll, in the merged-profile format of src/prefetch/model/profile.rs
(FNV-1a 64 checksum on the `end` line). Site ids are those hallows-prefetch prints for the
test's functions (HALLOWS_REPORT_STDERR=1); re-run this after changing the test IR."""
import os

def fnv1a(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h

# (site id, function, execs, entries, pattern, footprint, iter_ns, miss, miss_ns)
SITES = [
    (0x7c567a8c2a0bf9ee, "column", 1000000, 10, "stride:+4096", 536870912, "120.0000", "0.9500", "100.000"),
    (0x7aeea1decca9d9fa, "gather_hits", 1000000, 10, "irregular", 16384, "5.0000", "0.0100", "13.000"),
    (0x4699bc072b4d2272, "short_rows", 300000, 100000, "irregular", 1073741824, "10.0000", "0.9000", "100.000"),
    (0x645da205649d909e, "probe", 1000000, 1, "stride:+8", 8388608, "40.0000", "0.0000", "13.000"),
    (0x59a125a5bf6bc94f, "probe", 1500000, 1000000, "irregular", 1073741824, "20.0000", "0.9500", "100.000"),
    (0x0cae6678545c4317, "build", 1500000, 1000000, "irregular", 1073741824, "20.0000", "0.9500", "100.000"),
    (0x1111111111111111, "stale", 1000000, 10, "irregular", 1073741824, "5.0000", "0.9000", "100.000"),
]

# prefetch-nested-gather.ll: BFS's vertex loop (queue, both row_start loads: hits) and its
# edge loop (col: hits; parent: misses, 8 edges per vertex).
# Site ids as printed by the pass for prefetch-nested-gather.ll.
GATHER_SITES = [
    (0x13aab24bc03b1020, "bfs", 1000000, 1, "stride:+4", 4194304, "120.0000", "0.0200", "13.000"),
    (0x08ee35ec1b0948d1, "bfs", 1000000, 1, "irregular", 4194304, "120.0000", "0.0500", "13.000"),
    (0xfe31b98c75d78182, "bfs", 1000000, 1, "irregular", 4194304, "120.0000", "0.0500", "13.000"),
    (0xf3753d2cd0a5ba33, "bfs", 8000000, 1000000, "irregular", 33554432, "15.0000", "0.0500", "13.000"),
    (0xe8b8c0cd2b73f2e4, "bfs", 8000000, 1000000, "irregular", 1073741824, "20.0000", "0.9000", "150.000"),
    # @bfs_unchecked: the same figures.
    (0x574ffb5bb9309c7d, "bfs_unchecked", 1000000, 1, "stride:+4", 4194304, "120.0000", "0.0200", "13.000"),
    (0x620c77bb5e6263cc, "bfs_unchecked", 1000000, 1, "irregular", 4194304, "120.0000", "0.0500", "13.000"),
    (0x41d7029c6ecd0ddf, "bfs_unchecked", 1000000, 1, "irregular", 4194304, "120.0000", "0.0500", "13.000"),
    (0x4c937efc13fed52e, "bfs_unchecked", 8000000, 1000000, "irregular", 33554432, "15.0000", "0.0500", "13.000"),
    (0x8241ecda4df7b9b9, "bfs_unchecked", 8000000, 1000000, "irregular", 1073741824, "20.0000", "0.9000", "150.000"),
]


# prefetch-stagger.ll (the same @bfs): every load of the vertex loop's chain misses, so the
# row start, the edge list's entry and the parents' gather are all prefetched.
STAGGER_SITES = [
    (0x13aab24bc03b1020, "bfs", 1000000, 1, "stride:+4", 4194304, "120.0000", "0.0200", "13.000"),
    (0x08ee35ec1b0948d1, "bfs", 1000000, 1, "irregular", 1073741824, "120.0000", "0.9000", "150.000"),
    (0xfe31b98c75d78182, "bfs", 1000000, 1, "irregular", 1073741824, "120.0000", "0.9000", "150.000"),
    (0xf3753d2cd0a5ba33, "bfs", 8000000, 1000000, "irregular", 1073741824, "15.0000", "0.9000", "150.000"),
    (0xe8b8c0cd2b73f2e4, "bfs", 8000000, 1000000, "irregular", 1073741824, "20.0000", "0.9000", "150.000"),
]


# prefetch-hidden-misses.ll: NAS IS's counting loop as session 6 profiled it (16.0 misses in
# flight against a measured parallelism of 14.3), and the same loop timed 2.5x as fast (40 in
# flight: more than twice the parallelism).
HIDDEN_SITES = [
    (0x88295f9997e2bfe3, "count_at_parallelism", 67108864, 4, "stride:+4", 67108864, "9.1406", "0.0000", "13.000"),
    (0x92e5dbf93d148732, "count_at_parallelism", 67108864, 4, "irregular", 67108864, "9.1406", "0.9750", "150.000"),
    (0xa62e48ba4c0e77a1, "count_hits", 67108864, 4, "stride:+4", 67108864, "3.6563", "0.0000", "13.000"),
    (0xb0eac519f1403ef0, "count_hits", 67108864, 4, "irregular", 67108864, "3.6563", "0.9750", "150.000"),
]


def profile(sites, mlp):
    body = "hallows-prefetch-profile 1\n"
    body += f"machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=15.000 dram_ns=100.000 mlp={mlp}\n"
    body += "runs 1\n"
    for sid, fn, execs, entries, pattern, footprint, iter_ns, miss, miss_ns in sorted(sites):
        body += (f"site {sid:016x} fn={fnv1a(fn.encode()):016x} execs={execs} entries={entries} "
                 f"pattern={pattern} footprint={footprint} iter_ns={iter_ns} miss={miss} miss_ns={miss_ns}\n")
    return body + f"end {len(sites)} {fnv1a(body.encode()):016x}\n"


text = profile(SITES, "16.00")
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "prefetch.profile"), "w") as f:
    f.write(text)
with open(os.path.join(here, "prefetch-corrupt.profile"), "w") as f:
    f.write(text[: len(text) // 2])
with open(os.path.join(here, "prefetch-gather.profile"), "w") as f:
    f.write(profile(GATHER_SITES, "30.00"))
with open(os.path.join(here, "prefetch-stagger.profile"), "w") as f:
    f.write(profile(STAGGER_SITES, "30.00"))
with open(os.path.join(here, "prefetch-hidden-misses.profile"), "w") as f:
    f.write(profile(HIDDEN_SITES, "14.30"))
