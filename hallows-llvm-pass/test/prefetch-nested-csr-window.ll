; CSR sparse matrix-vector product as rustc emits it for
;   for (&c, &v) in col[start..end].iter().zip(&val[start..end]) { acc += v * x[c] }
; (examples/src/bin/nas_cg.rs): the inner loop counts i from 0 to end - start over the window
; `col[start..end]`, and the slice bounds checks before it prove end <= ncol and end <= nval.
; Rows average a few non-zeros, so a look-ahead clamped to the row's end would prefetch almost
; nothing: the look-ahead crosses the row's end instead (Ainsworth & Jones' `e + d` over the
; flattened loops) and is clamped to the checked range, min(i + d, min(ncol, nval) - start - 1)
; with min(ncol, nval) - 1 computed once before the row loop and the start subtracted once per
; row before the inner loop, so the cloned col[] load never leaves col.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `spmv_rows` {{.*}}looking ahead across the inner loop's end{{.*}}"window":true
; REPORT: inserted `spmv_unchecked_base` {{.*}}indirect in a nested loop: {{.*}}"loop_depth":2
; REPORT-NOT: "window":true

; CHECK-LABEL: define void @spmv_rows(
; The range's last index, min(nval, ncol) - 1, is computed once before the row loop (the
; lengths are loop-invariant); each row only subtracts its start.
; CHECK:       entry:
; CHECK:         %i.range.last = call i64 @llvm.usub.sat.i64(i64 %nval, i64 1)
; CHECK-NEXT:    %i.range.last1 = call i64 @llvm.usub.sat.i64(i64 %ncol, i64 1)
; CHECK-NEXT:    %i.range.last2 = call i64 @llvm.umin.i64(i64 %i.range.last, i64 %i.range.last1)
; CHECK-NEXT:    br i1 %none, label %exit, label %row
; CHECK:       row.body:
; CHECK-NOT:     range.last
; CHECK:         %i.window.last = call i64 @llvm.usub.sat.i64(i64 %i.range.last2, i64 %start)
; The once-per-row test of prefetch-csr-versioned.ll follows.
; CHECK-NEXT:    %i.slack = call i64 @llvm.usub.sat.i64(i64 %i.window.last, i64 %n)
; CHECK-NEXT:    %i.fits = icmp uge i64 %i.slack, {{[0-9]+}}
; CHECK-NEXT:    br i1 %empty, label %row.end, label %inner.version
; CHECK:       gather:
; CHECK:         %i.reach = add i64 %i, {{[0-9]+}}
; CHECK-NEXT:    %i.ahead = call i64 @llvm.umin.i64(i64 %i.reach, i64 %i.window.last)
; CHECK-NEXT:    %cp.ahead = getelementptr i32, ptr %colrow, i64 %i.ahead
; CHECK-NEXT:    %c.ahead = load i32, ptr %cp.ahead, align 4
; CHECK-NEXT:    %cx.ahead = zext i32 %c.ahead to i64
; CHECK-NEXT:    %xp.ahead = getelementptr double, ptr %x, i64 %cx.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %xp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %xv = load double, ptr %xp, align 8
; The row's own exit limit no longer bounds the look-ahead.
; CHECK-NOT:     usub.sat.i64(i64 %n
; CHECK-LABEL: define void @spmv_unchecked_base(
; CHECK-NOT:     window
; CHECK:         %i.left = call i64 @llvm.usub.sat.i64(i64 %i.last, i64 %i)
define void @spmv_rows(ptr %rowptr, i64 %nrowptr, ptr %col, i64 %ncol, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
entry:
  %none = icmp eq i64 %rows, 0
  br i1 %none, label %exit, label %row

row:
  %r = phi i64 [ %r.next, %row.end ], [ 0, %entry ]
  %r.next = add nuw i64 %r, 1
  %rok = icmp ult i64 %r.next, %nrowptr
  br i1 %rok, label %row.ok, label %oob

row.ok:
  %lop = getelementptr inbounds nuw i32, ptr %rowptr, i64 %r
  %lo = load i32, ptr %lop, align 4
  %start = zext i32 %lo to i64
  %hip = getelementptr inbounds nuw i32, ptr %rowptr, i64 %r.next
  %hi = load i32, ptr %hip, align 4
  %end = zext i32 %hi to i64
  ; col[start..end]: start <= end and end <= ncol, else slice_index_fail.
  %backwards = icmp ult i32 %hi, %lo
  %past.col = icmp ult i64 %ncol, %end
  %bad.col = or i1 %backwards, %past.col
  br i1 %bad.col, label %oob, label %col.checked

col.checked:
  ; val[start..end]: end <= nval.
  %past.val = icmp ult i64 %nval, %end
  br i1 %past.val, label %oob, label %row.body

row.body:
  %off = shl nuw nsw i64 %start, 2
  %colrow = getelementptr inbounds nuw i8, ptr %col, i64 %off
  %valrow = getelementptr inbounds nuw i8, ptr %val, i64 %off
  %n = sub nuw nsw i64 %end, %start
  %empty = icmp eq i32 %hi, %lo
  br i1 %empty, label %row.end, label %inner

inner:
  %acc = phi double [ %acc.next, %gather ], [ 0.0, %row.body ]
  %i = phi i64 [ %i.next, %gather ], [ 0, %row.body ]
  %cp = getelementptr inbounds nuw i32, ptr %colrow, i64 %i
  %c = load i32, ptr %cp, align 4
  %cx = zext i32 %c to i64
  %xok = icmp samesign ugt i64 %nx, %cx
  br i1 %xok, label %gather, label %oob

gather:
  %vp = getelementptr inbounds nuw float, ptr %valrow, i64 %i
  %i.next = add nuw i64 %i, 1
  %v = load float, ptr %vp, align 4
  %vd = fpext float %v to double
  %xp = getelementptr inbounds nuw double, ptr %x, i64 %cx
  %xv = load double, ptr %xp, align 8
  %prod = fmul double %xv, %vd
  %acc.next = fadd double %acc, %prod
  %inner.done = icmp eq i64 %i.next, %n
  br i1 %inner.done, label %row.end, label %inner

row.end:
  %sum = phi double [ 0.0, %row.body ], [ %acc.next, %gather ]
  %yp = getelementptr inbounds nuw double, ptr %y, i64 %r
  store double %sum, ptr %yp, align 8
  %rows.done = icmp eq i64 %r.next, %rows
  br i1 %rows.done, label %exit, label %row

oob:
  call void @abort()
  unreachable

exit:
  ret void
}

; The same loop, but the row's elements are addressed from `start + 1`, not the `start` the
; checks bound: nothing proves the elements past the row are in the range, so the look-ahead
; stays clamped to the row's own end.
define void @spmv_unchecked_base(ptr %rowptr, ptr %col, i64 %ncol, ptr %x, i64 %nx, ptr %y, i64 %rows) {
entry:
  %none = icmp eq i64 %rows, 0
  br i1 %none, label %exit, label %row

row:
  %r = phi i64 [ %r.next, %row.end ], [ 0, %entry ]
  %r.next = add nuw i64 %r, 1
  %lop = getelementptr inbounds nuw i32, ptr %rowptr, i64 %r
  %lo = load i32, ptr %lop, align 4
  %start = zext i32 %lo to i64
  %hip = getelementptr inbounds nuw i32, ptr %rowptr, i64 %r.next
  %hi = load i32, ptr %hip, align 4
  %end = zext i32 %hi to i64
  %past.col = icmp ult i64 %ncol, %end
  br i1 %past.col, label %oob, label %row.body

row.body:
  %start1 = add i64 %start, 1
  %off = shl nuw nsw i64 %start1, 2
  %colrow = getelementptr inbounds nuw i8, ptr %col, i64 %off
  %n = sub nuw nsw i64 %end, %start
  %empty = icmp ule i64 %end, %start1
  br i1 %empty, label %row.end, label %inner

inner:
  %acc = phi double [ %acc.next, %inner ], [ 0.0, %row.body ]
  %i = phi i64 [ %i.next, %inner ], [ 0, %row.body ]
  %cp = getelementptr inbounds nuw i32, ptr %colrow, i64 %i
  %c = load i32, ptr %cp, align 4
  %cx = zext i32 %c to i64
  %xp = getelementptr inbounds nuw double, ptr %x, i64 %cx
  %xv = load double, ptr %xp, align 8
  %acc.next = fadd double %acc, %xv
  %i.next = add nuw i64 %i, 1
  %inner.done = icmp eq i64 %i.next, %n
  br i1 %inner.done, label %row.end, label %inner

row.end:
  %sum = phi double [ 0.0, %row.body ], [ %acc.next, %inner ]
  %yp = getelementptr inbounds nuw double, ptr %y, i64 %r
  store double %sum, ptr %yp, align 8
  %rows.done = icmp eq i64 %r.next, %rows
  br i1 %rows.done, label %exit, label %row

oob:
  call void @abort()
  unreachable

exit:
  ret void
}

declare void @abort()
