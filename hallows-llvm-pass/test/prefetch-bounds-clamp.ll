; Every cloned load is clamped so it reads only what the original loop reads:
; - c[a[b[i]]]: the intermediate a[] load is cloned with its index clamped to the bounds check
;   that guards it (len_a - 1);
; - a loop whose bound cannot be read (exit on a loaded flag) is skipped with a reason;
; - an intermediate load without a bounds check is not cloned (its one-level prefix still is).
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT-DAG: inserted `two_level` {{.*}}"chain_loads":1
; REPORT-DAG: inserted `two_level` {{.*}}"chain_loads":2
; REPORT-DAG: skipped `unbounded` {{.*}}loop bound unknown
; REPORT-DAG: skipped `unguarded` {{.*}}no bounds check guards an intermediate load

; Loop-invariant limits are computed once, in the preheader.
; CHECK-LABEL: define i32 @two_level(
; CHECK:       entry:
; CHECK-NEXT:    %i.last = call i64 @llvm.usub.sat.i64(i64 %n, i64 1)
; CHECK:         %bx.last = sub i64 %len_a, 1
; The loop is split at the look-ahead limit (see prefetch-split-loop.ll); this is the clamped
; loop that runs the last iterations.
; CHECK:         br label %loop.unclamped
; The first prefetch (a[b[i+d]]) needs no clamp on a[]'s index: it is only prefetched.
; CHECK:         %ap.ahead = getelementptr i32, ptr %a, i64 %bx.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %ap.ahead, i32 0, i32 3, i32 1)
; The second (c[a[b[i+d]]]) loads a[] and clamps its index to the bounds check len_a - 1.
; CHECK:         %bi.ahead{{[0-9]+}} = load i32, ptr %bp.ahead{{[0-9]+}}, align 4
; CHECK-NEXT:    %bx.ahead[[N:[0-9]+]] = zext i32 %bi.ahead{{[0-9]+}} to i64
; CHECK-NEXT:    %bx.clamp = call i64 @llvm.umin.i64(i64 %bx.ahead[[N]], i64 %bx.last)
; CHECK-NEXT:    %ap.ahead{{[0-9]+}} = getelementptr i32, ptr %a, i64 %bx.clamp
; CHECK-NEXT:    %ai.ahead = load i32, ptr %ap.ahead{{[0-9]+}}, align 4
; CHECK-NEXT:    %ax.ahead = zext i32 %ai.ahead to i64
; CHECK-NEXT:    %cp.ahead = getelementptr i32, ptr %c, i64 %ax.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %cp.ahead, i32 0, i32 3, i32 1)
define i32 @two_level(ptr %a, i64 %len_a, ptr %b, ptr %c, i64 %len_c, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %c.ok ]
  %s = phi i32 [ 0, %entry ], [ %s.next, %c.ok ]
  %bp = getelementptr inbounds i32, ptr %b, i64 %i
  %bi = load i32, ptr %bp, align 4
  %bx = zext i32 %bi to i64
  %aok = icmp ult i64 %bx, %len_a
  br i1 %aok, label %a.ok, label %oob
a.ok:
  %ap = getelementptr inbounds i32, ptr %a, i64 %bx
  %ai = load i32, ptr %ap, align 4
  %ax = zext i32 %ai to i64
  %cok = icmp ult i64 %ax, %len_c
  br i1 %cok, label %c.ok, label %oob
c.ok:
  %cp = getelementptr inbounds i32, ptr %c, i64 %ax
  %cv = load i32, ptr %cp, align 4
  %s.next = add i32 %s, %cv
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
oob:
  call void @abort()
  unreachable
exit:
  ret i32 %s.next
}

; CHECK-LABEL: define i32 @unbounded(
; CHECK-NOT:   @llvm.prefetch
; CHECK-LABEL: define i32 @unguarded(
; CHECK:       call void @llvm.prefetch.p0(ptr %ap.ahead,
; CHECK-NOT:   @llvm.prefetch
; CHECK:       loop.unclamped:
; CHECK-NOT:   @llvm.prefetch
; CHECK:       call void @llvm.prefetch.p0(ptr %ap.ahead.unclamped,
; CHECK-NOT:   @llvm.prefetch
; CHECK-LABEL: declare void @abort()
define i32 @unbounded(ptr %a, ptr %b, ptr %flags) {
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
  %fp = getelementptr inbounds i8, ptr %flags, i64 %i
  %f = load i8, ptr %fp, align 1
  %stop = icmp eq i8 %f, 0
  br i1 %stop, label %exit, label %loop
exit:
  ret i32 %s.next
}

define i32 @unguarded(ptr %a, ptr %b, ptr %c, i64 %n) {
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
  %ax = zext i32 %ai to i64
  %cp = getelementptr inbounds i32, ptr %c, i64 %ax
  %cv = load i32, ptr %cp, align 4
  %s.next = add i32 %s, %cv
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %s.next
}

declare void @abort()

; A work queue (BFS): the loop runs while head < tail and tail grows inside the loop. The
; latch bound `head.next < tail.next` is used through the header phi `tail` (a value defined
; at the latch would not dominate the prefetch).
; CHECK-LABEL: define void @queue(
; CHECK:         %head.last = call i64 @llvm.usub.sat.i64(i64 %tail, i64 1)
; CHECK:       call void @llvm.prefetch.p0(
define void @queue(ptr %q, ptr %rows, i64 %nrows, ptr %out) {
entry:
  br label %loop
loop:
  %head = phi i64 [ 0, %entry ], [ %head.next, %loop.end ]
  %tail = phi i64 [ 1, %entry ], [ %tail.next, %loop.end ]
  %qp = getelementptr inbounds i32, ptr %q, i64 %head
  %u = load i32, ptr %qp, align 4
  %ux = zext i32 %u to i64
  %ok = icmp ult i64 %ux, %nrows
  br i1 %ok, label %row, label %oob
row:
  %rp = getelementptr inbounds i64, ptr %rows, i64 %ux
  %r = load i64, ptr %rp, align 8
  %grow = icmp ugt i64 %r, 7
  %add = zext i1 %grow to i64
  %tail.next = add i64 %tail, %add
  %tp = getelementptr inbounds i32, ptr %q, i64 %tail
  store i32 %u, ptr %tp, align 4
  br label %loop.end
loop.end:
  %head.next = add nuw i64 %head, 1
  %more = icmp ult i64 %head.next, %tail.next
  br i1 %more, label %loop, label %exit
oob:
  call void @abort()
  unreachable
exit:
  ret void
}
