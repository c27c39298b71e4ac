; Huge functions stay within a time bound: above MAX_EXT_TSP_BLOCKS (1024) the O(E log E)
; greedy chaining replaces the ext-TSP search, and above MAX_RAILWAY_BLOCKS (20000) the
; function is left alone with a reason. The generated CFG is a long chain of blocks, written in
; a scrambled order; each goes to the next with weight 1000 and to a block 7 ahead with weight 1.
;
;   b0 -> b1 -1000-> b2 -1000-> b3 ... -> bN
;          \--1--> b8   \--1--> b9 ...
;
; RUN: python3 %S/Inputs/large_function.py wide 3000 > %t.wide.ll
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -disable-output %t.wide.ll 2>&1 | FileCheck %s --check-prefix=WIDE
; A 1000-way switch (every block adjacent to the entry's chain) stays bounded by the split-work
; budget (MAX_EXT_TSP_SPLIT_WORK).
; RUN: python3 %S/Inputs/wide_switch.py switchy 1000 > %t.switch.ll
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -disable-output %t.switch.ll 2>&1 | FileCheck %s --check-prefix=SWITCH
; RUN: python3 %S/Inputs/large_function.py huge 20001 > %t.huge.ll
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -disable-output %t.huge.ll 2>&1 | FileCheck %s --check-prefix=HUGE

; WIDE: hallows: hallows-railway: reordered `wide` (railway): blocks laid out in hot tracks (greedy-chains)
; WIDE-SAME: "algorithm":"greedy-chains"
; WIDE-SAME: "blocks":3000
; WIDE-SAME: "fallthrough_after":0.99

; SWITCH: hallows: hallows-railway: reordered `switchy` (railway): blocks laid out in hot tracks (ext-tsp)
; SWITCH-SAME: "blocks":1003

; HUGE: hallows: hallows-railway: skipped `huge` (railway): left alone: 20001 blocks exceed the limit of 20000 (MAX_RAILWAY_BLOCKS) that keeps compile time bounded; {"blocks":20001}
