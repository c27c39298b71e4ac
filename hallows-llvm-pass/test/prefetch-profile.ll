; Profile-guided decisions (Inputs/prefetch.profile, made for the sites of this file):
; - @column: a 4 KiB-stride walk the profile marks as missing: prefetched, with the distance
;   from the profile: the latency needs 4 ahead (120 ns per iteration, 100 ns misses at rate
;   0.95, the stall taken out whole: 100 / (120 - 95) -> 4), but the profiled core keeps 16
;   misses outstanding (mlp=16), and with 0.95 misses per iteration that takes
;   ceil(16 / 0.95) = 17 ahead, which is the distance;
; - @gather_hits: an indirect load the profile says hits (footprint fits in L2): skipped;
; - @short_rows: an indirect load in a loop averaging 3 iterations per entry: skipped;
; - @never_ran: a site absent from the profile: skipped as cold;
; - @probe, @build: hash-join chain walks whose home bucket is prefetched from the outer loop;
; - @stale: the profile has sites of a function of this name, none matching (a stale profile,
;   or another monomorphised copy of a generic function): a warning, and its load is skipped
;   as not covered; a profiled build never falls back to static heuristics (it did before
;   session 11, which put static prefetches into `Vec::drop` copies of dependencies).
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch.profile opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=NOSTATIC

; REPORT-DAG: inserted `column` {{.*}}stride: profile: miss rate 0.95{{.*}}17 iterations ahead (latency 4, memory parallelism 17){{.*}}"distance":17,{{.*}}"mode":"profile"
; REPORT-DAG: skipped `gather_hits` {{.*}}loads hit: estimated miss rate 0.01
; REPORT-DAG: skipped `short_rows` {{.*}}tiny trip count: 3.0 iterations per loop entry
; REPORT-DAG: skipped `never_ran` {{.*}}cold: the site never ran while profiling
; REPORT-DAG: warning `stale` {{.*}}stale profile or another copy: 1 profiled load site(s) of a function of this name match none of this function's sites
; REPORT-DAG: skipped `stale` {{.*}}not covered by the profile{{.*}}"mode":"profile"
; NOSTATIC-NOT: "mode":"static"

