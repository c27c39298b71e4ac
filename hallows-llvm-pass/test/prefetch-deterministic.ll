; The prefetch pass emits the same module on every run. Its loop copies (the CSR window's
; versioned inner loop here) used to take their blocks in hash-set order, which changes from
; process to process, so builds were not reproducible. Six runs on one input must agree.
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.1
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.2
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.3
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.4
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.5
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %S/prefetch-nested-csr.ll -o %t.6
; RUN: cmp %t.1 %t.2
; RUN: cmp %t.1 %t.3
; RUN: cmp %t.1 %t.4
; RUN: cmp %t.1 %t.5
; RUN: cmp %t.1 %t.6
; The copies exist, so the comparison is of split and versioned output, not of an unchanged module.
; RUN: FileCheck %s < %t.1
; CHECK: unclamped
