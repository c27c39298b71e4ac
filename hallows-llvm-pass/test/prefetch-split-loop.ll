; A loop whose look-ahead is clamped to its bound, min(d, (L - iv) / step) in every iteration,
; is split at the look-ahead limit (insert.rs, `split_loops`). A copy of the loop
; (`.unclamped`) is entered first: at the top of each of its iterations, after the header's
; phis, it tests that this iteration's look-ahead is inside the bound, iv + d * step <= L, as
; iv < usub.sat(L, d * step - 1) with the limit computed once before the loop; while it holds
; the iteration runs with the constant distance d and no clamp. When the test fails, the copy
; branches to the original loop, whose phis take the copy's values, and the clamped loop runs
; the last iterations. The exit merges both loops' values; a use after the exit block gets a
; phi (SSAUpdater). A loop that cannot be copied (a convergent call) is not split, and the
; report says why.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `count_keys` {{.*}}split at the look-ahead limit{{.*}}"split":true
; REPORT: inserted `sum_used_after` {{.*}}split at the look-ahead limit{{.*}}"split":true
; REPORT: inserted `convergent_call` {{.*}}not split (the loop calls a function that must not be duplicated){{.*}}"split":false

; NAS IS's counting loop over a slice iterator: a pointer induction variable, step 4 bytes.
; CHECK-LABEL: define void @count_keys(
; The copy's limit, once before the loop: the last key's address less 4 * d - 1.
; CHECK:       pre:
; CHECK:         %p.last = call i64 @llvm.usub.sat.i64(i64 %p.end, i64 4)
; CHECK-NEXT:    %p.split = call i64 @llvm.usub.sat.i64(i64 %p.last, i64 [[#MARGIN:]])
; CHECK-NEXT:    br label %loop.unclamped
; The clamped loop, entered from the copy's test with the copy's pointer.
; CHECK:       loop:
; CHECK-NEXT:    %p = phi ptr [ %p.unclamped, %loop.unclamped ], [ %p.next, %ok ]
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 [[#div(MARGIN+1,4)]], i64 %p.iters)
; CHECK:         call void @llvm.prefetch.p0(ptr %cp.ahead, i32 0, i32 3, i32 1)
; CHECK:       oob:
; CHECK:       exit:
; CHECK-NEXT:    ret void
; The copy: its test after the phis, then the look-ahead p + 4 * d with no clamp.
; CHECK:       loop.unclamped:
; CHECK-NEXT:    %p.unclamped = phi ptr [ %keys, %pre ], [ %p.next.unclamped, %ok.unclamped ]
; CHECK-NEXT:    %hpf.pos = ptrtoint ptr %p.unclamped to i64
; CHECK-NEXT:    %hpf.ahead.fits = icmp ult i64 %hpf.pos, %p.split
; CHECK-NEXT:    br i1 %hpf.ahead.fits, label %loop.unclamped.body, label %loop, !prof [[LIKELY:![0-9]+]]
; CHECK:       loop.unclamped.body:
; CHECK-NOT:     umin
; CHECK:       ok.unclamped:
; CHECK-NOT:     umin
; CHECK:         %p.ahead.unclamped = getelementptr i8, ptr %p.unclamped, i64 [[#MARGIN+1]]
; CHECK-NEXT:    %k.ahead.unclamped = load i32, ptr %p.ahead.unclamped, align 4
; CHECK-NEXT:    %kx.ahead.unclamped = zext i32 %k.ahead.unclamped to i64
; CHECK-NEXT:    %cp.ahead.unclamped = getelementptr i32, ptr %counts, i64 %kx.ahead.unclamped
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %cp.ahead.unclamped, i32 0, i32 3, i32 1)
; CHECK-NOT:     umin
; CHECK:         br i1 %done.unclamped, label %exit, label %loop.unclamped
; CHECK-NEXT:  }
define void @count_keys(ptr %keys, i64 %nkeys, ptr %counts, i64 %ncounts) {
entry:
  %empty = icmp eq i64 %nkeys, 0
  br i1 %empty, label %exit, label %pre
pre:
  %end = getelementptr inbounds i32, ptr %keys, i64 %nkeys
  br label %loop
loop:
  %p = phi ptr [ %keys, %pre ], [ %p.next, %ok ]
  %k = load i32, ptr %p, align 4
  %kx = zext i32 %k to i64
  %inb = icmp ult i64 %kx, %ncounts
  br i1 %inb, label %ok, label %oob
ok:
  %cp = getelementptr inbounds i32, ptr %counts, i64 %kx
  %c = load i32, ptr %cp, align 4
  %c1 = add i32 %c, 1
  store i32 %c1, ptr %cp, align 4
  %p.next = getelementptr inbounds i8, ptr %p, i64 4
  %done = icmp eq ptr %p.next, %end
  br i1 %done, label %exit, label %loop
oob:
  call void @abort()
  unreachable
exit:
  ret void
}

; An integer induction variable; the sum is used after the exit block by a non-phi.
; CHECK-LABEL: define i32 @sum_used_after(
; CHECK:       entry:
; CHECK-NEXT:    %i.last = call i64 @llvm.usub.sat.i64(i64 %n, i64 1)
; CHECK-NEXT:    %i.split = call i64 @llvm.usub.sat.i64(i64 %i.last, i64 [[#M2:]])
; CHECK-NEXT:    br label %loop.unclamped
; CHECK:       loop:
; CHECK-NEXT:    %i = phi i64 [ %i.unclamped, %loop.unclamped ], [ %i.next, %ok ]
; CHECK-NEXT:    %s = phi i32 [ %s.unclamped, %loop.unclamped ], [ %s.next, %ok ]
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 [[#M2+1]], i64 %i.left)
; CHECK:       done:
; CHECK-NEXT:    %[[SUM:.+]] = phi i32 [ %s.next.unclamped, %ok.unclamped ], [ %s.next, %ok ]
; CHECK-NEXT:    %r = mul i32 %[[SUM]], 3
; CHECK:       loop.unclamped:
; CHECK-NEXT:    %i.unclamped = phi i64 [ 0, %entry ], [ %i.next.unclamped, %ok.unclamped ]
; CHECK-NEXT:    %s.unclamped = phi i32 [ 0, %entry ], [ %s.next.unclamped, %ok.unclamped ]
; CHECK-NEXT:    %hpf.ahead.fits = icmp ult i64 %i.unclamped, %i.split
; CHECK-NEXT:    br i1 %hpf.ahead.fits, label %loop.unclamped.body, label %loop
; CHECK-NOT:     umin
; CHECK:         %i.ahead.unclamped = add i64 %i.unclamped, [[#M2+1]]
; CHECK-NOT:     umin
; CHECK:       }
define i32 @sum_used_after(ptr %idx, ptr %vals, i64 %nvals, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %ok ]
  %s = phi i32 [ 0, %entry ], [ %s.next, %ok ]
  %ip = getelementptr inbounds i32, ptr %idx, i64 %i
  %j = load i32, ptr %ip, align 4
  %jx = zext i32 %j to i64
  %inb = icmp ult i64 %jx, %nvals
  br i1 %inb, label %ok, label %oob
ok:
  %vp = getelementptr inbounds i32, ptr %vals, i64 %jx
  %v = load i32, ptr %vp, align 4
  %s.next = add i32 %s, %v
  %i.next = add nuw i64 %i, 1
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %loop, label %done
oob:
  call void @abort()
  unreachable
done:
  %r = mul i32 %s.next, 3
  ret i32 %r
}

; A convergent call must not be duplicated: one clamped loop, as before.
; CHECK-LABEL: define i32 @convergent_call(
; CHECK-NOT:     unclamped
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(
; CHECK:         call void @llvm.prefetch.p0(
; CHECK-NOT:     unclamped
; CHECK-LABEL: declare void @abort()
define i32 @convergent_call(ptr %idx, ptr %vals, i64 %nvals, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %ok ]
  %s = phi i32 [ 0, %entry ], [ %s.next, %ok ]
  %ip = getelementptr inbounds i32, ptr %idx, i64 %i
  %j = load i32, ptr %ip, align 4
  %jx = zext i32 %j to i64
  %inb = icmp ult i64 %jx, %nvals
  br i1 %inb, label %ok, label %oob
ok:
  %vp = getelementptr inbounds i32, ptr %vals, i64 %jx
  %v = load i32, ptr %vp, align 4
  call void @barrier() convergent
  %s.next = add i32 %s, %v
  %i.next = add nuw i64 %i, 1
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %loop, label %done
oob:
  call void @abort()
  unreachable
done:
  ret i32 %s.next
}

declare void @abort()
declare void @barrier() convergent

; CHECK: [[LIKELY]] = !{!"branch_weights", i32 {{[0-9]+}}, i32 1}
