; The CSR row loop of prefetch-nested-csr-window.ll, where the look-ahead index of the row's
; window is clamped to min(i + d, min(ncol, nval) - start - 1): the part of that bound that does
; not depend on the row, min(ncol, nval) - 1, is computed once before the row loop (in its
; preheader, or in its only entering block when that also branches elsewhere, as in
; prefetch-nested-csr-window.ll), and each row computes only usub.sat(last, start) (the two
; forms are equal: saturating subtractions commute, and umin commutes with a monotone map).
; When a length is computed inside the row loop (re-loaded per row), the whole bound stays
; per row.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s

; CHECK-LABEL: define void @spmv_preheader(
; CHECK:       ph:
; CHECK-NEXT:    %i.range.last = call i64 @llvm.usub.sat.i64(i64 %nval, i64 1)
; CHECK-NEXT:    %i.range.last1 = call i64 @llvm.usub.sat.i64(i64 %ncol, i64 1)
; CHECK-NEXT:    %i.range.last2 = call i64 @llvm.umin.i64(i64 %i.range.last, i64 %i.range.last1)
; CHECK-NEXT:    br label %row
; CHECK:       row:
; CHECK-NOT:     usub.sat
; CHECK:       row.body:
; CHECK-NOT:     range.last
; CHECK:         %i.window.last = call i64 @llvm.usub.sat.i64(i64 %i.range.last2, i64 %start)
; The once-per-row test of prefetch-csr-versioned.ll follows.
; CHECK-NEXT:    %i.slack = call i64 @llvm.usub.sat.i64(i64 %i.window.last, i64 %n)
; CHECK-NEXT:    %i.fits = icmp uge i64 %i.slack, {{[0-9]+}}
; CHECK-NEXT:    br i1 %empty, label %row.end, label %inner.version
; CHECK:       gather:
; CHECK-NOT:     usub.sat
; CHECK:         %i.reach = add i64 %i, {{[0-9]+}}
; CHECK-NEXT:    %i.ahead = call i64 @llvm.umin.i64(i64 %i.reach, i64 %i.window.last)
; CHECK-NEXT:    %cp.ahead = getelementptr i32, ptr %colrow, i64 %i.ahead
; CHECK-NOT:     usub.sat
; CHECK:       row.end:

; CHECK-LABEL: define void @spmv_len_per_row(
; CHECK:       entry:
; CHECK-NOT:     usub.sat
; CHECK:       row.body:
; CHECK:         %i.range.last = call i64 @llvm.usub.sat.i64(i64 %nval, i64 1)
; CHECK-NEXT:    %i.range.last1 = call i64 @llvm.usub.sat.i64(i64 %ncol, i64 1)
; CHECK-NEXT:    %i.range.last2 = call i64 @llvm.umin.i64(i64 %i.range.last, i64 %i.range.last1)
; CHECK-NEXT:    %i.window.last = call i64 @llvm.usub.sat.i64(i64 %i.range.last2, i64 %start)
; The once-per-row test of prefetch-csr-versioned.ll follows.
; CHECK-NEXT:    %i.slack = call i64 @llvm.usub.sat.i64(i64 %i.window.last, i64 %n)
; CHECK-NEXT:    %i.fits = icmp uge i64 %i.slack, {{[0-9]+}}
; CHECK-NEXT:    br i1 %empty, label %row.end, label %inner.version
; CHECK:         %i.ahead = call i64 @llvm.umin.i64(i64 %i.reach, i64 %i.window.last)

define void @spmv_preheader(ptr %rowptr, i64 %nrowptr, ptr %col, i64 %ncol, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
entry:
  %none = icmp eq i64 %rows, 0
  br i1 %none, label %exit, label %ph

ph:
  br label %row

row:
  %r = phi i64 [ %r.next, %row.end ], [ 0, %ph ]
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

define void @spmv_len_per_row(ptr %rowptr, i64 %nrowptr, ptr %col, ptr %ncolp, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
entry:
  %none = icmp eq i64 %rows, 0
  br i1 %none, label %exit, label %row

row:
  %r = phi i64 [ %r.next, %row.end ], [ 0, %entry ]
  %r.next = add nuw i64 %r, 1
  %rok = icmp ult i64 %r.next, %nrowptr
  br i1 %rok, label %row.ok, label %oob

row.ok:
  %ncol = load i64, ptr %ncolp, align 8
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

declare void @abort()
