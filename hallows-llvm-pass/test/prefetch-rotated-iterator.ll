; table[hash(*cur)] over a slice iterator in the rotated form rustc emits for
; `for (i, &k) in keys.iter().enumerate()` once the loop body is large (the hash-join probe):
; `%cur` carries the previous value of `%nxt` (a "lagged" induction), and `%nxt` advances by
; `select %more, 8, 0`, which is 8 on every iteration that continues. The pass recognises both
; as inductions of step 8, bounds `%cur` by the latch test `%nxt != %end`, and clones the hashed
; address chain at `%cur + d * 8`, clamped to end - 8.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `probe` {{.*}}"pattern":"hashed-indirect"

; CHECK-LABEL: define i64 @probe(
; The limit is computed once, in the loop's entering block (which also branches to the exit).
; CHECK:       entry:
; CHECK:         %cur.end = ptrtoint ptr %end to i64
; CHECK-NEXT:    %cur.last = call i64 @llvm.usub.sat.i64(i64 %cur.end, i64 8)
; The clamped loop (the loop is also split at its look-ahead limit, see prefetch-split-loop.ll).
; CHECK:       loop:
; CHECK:         %cur.left = call i64 @llvm.usub.sat.i64(i64 %cur.last, i64 %cur.pos)
; CHECK-NEXT:    %cur.iters = udiv i64 %cur.left, 8
; CHECK-NEXT:    %hpf.dist = call i64 @llvm.umin.i64(i64 {{[0-9]+}}, i64 %cur.iters)
; CHECK:         %cur.ahead = getelementptr i8, ptr %cur, i64
; CHECK-NEXT:    %k.ahead = load i64, ptr %cur.ahead, align 8
; CHECK-NEXT:    %m.ahead = mul i64 %k.ahead, -7046029254386353131
; CHECK-NEXT:    %h.ahead = lshr i64 %m.ahead, 20
; CHECK-NEXT:    %slot.ahead = and i64 %h.ahead, %mask
; CHECK-NEXT:    %tp.ahead = getelementptr i64, ptr %table, i64 %slot.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %tp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %v = load i64, ptr %tp, align 8
define i64 @probe(ptr %keys, i64 %n, ptr %table, i64 %mask) {
entry:
  %bytes = shl nuw nsw i64 %n, 3
  %end = getelementptr inbounds nuw i8, ptr %keys, i64 %bytes
  %empty = icmp eq i64 %n, 0
  %first = select i1 %empty, i64 0, i64 8
  %second = getelementptr inbounds nuw i8, ptr %keys, i64 %first
  br i1 %empty, label %exit, label %loop

loop:
  %s = phi i64 [ %s.next, %loop ], [ 0, %entry ]
  %nxt = phi ptr [ %nxt.next, %loop ], [ %second, %entry ]
  %cur = phi ptr [ %nxt, %loop ], [ %keys, %entry ]
  %k = load i64, ptr %cur, align 8, !noundef !0
  %m = mul i64 %k, -7046029254386353131
  %h = lshr i64 %m, 20
  %slot = and i64 %h, %mask
  %tp = getelementptr inbounds nuw i64, ptr %table, i64 %slot
  %v = load i64, ptr %tp, align 8
  %s.next = add i64 %v, %s
  %more = icmp ne ptr %nxt, %end
  %adv = select i1 %more, i64 8, i64 0
  %nxt.next = getelementptr inbounds nuw i8, ptr %nxt, i64 %adv
  br i1 %more, label %loop, label %exit

exit:
  %r = phi i64 [ 0, %entry ], [ %s.next, %loop ]
  ret i64 %r
}

!0 = !{}
