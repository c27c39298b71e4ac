; table[hash(keys[i]) & mask] (hash-join probe), iterated with a pointer induction variable as
; rustc emits for `for &k in keys`: the clone re-hashes keys[i+d]; the distance is clamped to
; the elements left before the last one (end - 8), so the cloned load never passes it.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `probe` {{.*}}hashed-indirect: {{.*}}"pattern":"hashed-indirect"

; CHECK-LABEL: define i64 @probe(
; The limit is computed once, in the loop's entering block (which also branches to the exit);
; the loop is also split at its look-ahead limit (see prefetch-split-loop.ll): this is the
; clamped loop.
; CHECK:       entry:
; CHECK:         %p.end = ptrtoint ptr %end to i64
; CHECK-NEXT:    %p.last = call i64 @llvm.usub.sat.i64(i64 %p.end, i64 8)
; CHECK:       next:
; CHECK:         %p.pos = ptrtoint ptr %p to i64
; CHECK-NEXT:    %p.left = call i64 @llvm.usub.sat.i64(i64 %p.last, i64 %p.pos)
; CHECK-NEXT:    %p.iters = udiv i64 %p.left, 8
; CHECK-NEXT:    %hpf.dist = call i64 @llvm.umin.i64(i64 {{[0-9]+}}, i64 %p.iters)
; CHECK-NEXT:    [[OFF:%.*]] = mul i64 %hpf.dist, 8
; CHECK-NEXT:    %p.ahead = getelementptr i8, ptr %p, i64 [[OFF]]
; CHECK-NEXT:    %k.ahead = load i64, ptr %p.ahead, align 8
; CHECK-NEXT:    %m.ahead = mul i64 %k.ahead, -7046029254386353131
; CHECK-NEXT:    %h.ahead = lshr i64 %m.ahead, 20
; CHECK-NEXT:    %slot.ahead = and i64 %h.ahead, %mask
; CHECK-NEXT:    %tp.ahead = getelementptr i64, ptr %table, i64 %slot.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %tp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %v = load i64, ptr %tp, align 8
define i64 @probe(ptr %keys, i64 %n, ptr %table, i64 %len, i64 %mask) {
entry:
  %bytes = shl nuw nsw i64 %n, 3
  %end = getelementptr inbounds nuw i8, ptr %keys, i64 %bytes
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %exit, label %loop

loop:
  %s = phi i64 [ %s.next, %next ], [ 0, %entry ]
  %p = phi ptr [ %p.next, %next ], [ %keys, %entry ]
  %k = load i64, ptr %p, align 8, !noundef !0
  %m = mul i64 %k, -7046029254386353131
  %h = lshr i64 %m, 20
  %slot = and i64 %h, %mask
  %ok = icmp samesign ult i64 %slot, %len
  br i1 %ok, label %next, label %oob

next:
  %p.next = getelementptr inbounds nuw i8, ptr %p, i64 8
  %tp = getelementptr inbounds nuw i64, ptr %table, i64 %slot
  %v = load i64, ptr %tp, align 8
  %s.next = add i64 %v, %s
  %done = icmp eq ptr %p.next, %end
  br i1 %done, label %exit, label %loop

oob:
  call void @abort()
  unreachable

exit:
  %r = phi i64 [ 0, %entry ], [ %s.next, %next ]
  ret i64 %r
}

declare void @abort()

!0 = !{}
