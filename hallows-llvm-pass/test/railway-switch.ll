; A switch whose hottest case is laid out last: that case becomes the switch's fall-through
; successor and the return block follows it; the never-taken case goes to the end.
;
;                     dispatch (1000)
;      default 10 /   case0 0 |    \ case1 990
;            other(10)     rare(0)   common(990)
;                  \ 10       | 0    / 990
;                        exit (1000)
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i32 @dispatch(
; CHECK:       dispatch:
; CHECK:       common:
; CHECK:       exit:
; CHECK:       other:
; CHECK:       rare:
; CHECK-NOT:   {{^[a-z]+:}}

; REPORT: hallows: hallows-railway: reordered `dispatch` (railway)
; REPORT-SAME: "cold_blocks":1
; REPORT-SAME: "fallthrough_after":0.99
define i32 @dispatch(i32 %op, i32 %x) !prof !0 {
dispatch:
  switch i32 %op, label %other [
    i32 0, label %rare
    i32 1, label %common
  ], !prof !1
other:
  %o = sub i32 %x, 1
  br label %exit
rare:
  %r = mul i32 %x, 5
  br label %exit
common:
  %c = add i32 %x, 1
  br label %exit
exit:
  %v = phi i32 [ %o, %other ], [ %r, %rare ], [ %c, %common ]
  ret i32 %v
}

!0 = !{!"function_entry_count", i64 1000}
!1 = !{!"branch_weights", i32 10, i32 0, i32 990}
