; A counted loop: ScalarEvolution knows the exact trip count.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s

; CHECK: hallows-inventory: module '{{.*}}inventory-constant-trip-count.ll'
; CHECK-LABEL: function 'count_to_ten' (count_to_ten)
; CHECK-NEXT:   blocks: 3 instructions: 10
; CHECK-NEXT:   branches: conditional 1 switch 0 with-weights 0 expected 0
; CHECK-NEXT:   profile: none
; CHECK-NEXT:   loop #0: depth 1 header 'loop' blocks 1 exiting 1 trip-count constant 10
; CHECK-NOT: loop #1
define i32 @count_to_ten(ptr %p) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %acc.next, %loop ]
  %gep = getelementptr i32, ptr %p, i64 %i
  %v = load i32, ptr %gep
  %acc.next = add i32 %acc, %v
  %i.next = add i64 %i, 1
  %c = icmp ult i64 %i.next, 10
  br i1 %c, label %loop, label %exit
exit:
  ret i32 %acc.next
}
