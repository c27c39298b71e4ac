; hallows-prefetch-instrument: every load in a loop gets a sampling countdown and a cold call
; recording its address; loop entries are counted on the edge into the header (a critical edge
; is split for it); loads outside loops are left alone; the runtime (record function, exit-time
; writer) is linked into the module as linkonce_odr hidden definitions.
; RUN: opt -load-pass-plugin=%plugin -passes='hallows-prefetch-instrument,verify' -S %s | FileCheck %s
; RUN: env HALLOWS_REPORT_STDERR=1 opt -load-pass-plugin=%plugin -passes=hallows-prefetch-instrument -disable-output %s 2>&1 | FileCheck %s --check-prefix=REPORT

; REPORT: instrumented `count` {{.*}}"load_index":1,{{.*}}"pattern":"stride"
; REPORT: instrumented `count` {{.*}}"load_index":2,{{.*}}"pattern":"indirect"
; REPORT-NOT: instrumented

; CHECK: @__hallows_pf_site.[[ID1:[0-9a-f]+]] = internal global [16440 x i8] zeroinitializer, align 8
; CHECK: @__hallows_pf_site.{{[0-9a-f]+}} = internal global [16440 x i8] zeroinitializer, align 8
; CHECK: @__hallows_pf_head = linkonce_odr hidden global ptr null
; CHECK-LABEL: define void @count(
; CHECK:       entry:
; CHECK-NEXT:    %first = load i32, ptr %keys, align 4
; CHECK-NOT:     __hallows_pf
; CHECK:         br i1 %empty, label %exit, label %[[EDGE:.*]]
; CHECK:       [[EDGE]]:
; CHECK-NEXT:    %hpf.e = load atomic i64, ptr getelementptr (i8, ptr @__hallows_pf_site.[[ID1]], i64 24) monotonic, align 8
; CHECK-NEXT:    %hpf.e1 = add i64 %hpf.e, 1
; CHECK:       head:
; CHECK:         %hpf.cd = load atomic i32, ptr getelementptr (i8, ptr @__hallows_pf_site.[[ID1]], i64 16436) monotonic, align 4
; CHECK-NEXT:    %hpf.cd1 = sub i32 %hpf.cd, 1
; CHECK-NEXT:    store atomic i32 %hpf.cd1, ptr getelementptr (i8, ptr @__hallows_pf_site.[[ID1]], i64 16436) monotonic, align 4
; CHECK-NEXT:    %hpf.sample = icmp slt i32 %hpf.cd1, 1
; CHECK-NEXT:    br i1 %hpf.sample, label %[[REC:.*]], label %[[CONT:.*]], !prof
; CHECK:       [[REC]]:
; CHECK-NEXT:    call void @__hallows_pf_record(ptr @__hallows_pf_site.[[ID1]], i64 {{-?[0-9]+}}, i64 {{-?[0-9]+}}, ptr %kp)
; CHECK:       [[CONT]]:
; CHECK-NEXT:    %k = load i32, ptr %kp, align 4
; CHECK:       define linkonce_odr hidden void @__hallows_pf_record(
; CHECK:       define linkonce_odr hidden void @__hallows_pf_write(
define void @count(ptr noalias %keys, i64 %n, ptr noalias %counts) {
entry:
  %first = load i32, ptr %keys, align 4
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %exit, label %head

head:
  %i = phi i64 [ %i.next, %head ], [ 0, %entry ]
  %kp = getelementptr inbounds nuw i32, ptr %keys, i64 %i
  %k = load i32, ptr %kp, align 4
  %kx = zext i32 %k to i64
  %cp = getelementptr inbounds nuw i32, ptr %counts, i64 %kx
  %c = load i32, ptr %cp, align 4
  %c1 = add i32 %c, 1
  store i32 %c1, ptr %cp, align 4
  %i.next = add nuw nsw i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %head

exit:
  ret void
}
