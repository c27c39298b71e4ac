; A diamond whose rarely taken side comes first: the hot side becomes the fall-through, the
; never-executed side moves to the end, and the function gets the `hot` section prefix.
;
;            entry (1000)
;          0 /        \ 1000
;      cold (0)      hot (1000)
;          0 \        / 1000
;            join (1000)
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i32 @diamond(
; CHECK-SAME:  !prof !0 !section_prefix ![[HOT:[0-9]+]] {
; CHECK-NEXT:  entry:
; CHECK-NEXT:    br i1 %c, label %cold, label %hot, !prof
; CHECK-EMPTY:
; CHECK-NEXT:  hot:
; CHECK:       join:
; CHECK:         ret i32 %r
; CHECK-EMPTY:
; CHECK-NEXT:  cold:
; CHECK:       ![[HOT]] = !{!"section_prefix", !"hot"}

; REPORT: hallows: hallows-railway: reordered `diamond` (railway): blocks laid out in hot tracks (ext-tsp): score {{[0-9]+}} -> {{[0-9]+}};
; REPORT-SAME: "blocks_moved":3
; REPORT-SAME: "bytes_split_cold":0
; REPORT-SAME: "cold_blocks":1
; REPORT-SAME: "fallthrough_after":1.0,"fallthrough_before":0.4
; REPORT-SAME: "score_after":1999.0,"score_before":1098.
define i32 @diamond(i1 %c, i32 %x) !prof !0 {
entry:
  br i1 %c, label %cold, label %hot, !prof !1
cold:
  %a = mul i32 %x, 3
  br label %join
hot:
  %b = add i32 %x, 1
  br label %join
join:
  %r = phi i32 [ %a, %cold ], [ %b, %hot ]
  ret i32 %r
}

!0 = !{!"function_entry_count", i64 1000}
!1 = !{!"branch_weights", i32 0, i32 1000}