; CHECK-LABEL: define double @column(
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 17, i64 %i.left)
; CHECK-NEXT:    %i.ahead = add i64 %i, %hpf.dist
; CHECK-NEXT:    %row.ahead = mul i64 %i.ahead, 512
; CHECK-NEXT:    %p.ahead = getelementptr double, ptr %m, i64 %row.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %p.ahead, i32 0, i32 3, i32 1)
; CHECK-LABEL: define i32 @gather_hits(
; CHECK-NOT:   @llvm.prefetch
; CHECK-LABEL: define i32 @short_rows(
; CHECK-NOT:   @llvm.prefetch
; CHECK-LABEL: define i32 @never_ran(
; CHECK-NOT:   @llvm.prefetch
; CHECK-LABEL: define i32 @stale(
; CHECK-NOT:   @llvm.prefetch

define double @column(ptr %m, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %s = phi double [ 0.0, %entry ], [ %s.next, %loop ]
  %row = mul nuw i64 %i, 512
  %p = getelementptr inbounds double, ptr %m, i64 %row
  %v = load double, ptr %p, align 8
  %s.next = fadd double %s, %v
  %i.next = add nuw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret double %s.next
}

define i32 @gather_hits(ptr %a, ptr %b, i64 %n) {
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

define i32 @short_rows(ptr %a, ptr %b, i64 %n) {
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

define i32 @never_ran(ptr %a, ptr %b, i64 %n) {
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

define i32 @stale(ptr %a, ptr %b, i64 %n) {
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

; Hash-join probe: the bucket chain is a pointer chase, but its first bucket comes from the
; outer loop's key: it is prefetched from the outer loop, d keys ahead (the key load clamped to
; the last key), with the chain's head phi replaced by the cloned home bucket.
; REPORT-DAG: inserted `probe` {{.*}}pointer-chase (in its loop: pointer chasing{{.*}}the first access of each inner-loop entry is prefetched from the outer loop{{.*}}"entry_prefetch":true
; CHECK-LABEL: define i64 @probe(
; CHECK:       outer:
; CHECK:         %k = load i64, ptr %kp, align 8
; CHECK:         %i.ahead = add i64 %i, %hpf.dist
; CHECK-NEXT:    %kp.ahead = getelementptr i64, ptr %keys, i64 %i.ahead
; CHECK-NEXT:    %k.ahead = load i64, ptr %kp.ahead, align 8
; CHECK-NEXT:    %h.ahead = mul i64 %k.ahead, -7046029254386353131
; CHECK-NEXT:    %home.ahead = lshr i64 %h.ahead, 40
; CHECK-NEXT:    %bp.ahead = getelementptr { i64, i64 }, ptr %buckets, i64 %home.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %bp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    br label %chain
define i64 @probe(ptr %keys, i64 %n, ptr %buckets) {
entry:
  br label %outer
outer:
  %i = phi i64 [ 0, %entry ], [ %i.next, %done ]
  %acc = phi i64 [ 0, %entry ], [ %acc.next, %done ]
  %kp = getelementptr inbounds i64, ptr %keys, i64 %i
  %k = load i64, ptr %kp, align 8
  %h = mul i64 %k, -7046029254386353131
  %home = lshr i64 %h, 40
  br label %chain
chain:
  %b = phi i64 [ %home, %outer ], [ %next, %chain ]
  %bp = getelementptr inbounds { i64, i64 }, ptr %buckets, i64 %b
  %bk = load i64, ptr %bp, align 8
  %np = getelementptr inbounds i8, ptr %bp, i64 8
  %next = load i64, ptr %np, align 8
  %hit = icmp eq i64 %bk, %k
  %end = icmp eq i64 %next, -1
  %stop = or i1 %hit, %end
  br i1 %stop, label %done, label %chain
done:
  %acc.next = add i64 %acc, %bk
  %i.next = add nuw i64 %i, 1
  %last = icmp eq i64 %i.next, %n
  br i1 %last, label %exit, label %outer
exit:
  ret i64 %acc.next
}

; Hash-join build: as the probe, but the chain walk may grow the table (a call), so the table's
; base pointer is reloaded in the loop and carried in a second header phi. The base does not
; move with the outer loop: its current entry value stands in for the one d keys ahead, and
; only the home bucket is computed ahead.
; REPORT-DAG: inserted `build` {{.*}}pointer-chase (in its loop: pointer chasing{{.*}}the first access of each inner-loop entry is prefetched from the outer loop{{.*}}"entry_prefetch":true
; CHECK-LABEL: define void @build(
; CHECK:       outer:
; CHECK:         %base0 = load ptr, ptr %table, align 8
; CHECK:         %i.ahead = add i64 %i, %hpf.dist
; CHECK-NEXT:    %kp.ahead = getelementptr i64, ptr %keys, i64 %i.ahead
; CHECK-NEXT:    %k.ahead = load i64, ptr %kp.ahead, align 8
; CHECK-NEXT:    %h.ahead = mul i64 %k.ahead, -7046029254386353131
; CHECK-NEXT:    %home.ahead = lshr i64 %h.ahead, 40
; CHECK-NEXT:    %bp.ahead = getelementptr { i64, i64 }, ptr %base0, i64 %home.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %bp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    br label %chain
define void @build(ptr %keys, i64 %n, ptr %table) {
entry:
  br label %outer
outer:
  %i = phi i64 [ 0, %entry ], [ %i.next, %done ]
  %kp = getelementptr inbounds i64, ptr %keys, i64 %i
  %k = load i64, ptr %kp, align 8
  %h = mul i64 %k, -7046029254386353131
  %home = lshr i64 %h, 40
  %base0 = load ptr, ptr %table, align 8
  br label %chain
chain:
  %b = phi i64 [ %home, %outer ], [ %next, %grow ]
  %base = phi ptr [ %base0, %outer ], [ %base1, %grow ]
  %bp = getelementptr inbounds { i64, i64 }, ptr %base, i64 %b
  %full = load i64, ptr %bp, align 8
  %isfull = icmp eq i64 %full, 1
  br i1 %isfull, label %grow, label %done
grow:
  call void @grow(ptr %table, i64 %b)
  %base1 = load ptr, ptr %table, align 8
  %bp1 = getelementptr inbounds { i64, i64 }, ptr %base1, i64 %b
  %np = getelementptr inbounds i8, ptr %bp1, i64 8
  %next = load i64, ptr %np, align 8
  br label %chain
done:
  store i64 1, ptr %bp, align 8
  %i.next = add nuw i64 %i, 1
  %last = icmp eq i64 %i.next, %n
  br i1 %last, label %exit, label %outer
exit:
  ret void
}

declare void @grow(ptr, i64)
