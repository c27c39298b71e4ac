; HPCC RandomAccess: the address comes from a random-number recurrence r = f(r) (shift, xor
; with a polynomial when the top bit is set), not from a load. The pass runs a second copy of
; the recurrence d steps ahead: f^d(r0) on the entry edge, a new header phi advanced by f each
; iteration, and prefetches table[ahead & mask]. Nothing is loaded ahead, so no bound is
; needed even though the update count is unknown to the loop test.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `update` {{.*}}recurrence: {{.*}}"pattern":"recurrence"

; CHECK-LABEL: define void @update(
; CHECK:       entry.loop_crit_edge:
; CHECK-NEXT:    %shl.ahead = shl i64 %start, 1
; CHECK:         br label %loop
; CHECK:       loop:
; CHECK-NEXT:    %r.ahead = phi i64 [ %next.ahead{{[0-9]*}}, %entry.loop_crit_edge ], [ %next.ahead{{[0-9]*}}, %loop ]
; CHECK:         %slot.ahead = and i64 %next.ahead{{[0-9]*}}, %mask
; CHECK-NEXT:    %p.ahead = getelementptr i64, ptr %table, i64 %slot.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %p.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %old = load i64, ptr %p, align 8
define void @update(ptr %table, i64 %mask, i64 %start, i64 %n) {
entry:
  %none = icmp eq i64 %n, 0
  br i1 %none, label %exit, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %r = phi i64 [ %start, %entry ], [ %next, %loop ]
  %shl = shl i64 %r, 1
  %neg = icmp slt i64 %r, 0
  %poly = select i1 %neg, i64 7, i64 0
  %next = xor i64 %shl, %poly
  %slot = and i64 %next, %mask
  %p = getelementptr inbounds i64, ptr %table, i64 %slot
  %old = load i64, ptr %p, align 8
  %new = xor i64 %old, %next
  store i64 %new, ptr %p, align 8
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
