hallows-prefetch-profile 1
machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=15.000 dram_ns=100.000 mlp=16.00
runs 1
site 0cae6678545c4317 fn=802517e298c70b03 execs=1500000 entries=1000000 pattern=irregular footprint=1073741824 iter_ns=20.0000 miss=0.9500 miss_ns=100.000
site 1111111111111111 fn=ee7f9aad45ca109e execs=1000000 entries=10 pattern=irregular footprint=1073741824 iter_ns=5.0000 miss=0.9000 miss_ns=100.000
site 4699bc072b4d2272 fn=c28503cb85d4cf33 execs=300000 entries=100000 pattern=irregular footprint=1073741824 iter_ns=10.0000 miss=0.9000 miss_ns=100.000
site 59a125a5bf6bc9