hallows-prefetch-profile 1
machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=15.000 dram_ns=100.000 mlp=16.00
runs 1
site 0cae6678545c4317 fn=802517e298c70b03 execs=1500000 entries=1000000 pattern=irregular footprint=1073741824 iter_ns=20.0000 miss=0.9500 miss_ns=100.000
site 1111111111111111 fn=ee7f9aad45ca109e execs=1000000 entries=10 pattern=irregular footprint=1073741824 iter_ns=5.0000 miss=0.9000 miss_ns=100.000
site 4699bc072b4d2272 fn=c28503cb85d4cf33 execs=300000 entries=100000 pattern=irregular footprint=1073741824 iter_ns=10.0000 miss=0.9000 miss_ns=100.000
site 59a125a5bf6bc94f fn=f97691246db266f1 execs=1500000 entries=1000000 pattern=irregular footprint=1073741824 iter_ns=20.0000 miss=0.9500 miss_ns=100.000
site 645da205649d909e fn=f97691246db266f1 execs=1000000 entries=1 pattern=stride:+8 footprint=8388608 iter_ns=40.0000 miss=0.0000 miss_ns=13.000
site 7aeea1decca9d9fa fn=e260eec5de54d299 execs=1000000 entries=10 pattern=irregular footprint=16384 iter_ns=5.0000 miss=0.0100 miss_ns=13.000
site 7c567a8c2a0bf9ee fn=5f531287628bf287 execs=1000000 entries=10 pattern=stride:+4096 footprint=536870912 iter_ns=120.0000 miss=0.9500 miss_ns=100.000
end 7 ba9635cbdd83326a
