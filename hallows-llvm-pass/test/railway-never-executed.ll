; A function the profile never entered is marked `cold` and placed with unlikely code; its
; blocks are not reordered.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-railway,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-railway -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; CHECK-LABEL: define i32 @never(
; CHECK-SAME:  #0 !prof !0 !section_prefix ![[UNLIKELY:[0-9]+]] {
; CHECK-NEXT:  entry:
; CHECK-NEXT:    br i1 %c, label %a, label %b
; CHECK:       attributes #0 = { cold }
; CHECK:       ![[UNLIKELY]] = !{!"section_prefix", !"unlikely"}

; REPORT: hallows: hallows-railway: marked-cold `never` (railway): never executed in the profile: marked `cold` and placed with unlikely code; {"cold_attribute_added":true,"entry_count":0,"section_prefix":"unlikely"}
define i32 @never(i1 %c) !prof !0 {
entry:
  br i1 %c, label %a, label %b
a:
  ret i32 1
b:
  ret i32 2
}

!0 = !{!"function_entry_count", i64 0}
