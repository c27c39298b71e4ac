; hallows-prefetch reports each load inside a loop as skipped (no access profile) and never
; changes the IR; loads outside loops are not reported.
; RUN: opt -load-pass-plugin=%plugin -passes=hallows-prefetch -S %s | FileCheck %s --check-prefix=IR
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s

; CHECK:     hallows: hallows-prefetch: skipped `walk` (prefetch): skipped: no access profile; {"block":"loop","load_index":1,"loop_depth":1,"loop_header":"loop"}
; CHECK-NOT: hallows-prefetch

; IR-LABEL: define i32 @walk(
; IR-NOT:   @llvm.prefetch
; IR:       %v = load i32, ptr %gep, align 4
; IR-NOT:   @llvm.prefetch
define i32 @walk(ptr %p, ptr %q) {
entry:
  %first = load i32, ptr %q, align 4
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ %first, %entry ], [ %acc.next, %loop ]
  %gep = getelementptr i32, ptr %p, i64 %i
  %v = load i32, ptr %gep, align 4
  %acc.next = add i32 %acc, %v
  %i.next = add i64 %i, 1
  %c = icmp ult i64 %i.next, 64
  br i1 %c, label %loop, label %exit
exit:
  ret i32 %acc.next
}
