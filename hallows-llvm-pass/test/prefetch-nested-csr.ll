; CSR sparse matrix-vector product (NAS CG): x[col[e]] in the inner loop over a row's
; nonzeros. The look-ahead distance is clamped to the row's end (rowptr[r+1] - 1) and to the
; bounds checks of col and val, so the cloned col[] load stays inside what the loop reads.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: inserted `spmv` {{.*}}indirect in a nested loop: {{.*}}"loop_depth":2{{.*}}"pattern":"indirect"

; CHECK-LABEL: define void @spmv(
; The limits are computed once per row, in the inner loop's entering block (which also branches
; to the row's end); the loop is also split at its look-ahead limit (see prefetch-split-loop.ll): this is the
; clamped loop.
; CHECK:       row:
; CHECK:         %e.last = call i64 @llvm.usub.sat.i64(i64 %hi, i64 1)
; CHECK-NEXT:    %e.last1 = call i64 @llvm.usub.sat.i64(i64 %ncol, i64 1)
; CHECK-NEXT:    %e.last4 = call i64 @llvm.usub.sat.i64(i64 %nval, i64 1)
; CHECK:       gather:
; CHECK:         %e.left = call i64 @llvm.usub.sat.i64(i64 %e.last, i64 %e)
; CHECK-NEXT:    %hpf.dist = call i64 @llvm.umin.i64(i64 {{[0-9]+}}, i64 %e.left)
; CHECK-NEXT:    %e.left2 = call i64 @llvm.usub.sat.i64(i64 %e.last1, i64 %e)
; CHECK-NEXT:    %hpf.dist3 = call i64 @llvm.umin.i64(i64 %hpf.dist, i64 %e.left2)
; CHECK-NEXT:    %e.left5 = call i64 @llvm.usub.sat.i64(i64 %e.last4, i64 %e)
; CHECK-NEXT:    %hpf.dist6 = call i64 @llvm.umin.i64(i64 %hpf.dist3, i64 %e.left5)
; CHECK-NEXT:    %e.ahead = add i64 %e, %hpf.dist6
; CHECK-NEXT:    %colp.ahead = getelementptr i32, ptr %col, i64 %e.ahead
; CHECK-NEXT:    %c.ahead = load i32, ptr %colp.ahead, align 4
; CHECK-NEXT:    %cx.ahead = zext i32 %c.ahead to i64
; CHECK-NEXT:    %xp.ahead = getelementptr double, ptr %x, i64 %cx.ahead
; CHECK-NEXT:    call void @llvm.prefetch.p0(ptr %xp.ahead, i32 0, i32 3, i32 1)
; CHECK-NEXT:    %xv = load double, ptr %xp, align 8
define void @spmv(ptr %rowptr, ptr %col, i64 %ncol, ptr %val, i64 %nval, ptr %x, i64 %nx, ptr %y, i64 %rows) {
entry:
  %none = icmp eq i64 %rows, 0
  br i1 %none, label %exit, label %row

row:
  %r = phi i64 [ %r.next, %row.end ], [ 0, %entry ]
  %r.next = add nuw i64 %r, 1
  %lop = getelementptr inbounds nuw i64, ptr %rowptr, i64 %r
  %lo = load i64, ptr %lop, align 8
  %hip = getelementptr inbounds nuw i64, ptr %rowptr, i64 %r.next
  %hi = load i64, ptr %hip, align 8
  %any = icmp ult i64 %lo, %hi
  br i1 %any, label %inner, label %row.end

inner:
  %e = phi i64 [ %e.next, %gather ], [ %lo, %row ]
  %acc = phi double [ %acc.next, %gather ], [ 0.0, %row ]
  %e.next = add i64 %e, 1
  %vok = icmp ult i64 %e, %nval
  br i1 %vok, label %val.ok, label %oob

val.ok:
  %vp = getelementptr inbounds nuw double, ptr %val, i64 %e
  %v = load double, ptr %vp, align 8
  %cok = icmp ult i64 %e, %ncol
  br i1 %cok, label %col.ok, label %oob

col.ok:
  %colp = getelementptr inbounds nuw i32, ptr %col, i64 %e
  %c = load i32, ptr %colp, align 4
  %cx = zext i32 %c to i64
  %xok = icmp samesign ugt i64 %nx, %cx
  br i1 %xok, label %gather, label %oob

gather:
  %xp = getelementptr inbounds nuw double, ptr %x, i64 %cx
  %xv = load double, ptr %xp, align 8
  %prod = fmul double %v, %xv
  %acc.next = fadd double %acc, %prod
  %inner.done = icmp eq i64 %e.next, %hi
  br i1 %inner.done, label %row.end, label %inner

row.end:
  %sum = phi double [ 0.0, %row ], [ %acc.next, %gather ]
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
