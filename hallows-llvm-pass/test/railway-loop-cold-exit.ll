; A loop with a rare early exit that is laid out inside the loop: the loop body becomes one
; track (header falls through to the latch), and the cold exit leaves the loop's code. The
; exit block is large and never executed: with HALLOWS_RAILWAY_OUTLINE=1 it moves into a cold
; function; by default (outlining off) it stays in the function, laid out after the loop and the
; return (the cold tail).
;
;   entry (100) --100--> header (10000) <------------+
;                          |  \ 0                    | 9900
;                    10000 |   fail (0, ~30 instrs)  |
;                          v                         |
;                        latch (10000) --------------+
;                          | 100
;                          v
;                        done (100)
;
; RUN: env HALLOWS_RAILWAY_OUTLINE=1 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_RAILWAY_OUTLINE=1 HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s --check-prefix=DEFAULT
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=DEFAULT-REPORT

; DEFAULT-LABEL: define i64 @search(
; DEFAULT:       entry:
; DEFAULT:       header:
; DEFAULT-NEXT:    %i = phi
; DEFAULT:       latch:
; DEFAULT:       done:
; DEFAULT:         ret i64
; DEFAULT-NOT:   {{^}}}
; DEFAULT:       fail:
; DEFAULT-NEXT:    %f0 = mul
; DEFAULT:         call void @report_failure(
; DEFAULT:       {{^}}}
; DEFAULT-NOT:   hallows.cold

; DEFAULT-REPORT: hallows: hallows-railway: reordered `search` (railway): blocks laid out in hot tracks (ext-tsp):
; DEFAULT-REPORT-NOT: cold region
; DEFAULT-REPORT-SAME: "bytes_split_cold":0
; DEFAULT-REPORT-SAME: "cold_blocks":1
; DEFAULT-REPORT-SAME: "cold_outlining":false
; DEFAULT-REPORT-SAME: "cold_regions_split":0

; CHECK-LABEL: define i64 @search(
; CHECK:       entry:
; CHECK:       header:
; CHECK-NEXT:    %i = phi
; CHECK:       latch:
; CHECK:       done:
; CHECK:         ret i64
; CHECK:       codeRepl:
; CHECK-NEXT:    call void @search.hallows.cold(
; CHECK-SAME:    #[[COLDCALL:[0-9]+]]
; CHECK-NOT:   fail:
; CHECK:       define internal void @search.hallows.cold(
; CHECK-SAME:  #[[COLDFN:[0-9]+]]
; CHECK-SAME:  !section_prefix ![[UNLIKELY:[0-9]+]]
; CHECK:         call void @report_failure(
; CHECK-DAG:   attributes #[[COLDFN]] = { cold minsize noinline }
; CHECK-DAG:   attributes #[[COLDCALL]] = { cold }
; CHECK-DAG:   ![[UNLIKELY]] = !{!"section_prefix", !"unlikely"}

; REPORT: hallows: hallows-railway: reordered `search` (railway): blocks laid out in hot tracks (ext-tsp):
; REPORT-SAME: 1 cold region(s) moved to cold functions;
; REPORT-SAME: "bytes_split_cold":{{[1-9][0-9]+}}
; REPORT-SAME: "cold_blocks":1
; REPORT-SAME: "cold_outlining":true
; REPORT-SAME: "cold_regions_split":1

declare void @report_failure(i64, i64, i64, i64)

define i64 @search(ptr %p, i64 %n, i64 %key) !prof !0 {
entry:
  br label %header
header:
  %i = phi i64 [ 0, %entry ], [ %i.next, %latch ]
  %gep = getelementptr i64, ptr %p, i64 %i
  %v = load i64, ptr %gep
  %bad = icmp eq i64 %v, -1
  br i1 %bad, label %fail, label %latch, !prof !1
fail:
  %f0 = mul i64 %v, 3
  %f1 = add i64 %f0, %i
  %f2 = xor i64 %f1, %key
  %f3 = mul i64 %f2, 7
  %f4 = add i64 %f3, %n
  %f5 = xor i64 %f4, %f0
  %f6 = mul i64 %f5, 11
  %f7 = add i64 %f6, %f1
  %f8 = xor i64 %f7, %f2
  %f9 = mul i64 %f8, 13
  %f10 = add i64 %f9, %f3
  %f11 = xor i64 %f10, %f4
  %f12 = mul i64 %f11, 17
  %f13 = add i64 %f12, %f5
  %f14 = xor i64 %f13, %f6
  %f15 = mul i64 %f14, 19
  %f16 = add i64 %f15, %f7
  %f17 = xor i64 %f16, %f8
  %f18 = mul i64 %f17, 23
  %f19 = add i64 %f18, %f9
  %f20 = xor i64 %f19, %f10
  %f21 = mul i64 %f20, 29
  %f22 = add i64 %f21, %f11
  %f23 = xor i64 %f22, %f12
  %f24 = mul i64 %f23, 31
  call void @report_failure(i64 %f24, i64 %f13, i64 %f14, i64 %i)
  br label %done
latch:
  %i.next = add i64 %i, 1
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %header, label %done, !prof !2
done:
  %r = phi i64 [ -1, %fail ], [ %i.next, %latch ]
  ret i64 %r
}

!0 = !{!"function_entry_count", i64 100}
!1 = !{!"branch_weights", i32 0, i32 10000}
!2 = !{!"branch_weights", i32 9900, i32 100}
