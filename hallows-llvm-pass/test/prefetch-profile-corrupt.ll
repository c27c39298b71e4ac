; A truncated profile is reported as a warning naming the file and the problem; the pass falls
; back to static heuristics and still leaves valid IR. A missing file likewise.
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-corrupt.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s 2>&1 | FileCheck %s
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/does-not-exist.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -disable-output %s 2>&1 | FileCheck %s --check-prefix=MISSING

; CHECK: warning {{.*}}prefetch profile {{.*}}prefetch-corrupt.profile is unusable: profile is truncated{{.*}}re-create it with `cargo hallows profile`; falling back to static heuristics
; CHECK: inserted `gather` {{.*}}static heuristics
; CHECK-LABEL: define i32 @gather(
; CHECK: call void @llvm.prefetch.p0(

; MISSING: warning {{.*}}cannot read prefetch profile {{.*}}does-not-exist.profile

define i32 @gather(ptr %a, ptr %b, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %s = phi i32 [ 0, %entry ], [ %s.next, %loop ]
  %bp = getelementptr inbounds i32, ptr %b, i64 %i
  %bi = load i32, ptr %bp, align 4
  %bx = zext i32 %bi to i64
  %ap = getelementptr inbounds i32, ptr %a, i64 %bx
  %ai = load i32, ptr %ap, align 4
  %s.next = add i32 %s, %ai
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %s.next
}
