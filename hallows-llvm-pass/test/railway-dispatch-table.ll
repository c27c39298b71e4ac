; Dispatch threading with a shared table: after the chain is copied into the hot handlers, the
; dispatch `switch` and every copy of it become a load from one constant table of block
; addresses and an `indirectbr` (computed goto), so no copy rebuilds a jump table address of
; its own.
;
; @interp switches on an i8 with a reachable default (`halt`): the table has all 256 entries,
; the holes jump to `halt`, and each `indirectbr` lists each destination once with the switch's
; weights summed per destination. @wide switches on an i32 whose default is `unreachable`: the
; table stops at the largest case (4 entries) and the unreachable default is dropped.
; @wide_default switches on an i32 with a reachable default: it is threaded but keeps its
; `switch`es (a table would need a bounds check), and the report says table_entries 0.
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: env HALLOWS_RAILWAY_DISPATCH_TABLE=0 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s --check-prefix=OFF

; CHECK: @interp.hallows.dispatch = private unnamed_addr constant [256 x ptr] [ptr blockaddress(@interp, %op_add), ptr blockaddress(@interp, %op_mul), ptr blockaddress(@interp, %op_jmp), ptr blockaddress(@interp, %op_rare), ptr blockaddress(@interp, %halt),
; CHECK-SAME: ptr blockaddress(@interp, %halt)], align 8
; CHECK: @wide.hallows.dispatch = private unnamed_addr constant [4 x ptr] [ptr blockaddress(@wide, %op_a), ptr blockaddress(@wide, %op_b), ptr blockaddress(@wide, %op_a), ptr blockaddress(@wide, %op_c)], align 8
; CHECK-NOT: @wide_default.hallows.dispatch

; CHECK-LABEL: define i64 @interp(
; CHECK-NOT:   switch
; CHECK:       dispatch:
; CHECK:         %dispatch.index = zext i8 %op to i64
; CHECK-NEXT:    %dispatch.slot = getelementptr inbounds [256 x ptr], ptr @interp.hallows.dispatch, i64 0, i64 %dispatch.index
; CHECK-NEXT:    %dispatch.target = load ptr, ptr %dispatch.slot, align 8, !invariant.load
; CHECK-NEXT:    indirectbr ptr %dispatch.target, [label %op_add, label %op_mul, label %op_jmp, label %op_rare, label %halt], !prof ![[W:[0-9]+]]
; CHECK:       op_jmp:
; CHECK:         br label %[[JMP_HEAD:head\.hallows\.thread[0-9]*]]
; CHECK:       [[JMP_HEAD]]:
; CHECK:         %dispatch.index{{[0-9]*}} = zext i8 %op.thread to i64
; CHECK:         getelementptr inbounds [256 x ptr], ptr @interp.hallows.dispatch
; CHECK:         indirectbr ptr %dispatch.target{{[0-9]+}}, [label %op_add, label %op_mul, label %op_jmp, label %op_rare, label %halt], !prof ![[W]]
; CHECK:       halt:
; CHECK:         br label %done
; CHECK-NOT:   switch

; CHECK-LABEL: define i64 @wide(
; CHECK:         indirectbr ptr %dispatch.target, [label %op_a, label %op_b, label %op_c], !prof ![[WIDE:[0-9]+]]
; CHECK:       op_a:
; `acc` had two entries from the dispatch (cases 0 and 2); the indirectbr has one edge, so
; `verify` fails unless one of them was removed.
; CHECK:         %acc.a = phi i64 {{.*}}[ %acc, %dispatch ]
; CHECK-NOT:   switch
; CHECK-LABEL: define i64 @wide_default(
; CHECK-NOT:   indirectbr
; CHECK:         switch i32 %op.thread
; CHECK-LABEL: }

; CHECK-DAG: ![[W]] = !{!"branch_weights", i32 500000, i32 300000, i32 199990, i32 10, i32 0}
; Case 0 (400000) and case 2 (200000) both go to op_a.
; CHECK-DAG: ![[WIDE]] = !{!"branch_weights", i32 600000, i32 300000, i32 100000}

; REPORT: `interp`
; REPORT-SAME: "copies":3,
; REPORT-SAME: "table_entries":256,"threaded":true}
; REPORT: `wide`
; REPORT-SAME: "table_entries":4,"threaded":true}
; REPORT: `wide_default`
; REPORT-SAME: "table_entries":0,"threaded":true}

; OFF-NOT: hallows.dispatch
; OFF-NOT: indirectbr

