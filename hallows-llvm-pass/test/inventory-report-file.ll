; With HALLOWS_REPORT_DIR set, one JSON-lines file per module and pass is written (schema 1).
; RUN: rm -rf %t && mkdir -p %t
; RUN: env HALLOWS_REPORT_DIR=%t opt -load-pass-plugin=%plugin -passes=hallows-inventory -disable-output %s
; RUN: ls -a %t | FileCheck %s --check-prefix=FILES
; RUN: cat %t/*.inventory.jsonl | FileCheck %s
; Re-running replaces the file instead of appending.
; RUN: env HALLOWS_REPORT_DIR=%t opt -load-pass-plugin=%plugin -passes=hallows-inventory -disable-output %s
; RUN: cat %t/*.inventory.jsonl | wc -l | FileCheck %s --check-prefix=COUNT
; Without HALLOWS_REPORT_DIR nothing is written; HALLOWS_REPORT_STDERR=1 prints readable lines.
; RUN: rm -rf %t && mkdir -p %t && cd %t
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-inventory -disable-output %s 2>&1 | FileCheck %s --check-prefix=STDERR
; RUN: ls -A %t | count 0

; FILES-NOT: .tmp
; FILES:     inventory-report-file.ll.inventory.jsonl
; FILES-NOT: .tmp

; CHECK: {"action":"analyzed","crate":"inventory","data":{"blocks":3,"branch_weights":1,"conditional_branches":1,"entry_count":50,"expected_weights":0,"has_profile":true,"instructions":10,"loops":[{"blocks":1,"depth":1,"exiting_blocks":1,"header":"loop","max_trip_count":16,"parent":null,"trip_count":"constant","trip_count_value":16}],"max_loop_depth":1,"switches":0},"function":"looped","module":"{{.*}}inventory-report-file.ll","pass":"hallows-inventory","producer":"plugin","reason":"inventory of a function with profile data","schema":1,"symbol":"looped","ts_ms":{{[0-9]+}}}
; CHECK: "function":"mycrate::helper"
; CHECK-SAME: "symbol":"_ZN7mycrate6helper17h0123456789abcdefE"

; COUNT: 2

; STDERR: hallows: hallows-inventory: analyzed `looped` (inventory): inventory of a function with profile data;
; STDERR: hallows: hallows-inventory: analyzed `mycrate::helper` (mycrate): inventory of a function without profile data;

define i32 @looped(ptr %p) !prof !0 {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %acc.next, %loop ]
  %gep = getelementptr i32, ptr %p, i64 %i
  %v = load i32, ptr %gep
  %acc.next = add i32 %acc, %v
  %i.next = add i64 %i, 1
  %c = icmp ult i64 %i.next, 16
  br i1 %c, label %loop, label %exit, !prof !1
exit:
  ret i32 %acc.next
}

define void @_ZN7mycrate6helper17h0123456789abcdefE() {
  ret void
}

!0 = !{!"function_entry_count", i64 50}
!1 = !{!"branch_weights", i32 750, i32 50}
