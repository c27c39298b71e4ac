; The CSR row loop of prefetch-nested-csr-window.ll: the look-ahead index of the row's window,
; min(i + d, window.last), needs its clamp only near the end of the range, so the inner loop is
; versioned once per row. Before the row's inner loop, one test whether the look-ahead of the
; row's last non-zero is still in the range: the exit test bounds i <= n - 1 in every
; iteration, so usub.sat(window.last, n) >= d - 1 gives i + d <= n - 1 + d <= window.last. When
; it holds, a copy of the inner loop (`.unclamped`) runs whose cloned col[] load reads
; col[start + i + d] with no umin; otherwise the clamped loop runs. The row's exit block merges
; both loops' sums; a use of the sum after the exit block gets a phi of the two (SSAUpdater).
; A loop that cannot be duplicated (a convergent call) is not copied, and every row runs the
; clamped loop (the report says why).
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `spmv_rows` {{.*}}versioned once per entry{{.*}}"versioned":true,"window":true
; REPORT: inserted `spmv_sum_used_outside` {{.*}}versioned once per entry{{.*}}"versioned":true,"window":true
; REPORT: inserted `spmv_convergent` {{.*}}not versioned (the loop calls a function that must not be duplicated){{.*}}"versioned":false,"window":true

; CHECK-LABEL: define void @spmv_rows(
; The once-per-row test, before the inner loop's entry.
; CHECK:       row.body:
; CHECK:         %n = sub nuw nsw i64 %end, %start
; CHECK:         %i.window.last = call i64 @llvm.usub.sat.i64(i64 %i.range.last2, i64 %start)
; CHECK-NEXT:    %i.slack = call i64 @llvm.usub.sat.i64(i64 %i.window.last, i64 %n)
; CHECK-NEXT:    %i.fits = icmp uge i64 %i.slack, [[#MARGIN:]]
; CHECK-NEXT:    br i1 %empty, label %row.end, label %inner.version
; CHECK:       inner.version:
; CHECK-NEXT:    br i1 %i.fits, label %inner.unclamped, label %inner, !prof [[LIKELY:![0-9]+]]
; The clamped fallback: the original loop, entered from the test only.
; CHECK:       inner:
; CHECK-NEXT:    %acc = phi double [ %acc.next, %gather ], [ 0.000000e+00, %inner.version ]
; CHECK-NEXT:    %i = phi i64 [ %i.next, %gather ], [ 0, %inner.version ]
; CHECK:       gather:
; CHECK:         %i.reach = add i64 %i, [[#MARGIN+1]]
; CHECK-NEXT:    %i.ahead = call i64 @llvm.umin.i64(i64 %i.reach, i64 %i.window.last)
; CHECK-NEXT:    %cp.ahead = getelementptr i32, ptr %colrow, i64 %i.ahead
; CHECK:         call void @llvm.prefetch.p0(ptr %xp.ahead, i32 0, i32 3, i32 1)
; CHECK:         br i1 %inner.done, label %row.end, label %inner
; Both loops' sums reach the row's end.
; CHECK:       row.end:
; CHECK-NEXT:    %sum = phi double [ 0.000000e+00, %row.body ], [ %acc.next, %gather ], [ %acc.next.unclamped, %gather.unclamped ]
; The unclamped copy: the same loop, its look-ahead index i + d with no umin.
; CHECK:       inner.unclamped:
; CHECK-NEXT:    %acc.unclamped = phi double [ %acc.next.unclamped, %gather.unclamped ], [ 0.000000e+00, %inner.version ]
; CHECK-NEXT:    %i.unclamped = phi i64 [ %i.next.unclamped, %gather.unclamped ], [ 0, %inner.version ]
; CHECK-NOT:     umin
; CHECK:       gather.unclamped:
; CHECK-NOT:     umin
; CHECK:         %i.reach.unclamped = add i64 %i.unclamped, [[#MARGIN+1]]
; CHECK-NEXT:    %cp.ahead.unclamped = getelementptr i32, ptr %colrow, i64 %i.reach.unclamped
; CHECK-NEXT:    %c.ahead.unclamped = load i32, ptr %cp.ahead.unclamped, align 4
; CHECK-NEXT:    %cx.ahead.unclamped = zext i32 %c.ahead.unclamped to i64
; CHECK-NEXT:    %xp.ahead.unclamped = getelementptr double, ptr %x, i64 %cx.ahead.unclamped
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %xp.ahead.unclamped, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %xv.unclamped = load double, ptr %xp.unclamped, align 8
; CHECK-NOT:     umin
; CHECK:         br i1 %inner.done.unclamped, label %row.end, label %inner.unclamped
; CHECK-NEXT:  }

; CHECK-LABEL: define void @spmv_sum_used_outside(
; CHECK:       inner.version:
; CHECK-NEXT:    br i1 %i.fits, label %inner.unclamped, label %inner
; CHECK:       row.sum:
; CHECK-NEXT:    %acc.next{{[0-9]+}} = phi double [ %acc.next.unclamped, %gather.unclamped ], [ %acc.next, %gather ]
; CHECK-NEXT:    %scaled = fmul double %acc.next{{[0-9]+}}, 2.000000e+00
; CHECK:       gather.unclamped:
; CHECK-NOT:     umin
; CHECK:         br i1 %inner.done.unclamped, label %row.sum, label %inner.unclamped

; CHECK-LABEL: define void @spmv_convergent(
; CHECK-NOT:     unclamped
; CHECK-NOT:     inner.version
; CHECK:         %i.ahead = call i64 @llvm.umin.i64(i64 %i.reach, i64 %i.window.last)
; CHECK-NOT:     unclamped
; CHECK:       }
; CHECK:       [[LIKELY]] = !{!"branch_weights", {{.*}}i32 {{[0-9]+}}, i32 1}

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

define void @spmv_sum_used_outside(ptr %rowptr, i64 %nrowptr, ptr %col, i64 %ncol, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
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
  br i1 %inner.done, label %row.sum, label %inner

row.sum:
  ; %acc.next used outside the loop without a phi (not LCSSA form).
  %scaled = fmul double %acc.next, 2.0
  br label %row.end

row.end:
  %sum = phi double [ 0.0, %row.body ], [ %scaled, %row.sum ]
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

define void @spmv_convergent(ptr %rowptr, i64 %nrowptr, ptr %col, i64 %ncol, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
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
  call void @sync() #0
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

declare void @abort()
declare void @sync()

attributes #0 = { convergent }
