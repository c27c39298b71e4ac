; p = next[p]: each address comes from the previous iteration's load. The pass must leave the
; loop alone and say why; a compute-only loop (no loads) gets no record at all.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT:     skipped `chase` {{.*}}pointer chasing: each address comes from the previous iteration's load{{.*}}"pattern":"pointer-chase"
; REPORT-NOT: inserted
; REPORT-NOT: `compute`

; CHECK-NOT: @llvm.prefetch
; CHECK-LABEL: define i32 @chase(
; CHECK:         %p.next = load i32, ptr %slot, align 4
define i32 @chase(ptr %next, i32 %start, i64 %steps) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %p = phi i32 [ %start, %entry ], [ %p.next, %loop ]
  %px = zext i32 %p to i64
  %slot = getelementptr inbounds i32, ptr %next, i64 %px
  %p.next = load i32, ptr %slot, align 4
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %steps
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %p.next
}

define i64 @compute(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %h = phi i64 [ 1, %entry ], [ %h.next, %loop ]
  %m = mul i64 %h, 6364136223846793005
  %h.next = add i64 %m, %i
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i64 %h.next
}
