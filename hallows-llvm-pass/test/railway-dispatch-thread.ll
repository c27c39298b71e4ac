; Dispatch threading: the hot handlers of an interpreter loop each get their own copy of the
; dispatch chain (head: bounds check, check: step budget, dispatch: load + switch), so every
; hot handler ends in its own switch. The rare handler (10 of 1e6 < 1/100 of the dispatches)
; keeps branching to the shared chain, which the loop entry also still uses.
;
;   entry -> head -(1e6)-> check -(1e6)-> dispatch --switch--> add 500000 | mul 300000
;              \ 10          \ 0                                jmp 199990 | rare 10 | halt 0
;               done <--------+             add, mul, jmp, rare -> head
;
; The second function's handlers end in conditional branches: nothing is copied, and the report
; says why. The third RUN checks that HALLOWS_RAILWAY_DISPATCH=0 turns threading off. These RUNs
; keep the copies as `switch`es (HALLOWS_RAILWAY_DISPATCH_TABLE=0); railway-dispatch-table.ll
; tests the shared table of block addresses that replaces them by default.
;
; RUN: env HALLOWS_RAILWAY_DISPATCH_TABLE=0 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_RAILWAY_DISPATCH_TABLE=0 HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: env HALLOWS_RAILWAY_DISPATCH=0 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s --check-prefix=OFF

; CHECK-LABEL: define i64 @interp(
; CHECK:       dispatch:
; CHECK-NEXT:    %p = getelementptr
; CHECK:         switch i8 %op,
; CHECK:       op_jmp:
; CHECK:         br label %[[JMP_HEAD:head\.hallows\.thread[0-9]*]]
; CHECK:       [[JMP_HEAD]]:
; The value of `acc` at the end of `jmp` is a phi of the copies that reach it, not the head's.
; CHECK-NEXT:    %acc.thread = phi i64 [ %[[ACC_AT_JMP:[0-9a-z.]+]], %op_jmp ]
; CHECK:         icmp ult i64 %jmp_to, %len
; CHECK:         switch i8 %op.thread
; CHECK:       op_add:
; CHECK:         br label %[[ADD_HEAD:head\.hallows\.thread[0-9]*]]
; CHECK:       [[ADD_HEAD]]:
; CHECK:         switch i8 %op.thread
; CHECK:       op_mul:
; CHECK:         br label %[[MUL_HEAD:head\.hallows\.thread[0-9]*]]
; CHECK:       [[MUL_HEAD]]:
; CHECK:         switch i8 %op.thread
; CHECK:       op_rare:
; CHECK:         br label %head{{$}}
; CHECK-LABEL: define i64 @conditional_handlers(
; CHECK-NOT:   .hallows.thread
; CHECK:       ret i64

; REPORT: hallows: hallows-railway: reordered `interp` (railway)
; REPORT-SAME: dispatch chain copied into 3 hot predecessor(s)
; REPORT-SAME: "dispatch":{"chain_blocks":3,"chain_instructions":9,"copies":3,"coverage":1.0,"dispatch_count":{{[0-9]+}},"duplicated_instructions":27,"table_entries":0,"threaded":true}
; REPORT: `conditional_handlers`
; REPORT-SAME: "dispatch":{"reason":"dispatch not threaded: 0 hot predecessor(s) end in an unconditional branch, fewer than 2 (MIN_COPIES)","threaded":false}

; OFF-LABEL: define i64 @interp(
; OFF-NOT:   .hallows.thread
; OFF-LABEL: define i64 @conditional_handlers(

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

define i64 @conditional_handlers(ptr %code, i64 %len) !prof !0 {
entry:
  br label %head
head:
  %pc = phi i64 [ 0, %entry ], [ %next, %op_a ], [ %next, %op_b ], [ %next, %op_c ], [ %next, %op_d ]
  %inb = icmp ult i64 %pc, %len
  br i1 %inb, label %dispatch, label %done, !prof !1
dispatch:
  %p = getelementptr inbounds i8, ptr %code, i64 %pc
  %op = load i8, ptr %p
  %next = add i64 %pc, 1
  switch i8 %op, label %done [
    i8 0, label %op_a
    i8 1, label %op_b
    i8 2, label %op_c
    i8 3, label %op_d
  ], !prof !4
op_a:
  %a = icmp eq i64 %pc, 7
  br i1 %a, label %done, label %head, !prof !2
op_b:
  %b = icmp eq i64 %pc, 8
  br i1 %b, label %done, label %head, !prof !2
op_c:
  %c = icmp eq i64 %pc, 9
  br i1 %c, label %done, label %head, !prof !2
op_d:
  %d = icmp eq i64 %pc, 10
  br i1 %d, label %done, label %head, !prof !2
done:
  ret i64 %pc
}

!0 = !{!"function_entry_count", i64 10}
!1 = !{!"branch_weights", i32 1000000, i32 10}
!2 = !{!"branch_weights", i32 0, i32 1000000}
!3 = !{!"branch_weights", i32 0, i32 500000, i32 300000, i32 199990, i32 10}
!4 = !{!"branch_weights", i32 0, i32 250000, i32 250000, i32 250000, i32 250000}
