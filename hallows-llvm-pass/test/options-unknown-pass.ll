; An unknown name in HALLOWS_PASSES gives one clear warning and is otherwise ignored.
; RUN: env HALLOWS_PASSES=inventory,tunnel opt -load-pass-plugin=%plugin -passes='print<hallows-inventory>' -disable-output %s 2>&1 | FileCheck %s
; RUN: env HALLOWS_REPORT_DIR=relative/dir opt -load-pass-plugin=%plugin -passes=hallows-inventory -disable-output %s 2>&1 | FileCheck %s --check-prefix=RELATIVE

; CHECK:     hallows: warning: HALLOWS_PASSES names unknown pass(es) `tunnel`; ignoring them
; CHECK-NOT: warning
; CHECK:     function 'f' (f)
; CHECK-NOT: warning

; RELATIVE: hallows: warning: HALLOWS_REPORT_DIR=`relative/dir` is not an absolute path; writing no report files
define void @f() {
  ret void
}
