; A function without any profile data is inventoried and marked as such; the IR is unchanged.
; RUN: opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-inventory' -S %s | FileCheck %s --check-prefix=IR

; CHECK-LABEL: function 'plain' (plain)
; CHECK-NEXT:   blocks: 3 instructions: 3
; CHECK-NEXT:   branches: conditional 1 switch 0 with-weights 0 expected 0
; CHECK-NEXT:   profile: none
; CHECK-NEXT:   loops: none

; IR-LABEL: define i32 @plain(i1 %c)
; IR-NEXT:  entry:
; IR-NEXT:    br i1 %c, label %a, label %b
; IR-NOT:     !prof
define i32 @plain(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  ret i32 1
b:
  ret i32 2
}