define i64 @interp(ptr %code, i64 %len, i64 %limit) !prof !0 {
entry:
  br label %head
head:
  %pc = phi i64 [ 0, %entry ], [ %next, %op_add ], [ %next, %op_mul ], [ %jmp_to, %op_jmp ], [ %next, %op_rare ]
  %acc = phi i64 [ 1, %entry ], [ %acc.add, %op_add ], [ %acc.mul, %op_mul ], [ %acc, %op_jmp ], [ %acc.rare, %op_rare ]
  %steps = phi i64 [ 0, %entry ], [ %steps1, %op_add ], [ %steps1, %op_mul ], [ %steps1, %op_jmp ], [ %steps1, %op_rare ]
  %inb = icmp ult i64 %pc, %len
  br i1 %inb, label %check, label %done, !prof !1
check:
  %steps1 = add i64 %steps, 1
  %over = icmp ugt i64 %steps1, %limit
  br i1 %over, label %done, label %dispatch, !prof !2
dispatch:
  %p = getelementptr inbounds i8, ptr %code, i64 %pc
  %op = load i8, ptr %p
  %next = add i64 %pc, 1
  switch i8 %op, label %halt [
    i8 0, label %op_add
    i8 1, label %op_mul
    i8 2, label %op_jmp
    i8 3, label %op_rare
  ], !prof !3
op_add:
  %acc.add = add i64 %acc, %pc
  br label %head
op_mul:
  %acc.mul = mul i64 %acc, 3
  br label %head
op_jmp:
  %jmp_to = and i64 %next, 1
  br label %head
op_rare:
  %acc.rare = xor i64 %acc, %steps1
  br label %head
halt:
  br label %done
done:
  %res = phi i64 [ %acc, %head ], [ -1, %check ], [ %acc, %halt ]
  %res.steps = phi i64 [ %steps, %head ], [ %steps1, %check ], [ %steps1, %halt ]
  %sum = add i64 %res, %res.steps
  ret i64 %sum
}

define i64 @wide(ptr %code, i64 %len) !prof !0 {
entry:
  br label %head
head:
  %pc = phi i64 [ 0, %entry ], [ %next, %op_a ], [ %next, %op_b ], [ %next, %op_c ]
  %acc = phi i64 [ 0, %entry ], [ %acc.a, %op_a ], [ %acc.b, %op_b ], [ %acc.c, %op_c ]
  %inb = icmp ult i64 %pc, %len
  br i1 %inb, label %dispatch, label %done, !prof !1
dispatch:
  %p = getelementptr inbounds i32, ptr %code, i64 %pc
  %op = load i32, ptr %p
  %next = add i64 %pc, 1
  switch i32 %op, label %bad [
    i32 0, label %op_a
    i32 1, label %op_b
    i32 2, label %op_a
    i32 3, label %op_c
  ], !prof !4
op_a:
  %acc.a = phi i64 [ %acc, %dispatch ], [ %acc, %dispatch ]
  br label %head
op_b:
  %acc.b = add i64 %acc, 2
  br label %head
op_c:
  %acc.c = add i64 %acc, 3
  br label %head
bad:
  unreachable
done:
  ret i64 %acc
}

define i64 @wide_default(ptr %code, i64 %len) !prof !0 {
entry:
  br label %head
head:
  %pc = phi i64 [ 0, %entry ], [ %next, %op_a ], [ %next, %op_b ], [ %next, %op_c ], [ %next, %op_d ]
  %inb = icmp ult i64 %pc, %len
  br i1 %inb, label %dispatch, label %done, !prof !1
dispatch:
  %p = getelementptr inbounds i32, ptr %code, i64 %pc
  %op = load i32, ptr %p
  %next = add i64 %pc, 1
  switch i32 %op, label %done [
    i32 0, label %op_a
    i32 1, label %op_b
    i32 2, label %op_c
    i32 3, label %op_d
  ], !prof !5
op_a:
  br label %head
op_b:
  br label %head
op_c:
  br label %head
op_d:
  br label %head
done:
  ret i64 %pc
}

!0 = !{!"function_entry_count", i64 10}
!1 = !{!"branch_weights", i32 1000000, i32 10}
!2 = !{!"branch_weights", i32 0, i32 1000000}
!3 = !{!"branch_weights", i32 0, i32 500000, i32 300000, i32 199990, i32 10}
!4 = !{!"branch_weights", i32 0, i32 400000, i32 300000, i32 200000, i32 100000}
!5 = !{!"branch_weights", i32 0, i32 250000, i32 250000, i32 250000, i32 250000}
