; Switches and conditional branches are counted separately; a function without loops says so.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s

; CHECK-LABEL: function 'classify' (classify)
; CHECK-NEXT:   blocks: 6 instructions: 6
; CHECK-NEXT:   branches: conditional 1 switch 1 with-weights 0 expected 0
; CHECK-NEXT:   profile: none
; CHECK-NEXT:   loops: none
define i32 @classify(i32 %x, i1 %flag) {
entry:
  switch i32 %x, label %other [
    i32 0, label %zero
    i32 1, label %one
    i32 2, label %two
  ]
zero:
  br i1 %flag, label %one, label %other
one:
  ret i32 10
two:
  ret i32 20
other:
  ret i32 30
unreachable.bb:
  unreachable
}

; Declarations are not inventoried.
; CHECK-NOT: function 'external'
declare i32 @external(i32)
