; Railway does no harm where it cannot help: a function whose ext-TSP layout gains less than
; MIN_RELATIVE_SCORE_GAIN (1%) keeps PGO's block order, and a function without a measured entry
; count (its branch weights are estimates) is left exactly as it is; both say why.
;
; small_gain: a hot loop whose hot path already falls through; only the loop exit (1000 of
; 101000 latch runs) would become a fall-through if `exit` moved before `rare`.
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i64 @small_gain(
; CHECK-NEXT:  entry:
; CHECK:       head:
; CHECK:       body:
; CHECK:       join:
; CHECK:       rare:
; CHECK:       exit:
; CHECK-LABEL: define i64 @estimated_only(i1 %c, i64 %x) {
; CHECK-NEXT:  entry:
; CHECK:       cold:
; CHECK:       hot:
; CHECK:       join:

; REPORT: hallows: hallows-railway: marked-hot `small_gain` (railway): left in PGO's order: the ext-TSP layout would gain 0.{{[0-9]+}}% (score {{[0-9]+}} -> {{[0-9]+}}), below the 1% threshold (MIN_RELATIVE_SCORE_GAIN); the function is hot;
; REPORT-SAME: "blocks_moved":0
; REPORT: hallows: hallows-railway: skipped `estimated_only` (railway): left as PGO has it: no measured entry count (its branch weights are estimates); {"blocks":4}
define i64 @small_gain(i64 %n, i64 %x) !prof !0 {
entry:
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %i1, %join ]
  %acc = phi i64 [ 0, %entry ], [ %acc1, %join ]
  %c = icmp eq i64 %i, %x
  br i1 %c, label %rare, label %body, !prof !1
body:
  %b = add i64 %acc, %i
  br label %join
join:
  %v = phi i64 [ %b, %body ], [ %r, %rare ]
  %acc1 = add i64 %v, 1
  %i1 = add i64 %i, 1
  %d = icmp ult i64 %i1, %n
  br i1 %d, label %head, label %exit, !prof !2
rare:
  %r = mul i64 %acc, 3
  br label %join
exit:
  ret i64 %acc1
}

define i64 @estimated_only(i1 %c, i64 %x) {
entry:
  br i1 %c, label %cold, label %hot, !prof !3
cold:
  %a = mul i64 %x, 3
  br label %join
hot:
  %b = add i64 %x, 1
  br label %join
join:
  %r = phi i64 [ %a, %cold ], [ %b, %hot ]
  ret i64 %r
}

!0 = !{!"function_entry_count", i64 1000}
!1 = !{!"branch_weights", i32 10, i32 100000}
!2 = !{!"branch_weights", i32 100000, i32 1000}
!3 = !{!"branch_weights", i32 1, i32 1000}
