; table[hash(keys[i]) & mask] (hash-join probe), iterated with a pointer induction variable as
; rustc emits for `for &k in keys`: the clone re-hashes keys[i+d]; the look-ahead pointer is
; clamped to the last element (end - 8) and never behind the current one.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `probe` {{.*}}hashed-indirect: {{.*}}"pattern":"hashed-indirect"

; CHECK-LABEL: define i64 @probe(
; CHECK:       next:
; CHECK:         %p.ahead = getelementptr i8, ptr %p, i64 [[OFF:[0-9]+]]
; CHECK-NEXT:    %p.ahead.last = getelementptr i8, ptr %end, i64 -8
; CHECK-NEXT:    %p.ahead.inside = icmp ult ptr %p.ahead, %p.ahead.last
; CHECK-NEXT:    %p.ahead.clamp = select i1 %p.ahead.inside, ptr %p.ahead, ptr %p.ahead.last
; CHECK-NEXT:    %p.ahead.behind = icmp ult ptr %p.ahead.clamp, %p
; CHECK-NEXT:    %p.ahead.idx = select i1 %p.ahead.behind, ptr %p, ptr %p.ahead.clamp
; CHECK-NEXT:    %k.ahead = load i64, ptr %p.ahead.idx, align 8
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
