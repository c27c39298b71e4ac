; Graph500 BFS's edge loop, as rustc emits it: for each queued vertex u, a slice iterator over
; col[row_start[u]..row_start[u + 1]] (checked: start <= end <= ncol) reads parent[v] for each
; neighbour v. With ~8 edges per vertex (Inputs/prefetch-gather.profile) the look-ahead inside
; the edge loop would stop at the row's end, so the pass prefetches from the vertex loop
; instead (Ainsworth & Jones, CGO 2017): for the vertex `d` queue entries ahead (d = 7: the outer
; body plus 8 copies of the edge body, 27 + 8 * 14 instructions, are 23.2 ns by the static
; floor, and 150 ns misses need 7 of them), its row start
; (row_start[queue[head + d]], the clone of each load clamped by the bounds check it passed),
; then parent[col[k]] for the first 8 edges k of its row, each index clamped to the checked
; range's last element (min(start + k, ncol - 1)), so no cloned load can fault.
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-gather.profile opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_PREFETCH_PROFILE=%S/Inputs/prefetch-gather.profile HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; Without a profile there is no trip count, so no gather (static mode prefetches inside the loop).
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s --check-prefix=STATIC

; REPORT: inserted `bfs` {{.*}}indirect in a nested loop (in its loop: tiny trip count: 8.0 iterations per loop entry); the first 8 elements of the inner-loop entry 7 outer iterations ahead are prefetched from the outer loop{{.*}}"distance":7,{{.*}}"gather":8
; REPORT: skipped `bfs_unchecked` {{.*}}tiny trip count: 8.0 iterations per loop entry{{.*}}"site":"{{[0-9a-f]+}}"

; CHECK-LABEL: define void @bfs(
; CHECK:       edges.pre:
; The vertex 7 entries ahead, clamped to the last queue entry, and its row start (clamped to
; the row_start check's bound).
; CHECK:         %hpf.dist = call i64 @llvm.umin.i64(i64 7, i64 %head.left)
; CHECK-NEXT:    %head.ahead = add i64 %head, %hpf.dist
; CHECK-NEXT:    %qp.ahead = getelementptr i32, ptr %queue, i64 %head.ahead
; CHECK-NEXT:    %u32.ahead = load i32, ptr %qp.ahead, align 4
; CHECK-NEXT:    %u.ahead = zext i32 %u32.ahead to i64
; CHECK-NEXT:    %u.last = sub i64 %nrs, 1
; CHECK-NEXT:    %u.clamp = call i64 @llvm.umin.i64(i64 %u.ahead, i64 %u.last)
; CHECK-NEXT:    %sp.ahead = getelementptr i32, ptr %row_start, i64 %u.clamp
; CHECK-NEXT:    %s32.ahead = load i32, ptr %sp.ahead, align 4
; CHECK-NEXT:    %start.ahead = zext i32 %s32.ahead to i64
; The edges: each index clamped to ncol - 1, then col[] and parent[] cloned.
; CHECK-NEXT:    %it.range.last = call i64 @llvm.usub.sat.i64(i64 %ncol, i64 1)
; CHECK-NEXT:    %it.gather.index = call i64 @llvm.umin.i64(i64 %start.ahead, i64 %it.range.last)
; CHECK-NEXT:    %first.ahead = getelementptr i32, ptr %col, i64 %it.gather.index
; CHECK-NEXT:    %v32.ahead = load i32, ptr %first.ahead, align 4
; CHECK-NEXT:    %v.ahead = zext i32 %v32.ahead to i64
; CHECK-NEXT:    %pp.ahead = getelementptr i32, ptr %parent, i64 %v.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %pp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %it.gather = add i64 %start.ahead, 1
; CHECK-NEXT:    %it.gather.index{{[0-9]+}} = call i64 @llvm.umin.i64(i64 %it.gather, i64 %it.range.last)
; CHECK-COUNT-6: call void @llvm.prefetch.p0(
; CHECK-NEXT:    %it.gather{{[0-9]+}} = add i64 %start.ahead, 7
; CHECK:         call void @llvm.prefetch.p0(
; CHECK-NEXT:    br label %edges
; CHECK:       edges:
; CHECK-NOT:     @llvm.prefetch
; CHECK:       vertex.next:

; CHECK-LABEL: define void @bfs_unchecked(
; CHECK-NOT:     %it.gather
; CHECK:         ret void

; STATIC-LABEL: define void @bfs(
; STATIC-NOT:    %it.gather

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

; The same loop without the check that the row is not empty (a do-while over the row): the
; range could be empty (ncol = 0), where the clamp's last element does not exist: no gather.
define void @bfs_unchecked(ptr %queue, i64 %nq, ptr %row_start, i64 %nrs, ptr %col, i64 %ncol, ptr %parent, i64 %n) {
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
  br label %edges.pre

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
