; Nested loops are listed outer first, with depth and parent.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s

; CHECK-LABEL: function 'grid' (grid)
; CHECK:        loop #0: depth 1 header 'outer' blocks 3 exiting 1 trip-count constant 4
; CHECK-NEXT:   loop #1: depth 2 header 'inner' parent #0 blocks 1 exiting 1 trip-count constant 8
; CHECK-NOT:    loop #2
define i32 @grid(ptr %p) {
entry:
  br label %outer
outer:
  %r = phi i64 [ 0, %entry ], [ %r.next, %outer.latch ]
  %acc.o = phi i32 [ 0, %entry ], [ %acc.i.next, %outer.latch ]
  br label %inner
inner:
  %c = phi i64 [ 0, %outer ], [ %c.next, %inner ]
  %acc.i = phi i32 [ %acc.o, %outer ], [ %acc.i.next, %inner ]
  %row = mul i64 %r, 8
  %idx = add i64 %row, %c
  %gep = getelementptr i32, ptr %p, i64 %idx
  %v = load i32, ptr %gep
  %acc.i.next = add i32 %acc.i, %v
  %c.next = add i64 %c, 1
  %c.more = icmp ult i64 %c.next, 8
  br i1 %c.more, label %inner, label %outer.latch
outer.latch:
  %r.next = add i64 %r, 1
  %r.more = icmp ult i64 %r.next, 4
  br i1 %r.more, label %outer, label %exit
exit:
  ret i32 %acc.i.next
}
