; A prefetch whose distance is clamped to its loop's bounds, min(d, (L - iv) / step), in a loop
; that split_loops (insert.rs) cannot split at its look-ahead limit keeps the clamp in every
; iteration, and its one report record says so: `"split":false` and why (the `SPLIT_*`
; reasons of insert.rs, see docs/REPORT_FORMAT.md): the loop has an inner loop, several
; entering blocks, or a limit computed inside the loop. prefetch-split-loop.ll covers split
; loops and a refusal of the shim.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: rm -rf %t && mkdir -p %t
; RUN: env HALLOWS_REPORT_DIR=%t opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s
; RUN: cat %t/*.jsonl | FileCheck %s --check-prefix=FILE
; One record per load site (two loads in each function), none added for the split outcome.
; RUN: grep -c '"function":"outer_loop"' %t/*.jsonl | FileCheck %s --check-prefix=COUNT
; RUN: grep -c '"function":"two_entries"' %t/*.jsonl | FileCheck %s --check-prefix=COUNT
; COUNT: {{^}}2{{$}}

; REPORT: inserted `outer_loop` {{.*}}; the loop is not split (the loop has an inner loop), so every iteration clamps; {{.*}}"split":false
; REPORT: inserted `two_entries` {{.*}}; the loop is not split (the loop has several entering blocks), so every iteration clamps; {{.*}}"split":false
; REPORT: inserted `limit_in_loop` {{.*}}; the loop is not split (a limit is computed inside the loop), so every iteration clamps; {{.*}}"split":false

; FILE: {"action":"inserted",{{.*}}"split":false},"function":"outer_loop",{{.*}}"reason":"indirect: {{.*}}; the loop is not split (the loop has an inner loop), so every iteration clamps"
; FILE: {"action":"inserted",{{.*}}"split":false},"function":"two_entries",{{.*}}"reason":"indirect: {{.*}}; the loop is not split (the loop has several entering blocks), so every iteration clamps"
; FILE: {"action":"inserted",{{.*}}"split":false},"function":"limit_in_loop",{{.*}}"reason":"indirect: {{.*}}; the loop is not split (a limit is computed inside the loop), so every iteration clamps"

; The outer loop's look-ahead, clamped to its exit bound; the loop holds an inner loop, so it
; is not copied.
; CHECK-LABEL: define void @outer_loop(
; CHECK-NOT:     unclamped
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 [[#]], i64 %i.left)
; CHECK:         call void @llvm.prefetch.p0(
; CHECK-NOT:     unclamped
; CHECK-LABEL: define i32 @two_entries(
define void @outer_loop(ptr %idx, ptr %vals, i64 %nvals, i64 %n, i64 %m, ptr %out) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %latch ]
  %ip = getelementptr inbounds i32, ptr %idx, i64 %i
  %j = load i32, ptr %ip, align 4
  %jx = zext i32 %j to i64
  %inb = icmp ult i64 %jx, %nvals
  br i1 %inb, label %ok, label %oob
ok:
  %vp = getelementptr inbounds i32, ptr %vals, i64 %jx
  %v = load i32, ptr %vp, align 4
  br label %inner
inner:
  %k = phi i64 [ 0, %ok ], [ %k.next, %inner ]
  %op = getelementptr inbounds i32, ptr %out, i64 %k
  store i32 %v, ptr %op, align 4
  %k.next = add nuw i64 %k, 1
  %kmore = icmp ult i64 %k.next, %m
  br i1 %kmore, label %inner, label %latch
latch:
  %i.next = add nuw i64 %i, 1
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %loop, label %done
oob:
  call void @abort()
  unreachable
done:
  ret void
}

; The header is entered from two blocks: no single block to compute the copy's limit in.
; CHECK-NOT:     unclamped
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 [[#]], i64 %i.left)
; CHECK:         call void @llvm.prefetch.p0(
; CHECK-NOT:     unclamped
; CHECK-LABEL: define i32 @limit_in_loop(
define i32 @two_entries(ptr %idx, ptr %vals, i64 %nvals, i64 %n, i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  br label %loop
b:
  br label %loop
loop:
  %i = phi i64 [ 0, %a ], [ 0, %b ], [ %i.next, %ok ]
  %s = phi i32 [ 0, %a ], [ 1, %b ], [ %s.next, %ok ]
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
  ret i32 %s.next
}

; The index is also checked against a length loaded in every iteration (the loop stores to
; memory, so the load stays in the loop): that bound's limit is computed inside the loop and
; would not dominate a copy's header. Both bounds clamp the distance.
; CHECK-NOT:     unclamped
; CHECK:         %len = load i64, ptr %lenp, align 8
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 [[#]], i64 %i.left)
; CHECK:         %i.last1 = call i64 @llvm.usub.sat.i64(i64 %len, i64 1)
; CHECK:         %hpf.dist3 = call i64 @llvm.umin.i64(i64 %hpf.dist, i64 %i.left2)
; CHECK:         call void @llvm.prefetch.p0(
; CHECK-NOT:     unclamped
; CHECK-LABEL: declare void @abort()
define i32 @limit_in_loop(ptr %idx, ptr %vals, i64 %nvals, i64 %n, ptr %lenp) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %ok ]
  %s = phi i32 [ 0, %entry ], [ %s.next, %ok ]
  %len = load i64, ptr %lenp, align 8
  %iok = icmp ult i64 %i, %len
  br i1 %iok, label %body, label %oob
body:
  %ip = getelementptr inbounds i32, ptr %idx, i64 %i
  %j = load i32, ptr %ip, align 4
  %jx = zext i32 %j to i64
  %inb = icmp ult i64 %jx, %nvals
  br i1 %inb, label %ok, label %oob
ok:
  %vp = getelementptr inbounds i32, ptr %vals, i64 %jx
  %v = load i32, ptr %vp, align 4
  store i32 %v, ptr %lenp, align 4
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
