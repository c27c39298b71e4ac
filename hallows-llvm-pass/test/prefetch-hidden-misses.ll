; The misses-hidden rule (src/prefetch/decide.rs, HIDDEN_MISS_MARGIN) on NAS IS's counting loop
; counts[keys[i]] += 1 (Inputs/prefetch-hidden-misses.profile, core parallelism 14.3):
; - @count_at_parallelism as session 6 profiled it: 0.975 misses of 150 ns in 9.14 ns per
;   iteration, 16.0 in flight, a little above the measured parallelism: the loop is at the
;   core's miss throughput (its hand-tuned prefetch gains there), so it is prefetched; the
;   latency asks for 70 ahead, but at the core's miss throughput (14.3 in flight, 0.975 misses
;   per iteration) 15 ahead cover it, so the distance stops at 2 * 15 = 30
;   (src/prefetch/model/distance.rs, PARALLELISM_HEADROOM);
; - @count_hits, the same loop timed at 3.66 ns: 40 in flight, more than twice the
;   parallelism, contradicts the miss estimate and is left alone, with the reason.
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-hidden-misses.profile opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-hidden-misses.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `count_at_parallelism` {{.*}}indirect: profile: miss rate 0.97, miss latency 150 ns; 2.17 ns per iteration, 30 iterations ahead (latency 70, memory parallelism 15; the core's miss throughput limits the loop, so no further than 2 times the parallelism bound){{.*}}"distance":30,
; REPORT: skipped `count_hits` {{.*}}misses hidden: 3.66 ns per iteration measured against 146 ns of estimated misses, so 40.0 would be in flight, more than 2 times the 14.3 this core keeps outstanding{{.*}}"pattern":"indirect"

; CHECK-LABEL: define void @count_at_parallelism(
; CHECK:       body:
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 30, i64 %i.left)
; CHECK:         %cp.ahead = getelementptr i32, ptr %counts, i64 %kx.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %cp.ahead, i32 0, i32 3, i32 1)
; CHECK-LABEL: define void @count_hits(
; CHECK-NOT:     @llvm.prefetch
; CHECK:         ret void

define void @count_at_parallelism(ptr noalias %keys, i64 %n, ptr noalias %counts, i64 %len) {
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

define void @count_hits(ptr noalias %keys, i64 %n, ptr noalias %counts, i64 %len) {
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

!0 = !{}
declare void @abort()
