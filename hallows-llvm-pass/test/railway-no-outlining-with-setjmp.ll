; A never-executed region large enough to split stays in its function when the function calls
; a `returns_twice` function (setjmp-like control flow must stay in one frame), even with
; outlining turned on (HALLOWS_RAILWAY_OUTLINE=1); the layout still moves it to the cold tail.
;
;   entry (100) --0--> rare (0, ~26 instrs) --0--> exit
;        \------100---------------------------> exit (100)
;
; RUN: env HALLOWS_RAILWAY_OUTLINE=1 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_RAILWAY_OUTLINE=1 HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i64 @guarded(
; CHECK:       entry:
; CHECK:       exit:
; CHECK:       rare:
; CHECK-NOT:   hallows.cold

; REPORT: hallows: hallows-railway: reordered `guarded` (railway)
; REPORT-SAME: "cold_regions_split":0

declare i32 @setjmp(ptr) returns_twice
declare void @sink(i64)

define i64 @guarded(ptr %buf, i64 %x) !prof !0 {
entry:
  %j = call i32 @setjmp(ptr %buf)
  %c = icmp eq i64 %x, 0
  br i1 %c, label %rare, label %exit, !prof !1
rare:
  %r0 = mul i64 %x, 3
  %r1 = add i64 %r0, 1
  %r2 = mul i64 %r1, 5
  %r3 = add i64 %r2, 7
  %r4 = mul i64 %r3, 11
  %r5 = add i64 %r4, 13
  %r6 = mul i64 %r5, 17
  %r7 = add i64 %r6, 19
  %r8 = mul i64 %r7, 23
  %r9 = add i64 %r8, 29
  %r10 = mul i64 %r9, 31
  %r11 = add i64 %r10, 37
  %r12 = mul i64 %r11, 41
  %r13 = add i64 %r12, 43
  %r14 = mul i64 %r13, 47
  %r15 = add i64 %r14, 53
  %r16 = mul i64 %r15, 59
  %r17 = add i64 %r16, 61
  %r18 = mul i64 %r17, 67
  %r19 = add i64 %r18, 71
  %r20 = mul i64 %r19, 73
  %r21 = add i64 %r20, 79
  %r22 = mul i64 %r21, 83
  %r23 = add i64 %r22, 89
  call void @sink(i64 %r23)
  br label %exit
exit:
  %v = phi i64 [ 0, %rare ], [ %x, %entry ]
  ret i64 %v
}

!0 = !{!"function_entry_count", i64 100}
!1 = !{!"branch_weights", i32 0, i32 100}
