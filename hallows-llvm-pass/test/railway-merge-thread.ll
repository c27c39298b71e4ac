; Merge threading: a scanner loop whose arms all end in one merge block (phis of the token
; kind and length), followed by a test of the kind (`kind == 0`: hash the identifier). The
; `space` and `punct` arms pass constant kinds, so the merge block and the test are copied into
; them and the test folds: each copy branches straight to the latch. The `ident` arm passes
; kind 0 too (its copy folds to the hash block). The `other` arm passes a loaded kind: nothing
; folds along its edge and it keeps the shared merge block, as does the rare `error` arm (10 of
; 1e6 < 1/100). Every copy keeps the counter update (a store, now at a constant slot), and
; `len` becomes a phi where the paths meet (the hash block and the latch).
;
;   head -switch-> space 400000 | punct 300000 | ident 200000 | other 99990 | error 10
;   arms -> merge(kind, len) -> test -> hash -> latch | latch -> head | done
;
; The second RUN checks the report, the third that HALLOWS_RAILWAY_MERGE=0 turns it off.
;
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT
; RUN: env HALLOWS_RAILWAY_MERGE=0 opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s --check-prefix=OFF

; The layout then puts the blocks in hot tracks (ident's first: its copy falls through to the
; hash block, then the latch).
; CHECK-LABEL: define i64 @scan(
; CHECK:       ident:
; CHECK:         br label %[[IDENT:merge\.hallows\.thread[0-9]*]]
; CHECK:       [[IDENT]]:
; CHECK-NEXT:    %slot.thread{{[0-9]*}} = getelementptr inbounds i64, ptr %counts, i64 0
; CHECK:         store i64
; CHECK-NEXT:    br label %[[IDENT_TEST:test\.hallows\.thread[0-9]*]]
; CHECK:       [[IDENT_TEST]]:
; CHECK-NEXT:    br label %hash
; CHECK:       hash:
; CHECK-NEXT:    %[[LEN_HASH:len[0-9]+]] = phi i64 [ %w, %[[IDENT_TEST]] ], [ %len, %test ]
; CHECK:       space:
; CHECK-NEXT:    br label %[[SPACE:merge\.hallows\.thread[0-9]*]]
; CHECK:       [[SPACE]]:
; CHECK-NEXT:    %slot.thread{{[0-9]*}} = getelementptr inbounds i64, ptr %counts, i64 1
; CHECK:         store i64
; CHECK-NEXT:    br label %[[SPACE_TEST:test\.hallows\.thread[0-9]*]]
; CHECK:       [[SPACE_TEST]]:
; CHECK-NEXT:    br label %latch
; CHECK:       latch:
; CHECK-NEXT:    %[[LEN:len[0-9]+]] = phi i64 [ %[[LEN_HASH]], %hash ], [ %len, %test ], [ 1, %[[SPACE_TEST]] ], [ 1, %[[PUNCT_TEST:test\.hallows\.thread[0-9]*]] ]
; CHECK:         %i.next = add i64 %i, %[[LEN]]
; CHECK:       punct:
; CHECK-NEXT:    br label %[[PUNCT:merge\.hallows\.thread[0-9]*]]
; CHECK:       [[PUNCT]]:
; CHECK-NEXT:    %slot.thread{{[0-9]*}} = getelementptr inbounds i64, ptr %counts, i64 2
; CHECK:       [[PUNCT_TEST]]:
; CHECK-NEXT:    br label %latch
; CHECK:       other:
; CHECK:         br label %merge{{$}}
; CHECK:       merge:
; CHECK-NEXT:    %kind = phi i8 [ 9, %error ], [ %loaded, %other ]
; CHECK:       test:
; CHECK-NEXT:    %is_ident = icmp eq i8 %kind, 0
; CHECK-NEXT:    br i1 %is_ident, label %hash, label %latch
; CHECK:       error:
; CHECK-NEXT:    br label %merge{{$}}
; CHECK-LABEL: define i64 @no_constants(
; CHECK-NOT:   .hallows.thread
; CHECK:       ret i64

; REPORT: hallows: hallows-railway: reordered `scan` (railway)
; REPORT-SAME: merge block(s) copied into 3 predecessor(s) that decide a branch
; REPORT-SAME: "merge":{"sites":[{"chain_blocks":2,"chain_instructions":8,"copies":3,"count":{{[0-9]+}},"folded_branches":3,"folded_instructions":9,"offered":4,"reason":"threaded"}],"threaded":true}
; REPORT: `no_constants`
; REPORT-SAME: "merge":{"sites":[{"chain_blocks":2,"chain_instructions":8,"copies":0,"count":{{[0-9]+}},"folded_branches":0,"folded_instructions":0,"offered":2,"reason":"no offered predecessor decides a branch of the chain"}],"threaded":false}

; OFF-LABEL: define i64 @scan(
; OFF-NOT:   .hallows.thread
; OFF-LABEL: define i64 @no_constants(

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
    i8 59, label %punct
    i8 97, label %ident
    i8 64, label %error
  ], !prof !1
space:
  br label %merge
punct:
  br label %merge
ident:
  %w = call i64 @ident_len(ptr %p)
  br label %merge
other:
  %loaded = load i8, ptr %p
  br label %merge
error:
  br label %merge
merge:
  %kind = phi i8 [ 1, %space ], [ 2, %punct ], [ 0, %ident ], [ %loaded, %other ], [ 9, %error ]
  %len = phi i64 [ 1, %space ], [ 1, %punct ], [ %w, %ident ], [ 1, %other ], [ 1, %error ]
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

; The same loop, but every arm passes a kind it loaded: no branch folds, nothing is copied.
define i64 @no_constants(ptr %src, ptr %counts, i64 %n) !prof !0 {
entry:
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %i.next, %latch ]
  %h = phi i64 [ 0, %entry ], [ %h.next, %latch ]
  %p = getelementptr inbounds i8, ptr %src, i64 %i
  %b = load i8, ptr %p
  switch i8 %b, label %c [
    i8 32, label %a
    i8 59, label %b2
  ], !prof !4
a:
  %ka = load i8, ptr %p
  br label %merge
b2:
  %kb = load i8, ptr %counts
  br label %merge
c:
  %kc = load i8, ptr %src
  br label %merge
merge:
  %kind = phi i8 [ %ka, %a ], [ %kb, %b2 ], [ %kc, %c ]
  %len = phi i64 [ 1, %a ], [ 2, %b2 ], [ 3, %c ]
  %k = zext i8 %kind to i64
  %slot = getelementptr inbounds i64, ptr %counts, i64 %k
  %c0 = load i64, ptr %slot
  %c1 = add i64 %c0, 1
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
!1 = !{!"branch_weights", i32 99990, i32 400000, i32 300000, i32 200000, i32 10}
!2 = !{!"branch_weights", i32 200000, i32 800000}
!3 = !{!"branch_weights", i32 999999, i32 1}
!4 = !{!"branch_weights", i32 300000, i32 400000, i32 300000}
