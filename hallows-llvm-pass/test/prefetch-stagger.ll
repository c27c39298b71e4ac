; Staggered distances (Ainsworth & Jones, CGO 2017, section 4.3: `b[i + 2c]`, then
; `a[b[i + c]]`): the BFS vertex loop of prefetch-nested-gather.ll with every load of its chain
; missing (Inputs/prefetch-stagger.profile). Three prefetches sit in the vertex loop: the row
; start row_start[queue[head + d1]], the edge list's first line col[row_start[queue[head + d2]]]
; (whose clone loads the row start) and the parents' gather over the first 8 edges of the
; vertex d3 ahead (whose clone loads the row start and the edge list). Each is first given its
; own distance (34, 34 and 7: the latency over the iteration time); a prefetch whose line a
; clone reads must then run ahead of that clone by its own distance, or the clone's load misses
; and stalls the loop: the edge list goes to 7 + 34 = 41, the row start to 41 + 34 = 75.
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-stagger.profile opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-stagger.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `bfs` {{.*}}34 iterations ahead (latency 34, memory parallelism 17); staggered to 75 ahead: another prefetch's cloned address chain loads this value 41 ahead, and its line needs 34 iterations to arrive;{{.*}}"distance":75,{{.*}}"load_index":1,{{.*}}"own_distance":34,
; The row end (row_start[u + 1]) is read by no clone: its own distance stays.
; REPORT: inserted `bfs` {{.*}}34 iterations ahead (latency 34, memory parallelism 17); the loop is not split (the loop has an inner loop), so every iteration clamps; {"address_pattern"{{.*}}"distance":34,{{.*}}"load_index":2,
; REPORT-NOT: own_distance
; REPORT: inserted `bfs` {{.*}}the first access of each inner-loop entry is prefetched from the outer loop{{.*}}staggered to 41 ahead: another prefetch's cloned address chain loads this value 7 ahead{{.*}}; the loop is not split (the prefetch is for an inner loop's entry), so every iteration clamps; {{.*}}"distance":41,{{.*}}"own_distance":34,{{.*}}"split":false
; REPORT: inserted `bfs` {{.*}}the first 8 elements of the inner-loop entry 7 outer iterations ahead{{.*}}; the loop is not split (the loop has an inner loop), so every iteration clamps; {{.*}}"distance":7,{{.*}}"split":false
; REPORT-NOT: own_distance

; CHECK-LABEL: define void @bfs(
; CHECK:       row.lo:
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 75, i64 %head.left)
; CHECK:         %sp.ahead = getelementptr i32, ptr %row_start, i64 %u.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %sp.ahead, i32 0, i32 3, i32 1)
; CHECK:       row.hi:
; CHECK:         call i64 @llvm.umin.i64(i64 34, i64 %head.left{{[0-9]+}})
; CHECK:       edges.pre:
; The edge list's entry 41 ahead: its clone loads the row start that was prefetched 75 ahead.
; CHECK:         call i64 @llvm.umin.i64(i64 41, i64 %head.left{{[0-9]+}})
; CHECK:         %s32.ahead = load i32, ptr %sp.ahead{{[0-9]+}}, align 4
; CHECK:         %first.ahead = getelementptr i32, ptr %col, i64 %start.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %first.ahead, i32 0, i32 3, i32 1)
; The gather 7 ahead: its clones load the row start and the edge list prefetched before.
; CHECK:         call i64 @llvm.umin.i64(i64 7, i64 %head.left{{[0-9]+}})
; CHECK:         %v32.ahead = load i32, ptr %first.ahead{{[0-9]+}}, align 4
; CHECK:         %pp.ahead = getelementptr i32, ptr %parent, i64 %v.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %pp.ahead, i32 0, i32 3, i32 1)
; CHECK:       edges:
; CHECK-NOT:     @llvm.prefetch
; CHECK:       vertex.next:

define void @bfs(ptr %queue, i64 %nq, ptr %row_start, i64 %nrs, ptr %col, i64 %ncol, ptr %parent, i64 %n) {
entry:
  %none = icmp eq i64 %nq, 0
  br i1 %none, label %exit, label %vertex

vertex:
  %head = phi i64 [ 0, %entry ], [ %head.next, %vertex.next ]
  %head.next = add nuw i64 %head, 1
  %qp = getelementptr inbounds nuw i32, ptr %queue, i64 %head
  %u32 = load i32, ptr %qp, align 4
  %u = zext i32 %u32 to i64
  %uok = icmp ult i64 %u, %nrs
  br i1 %uok, label %row.lo, label %oob

row.lo:
  %sp = getelementptr inbounds nuw i32, ptr %row_start, i64 %u
  %s32 = load i32, ptr %sp, align 4
  %start = zext i32 %s32 to i64
  %u1 = add nuw i64 %u, 1
  %u1ok = icmp ult i64 %u1, %nrs
  br i1 %u1ok, label %row.hi, label %oob

row.hi:
  %ep = getelementptr inbounds nuw i32, ptr %row_start, i64 %u1
  %e32 = load i32, ptr %ep, align 4
  %end = zext i32 %e32 to i64
  %rev = icmp ult i32 %e32, %s32
  %past = icmp ult i64 %ncol, %end
  %bad = or i1 %rev, %past
  br i1 %bad, label %oob, label %row.ok

row.ok:
  %last = getelementptr inbounds nuw i32, ptr %col, i64 %end
  %empty = icmp eq i32 %s32, %e32
  br i1 %empty, label %vertex.next, label %edges.pre

edges.pre:
  %first = getelementptr inbounds nuw i32, ptr %col, i64 %start
  br label %edges

edges:
  %it = phi ptr [ %first, %edges.pre ], [ %it.next, %edge.next ]
  %it.next = getelementptr inbounds nuw i8, ptr %it, i64 4
  %v32 = load i32, ptr %it, align 4
  %v = zext i32 %v32 to i64
  %vok = icmp ult i64 %v, %n
  br i1 %vok, label %visit, label %oob

visit:
  %pp = getelementptr inbounds nuw i32, ptr %parent, i64 %v
  %pv = load i32, ptr %pp, align 4
  %unseen = icmp eq i32 %pv, -1
  br i1 %unseen, label %mark, label %edge.next

mark:
  store i32 %u32, ptr %pp, align 4
  br label %edge.next

edge.next:
  %more = icmp ne ptr %it.next, %last
  br i1 %more, label %edges, label %vertex.next

vertex.next:
  %vdone = icmp eq i64 %head.next, %nq
  br i1 %vdone, label %exit, label %vertex

oob:
  call void @abort()
  unreachable

exit:
  ret void
}

declare void @abort()
