hallows-prefetch-profile 1
machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=15.000 dram_ns=100.000 mlp=30.00
runs 1
site 08ee35ec1b0948d1 fn=00352d191335515e execs=1000000 entries=1 pattern=irregular footprint=1073741824 iter_ns=120.0000 miss=0.9000 miss_ns=150.000
site 13aab24bc03b1020 fn=00352d191335515e execs=1000000 entries=1 pattern=stride:+4 footprint=4194304 iter_ns=120.0000 miss=0.0200 miss_ns=13.000
site e8b8c0cd2b73f2e4 fn=00352d191335515e execs=8000000 entries=1000000 pattern=irregular footprint=1073741824 iter_ns=20.0000 miss=0.9000 miss_ns=150.000
site f3753d2cd0a5ba33 fn=00352d191335515e execs=8000000 entries=1000000 pattern=irregular footprint=1073741824 iter_ns=15.0000 miss=0.9000 miss_ns=150.000
site fe31b98c75d78182 fn=00352d191335515e execs=1000000 entries=1 pattern=irregular footprint=1073741824 iter_ns=120.0000 miss=0.9000 miss_ns=150.000
end 5 d10000d720fd5844
