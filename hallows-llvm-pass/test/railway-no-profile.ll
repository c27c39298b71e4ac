; Without profile data hallows-railway leaves a function exactly as it is and says why.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i32 @plain(i1 %c, i32 %x) {
; CHECK-NEXT:  entry:
; CHECK-NEXT:    br i1 %c, label %left, label %right
; CHECK-EMPTY:
; CHECK-NEXT:  left:
; CHECK:       right:
; CHECK:       join:
; CHECK-NOT:   section_prefix
; CHECK-NOT:   attributes

; REPORT: hallows: hallows-railway: skipped `plain` (railway): left alone: no profile data (no entry count, no measured branch weights); {"blocks":4}
; REPORT: hallows: hallows-railway: skipped `expected_only` (railway): left alone: no profile data
define i32 @plain(i1 %c, i32 %x) {
entry:
  br i1 %c, label %left, label %right
left:
  %a = mul i32 %x, 3
  br label %join
right:
  %b = add i32 %x, 1
  br label %join
join:
  %r = phi i32 [ %a, %left ], [ %b, %right ]
  ret i32 %r
}

; Weights from `llvm.expect` (`likely`/`unlikely`, marked "expected") are not a profile.
; CHECK-LABEL: define i32 @expected_only(i1 %c) {
; CHECK-NEXT:  entry:
; CHECK-NEXT:    br i1 %c, label %cold, label %hot, !prof
; CHECK-EMPTY:
; CHECK-NEXT:  cold:
define i32 @expected_only(i1 %c) {
entry:
  br i1 %c, label %cold, label %hot, !prof !0
cold:
  ret i32 1
hot:
  ret i32 2
}

!0 = !{!"branch_weights", !"expected", i32 1, i32 2000}
