; Profile data: the function entry count and every terminator carrying branch weights.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s

; CHECK-LABEL: function 'hot' (hot)
; CHECK-NEXT:   blocks: 4 instructions: 4
; CHECK-NEXT:   branches: conditional 1 switch 1 with-weights 2 expected 0
; CHECK-NEXT:   profile: entry-count 1234
define i32 @hot(i1 %c, i32 %x) !prof !0 {
entry:
  br i1 %c, label %a, label %b, !prof !1
a:
  switch i32 %x, label %b [
    i32 7, label %c7
  ], !prof !2
b:
  ret i32 1
c7:
  ret i32 2
}

; Branch weights without an entry count.
; CHECK-LABEL: function 'weights_only' (weights_only)
; CHECK:        branches: conditional 1 switch 0 with-weights 1 expected 0
; CHECK-NEXT:   profile: branch-weights-only
define i32 @weights_only(i1 %c) {
entry:
  br i1 %c, label %a, label %b, !prof !4
a:
  ret i32 1
b:
  ret i32 2
}

; Weights LLVM derived from `llvm.expect` (marked "expected") are not profile data.
; CHECK-LABEL: function 'expected_only' (expected_only)
; CHECK:        branches: conditional 1 switch 0 with-weights 0 expected 1
; CHECK-NEXT:   profile: none
define i32 @expected_only(i1 %c) {
entry:
  br i1 %c, label %a, label %b, !prof !3
a:
  ret i32 1
b:
  ret i32 2
}

!0 = !{!"function_entry_count", i64 1234}
!1 = !{!"branch_weights", i32 1000, i32 234}
!2 = !{!"branch_weights", i32 10, i32 990}
!3 = !{!"branch_weights", !"expected", i32 2000, i32 1}
!4 = !{!"branch_weights", i32 2000, i32 1}
