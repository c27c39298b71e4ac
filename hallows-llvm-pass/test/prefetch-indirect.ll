; a[b[i]] (NAS IS's counting loop): without a profile the indirect load is prefetched with a
; static distance d; the cloned load reads b[i + min(d, (n - 1) - i)] = b[min(i + d, n - 1)],
; never past the last iteration; the strided b[i] itself is left to the hardware prefetcher.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: skipped `count` {{.*}}constant stride without a profile showing misses{{.*}}"pattern":"stride"
; REPORT: inserted `count` {{.*}}indirect: static heuristics{{.*}}"distance":{{[0-9]+}}{{.*}}"pattern":"indirect"

; CHECK-LABEL: define void @count(
; The limit is computed once, in the loop's entering block (which also branches to the exit);
; the loop is also split at its look-ahead limit (see prefetch-split-loop.ll): this is the
; clamped loop.
; CHECK:       entry:
; CHECK:         %i.last = call i64 @llvm.usub.sat.i64(i64 %n, i64 1)
; CHECK:       body:
; CHECK:         %i.left = call i64 @llvm.usub.sat.i64(i64 %i.last, i64 %i)
; CHECK-NEXT:    %hpf.dist = call i64 @llvm.umin.i64(i64 {{[0-9]+}}, i64 %i.left)
; CHECK-NEXT:    %i.ahead = add i64 %i, %hpf.dist
; CHECK-NEXT:    %kp.ahead = getelementptr i32, ptr %keys, i64 %i.ahead
; CHECK-NEXT:    %k.ahead = load i32, ptr %kp.ahead, align 4
; CHECK-NEXT:    %kx.ahead = zext i32 %k.ahead to i64
; CHECK-NEXT:    %cp.ahead = getelementptr i32, ptr %counts, i64 %kx.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %cp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %c = load i32, ptr %cp, align 4
define void @count(ptr noalias %keys, i64 %n, ptr noalias %counts, i64 %len) {
entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %exit, label %head

head:
  %i = phi i64 [ %i.next, %body ], [ 0, %entry ]
  %kp = getelementptr inbounds nuw i32, ptr %keys, i64 %i
  %k = load i32, ptr %kp, align 4, !noundef !0
  %kx = zext i32 %k to i64
  %ok = icmp ult i64 %kx, %len
  br i1 %ok, label %body, label %oob

body:
  %i.next = add nuw nsw i64 %i, 1
  %cp = getelementptr inbounds nuw i32, ptr %counts, i64 %kx
  %c = load i32, ptr %cp, align 4
  %c1 = add i32 %c, 1
  store i32 %c1, ptr %cp, align 4
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %head

oob:
  call void @abort()
  unreachable

exit:
  ret void
}

declare void @abort()

!0 = !{}
