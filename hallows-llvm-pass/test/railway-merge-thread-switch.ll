; Merge threading from `switch` predecessors. The loop head's `switch` enters the merge block
; directly for three punctuation bytes (`(`, `)`, `;`), all passing kind 2: one copy takes all
; three edges, its phis get one entry per edge, and its kind test folds. The `op` arm ends in a
; `switch` of its own whose default edge enters the merge block with kind 6: it gets a copy
; too. The `space` and `ident` arms (a `br` each) are threaded as before. The `other` arm passes
; a loaded kind; it and the rare `eq` arm keep the shared merge block.
;
;   head -switch-> space 400000 | ( ) ; 100000 each | op 150000 | ident 50000 | other 50000
;   op -switch-> merge (kind 6) 140000 | eq 10000 -> merge (kind 7)
;
; The second RUN checks the report.
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i64 @scan(
; CHECK:       merge:
; CHECK-SAME:    preds = %other, %eq
; CHECK-NEXT:    %kind = phi i8 [ %loaded, %other ], [ 7, %eq ]
; CHECK:       head:
; CHECK:         switch i8 %b, label %other [
; CHECK-NEXT:      i8 32, label %space
; CHECK-NEXT:      i8 40, label %[[PUNCT:merge\.hallows\.thread[0-9]*]]
; CHECK-NEXT:      i8 41, label %[[PUNCT]]
; CHECK-NEXT:      i8 59, label %[[PUNCT]]
; CHECK-NEXT:      i8 61, label %op
; CHECK:       [[PUNCT]]:
; CHECK-SAME:    preds = %head, %head, %head
; CHECK-NEXT:    %slot.thread{{[0-9]*}} = getelementptr inbounds i64, ptr %counts, i64 2
; CHECK:         store i64
; CHECK-NEXT:    br label %[[PUNCT_TEST:test\.hallows\.thread[0-9]*]]
; CHECK:       [[PUNCT_TEST]]:
; CHECK-NEXT:    br label %latch
; CHECK:       op:
; CHECK:         switch i8 %b2, label %[[OP:merge\.hallows\.thread[0-9]*]] [
; CHECK-NEXT:      i8 61, label %eq
; CHECK:       [[OP]]:
; CHECK-NEXT:    %slot.thread{{[0-9]*}} = getelementptr inbounds i64, ptr %counts, i64 6
; CHECK:         br label %[[OP_TEST:test\.hallows\.thread[0-9]*]]
; CHECK:       [[OP_TEST]]:
; CHECK-NEXT:    br label %latch

; REPORT: hallows: hallows-railway: reordered `scan` (railway)
; REPORT-SAME: merge block(s) copied into 4 predecessor(s) that decide a branch
; REPORT-SAME: "merge":{"sites":[{"chain_blocks":2,"chain_instructions":8,"copies":4,"count":{{[0-9]+}},"folded_branches":4,"folded_instructions":12,"offered":5,"reason":"threaded"}],"threaded":true}

define i64 @scan(ptr %src, ptr %counts, i64 %n) !prof !0 {
entry:
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %i.next, %latch ]
  %h = phi i64 [ 0, %entry ], [ %h.next, %latch ]
  %p = getelementptr inbounds i8, ptr %src, i64 %i
  %b = load i8, ptr %p
  switch i8 %b, label %other [
    i8 32, label %space
    i8 40, label %merge
    i8 41, label %merge
    i8 59, label %merge
    i8 61, label %op
    i8 97, label %ident
  ], !prof !1
space:
  br label %merge
op:
  %q = getelementptr inbounds i8, ptr %p, i64 1
  %b2 = load i8, ptr %q
  switch i8 %b2, label %merge [
    i8 61, label %eq
  ], !prof !4
eq:
  br label %merge
ident:
  %w = call i64 @ident_len(ptr %p)
  br label %merge
other:
  %loaded = load i8, ptr %p
  br label %merge
merge:
  %kind = phi i8 [ 1, %space ], [ 2, %head ], [ 2, %head ], [ 2, %head ], [ 6, %op ], [ 7, %eq ], [ 0, %ident ], [ %loaded, %other ]
  %len = phi i64 [ 1, %space ], [ 1, %head ], [ 1, %head ], [ 1, %head ], [ 1, %op ], [ 2, %eq ], [ %w, %ident ], [ 1, %other ]
  %k = zext i8 %kind to i64
  %slot = getelementptr inbounds i64, ptr %counts, i64 %k
  %c = load i64, ptr %slot
  %c1 = add i64 %c, 1
  store i64 %c1, ptr %slot
  br label %test
test:
  %is_ident = icmp eq i8 %kind, 0
  br i1 %is_ident, label %hash, label %latch, !prof !2
hash:
  %hh = mul i64 %h, 31
  br label %latch
latch:
  %h.next = phi i64 [ %hh, %hash ], [ %h, %test ]
  %i.next = add i64 %i, %len
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %head, label %done, !prof !3
done:
  %r = add i64 %h.next, %i.next
  ret i64 %r
}

declare i64 @ident_len(ptr)

!0 = !{!"function_entry_count", i64 1}
!1 = !{!"branch_weights", i32 50000, i32 400000, i32 100000, i32 100000, i32 100000, i32 150000, i32 50000}
!2 = !{!"branch_weights", i32 50000, i32 850000}
!3 = !{!"branch_weights", i32 899999, i32 1}
!4 = !{!"branch_weights", i32 140000, i32 10000}
