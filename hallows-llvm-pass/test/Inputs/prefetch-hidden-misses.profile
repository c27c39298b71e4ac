hallows-prefetch-profile 1
machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=15.000 dram_ns=100.000 mlp=14.30
runs 1
site 88295f9997e2bfe3 fn=a8b2e2e0ade1f2f5 execs=67108864 entries=4 pattern=stride:+4 footprint=67108864 iter_ns=9.1406 miss=0.0000 miss_ns=13.000
site 92e5dbf93d148732 fn=a8b2e2e0ade1f2f5 execs=67108864 entries=4 pattern=irregular footprint=67108864 iter_ns=9.1406 miss=0.9750 miss_ns=150.000
site a62e48ba4c0e77a1 fn=a09e6e899343a16f execs=67108864 entries=4 pattern=stride:+4 footprint=67108864 iter_ns=3.6563 miss=0.0000 miss_ns=13.000
site b0eac519f1403ef0 fn=a09e6e899343a16f execs=67108864 entries=4 pattern=irregular footprint=67108864 iter_ns=3.6563 miss=0.9750 miss_ns=150.000
end 4 7c6c882cfe06acef
