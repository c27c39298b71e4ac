; A loop bounded by an argument has an unknown trip count; one that also stops at 100 has a
; known maximum only.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s

; CHECK-LABEL: function 'up_to_n' (up_to_n)
; CHECK:   loop #0: depth 1 header 'loop' blocks 1 exiting 1 trip-count unknown
define void @up_to_n(ptr %p, i64 %n) {
entry:
  %skip = icmp eq i64 %n, 0
  br i1 %skip, label %exit, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %gep = getelementptr i8, ptr %p, i64 %i
  store i8 0, ptr %gep
  %i.next = add i64 %i, 1
  %c = icmp ult i64 %i.next, %n
  br i1 %c, label %loop, label %exit
exit:
  ret void
}

; CHECK-LABEL: function 'up_to_n_at_most_100' (up_to_n_at_most_100)
; CHECK:   loop #0: depth 1 header 'loop' blocks 2 exiting 2 trip-count max 100
define void @up_to_n_at_most_100(ptr %p, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %latch ]
  %in.range = icmp ult i64 %i, %n
  br i1 %in.range, label %latch, label %exit
latch:
  %gep = getelementptr i8, ptr %p, i64 %i
  store i8 0, ptr %gep
  %i.next = add nuw i64 %i, 1
  %more = icmp ult i64 %i.next, 100
  br i1 %more, label %loop, label %exit
exit:
  ret void
}
