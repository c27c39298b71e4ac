; Hallows prefetch-profile runtime, linked by `hallows-prefetch-instrument` into every module it
; instruments (LLVMLinkModules2). Every definition is linkonce_odr + hidden, so the copies from
; all codegen units and crates of one binary collapse into one at link time and the program
; needs no extra dependency. The layout of %site is the raw file format of
; src/prefetch/model/raw.rs (keep both in sync):
;
;   0 id  8 function  16 execs  24 entries  32 period(i32)  36 nsamples(i32)
;   40 samples [1024 x {addr, tsc}]  16424 next  16432 lock(i32)  16436 countdown(i32)
;
; Protocol: the instrumented load decrements `countdown` (relaxed) and calls
; @__hallows_pf_record when it reaches 0. Under the site's spin lock, record registers the site
; on its first call (push onto @__hallows_pf_head; start the clock; atexit the writer), adds the
; elapsed period to `execs`, appends {addr, cycle counter}, and resets `countdown` to `period`.
; When the 1024 sample slots are full, every other sample is dropped and the period doubles, so
; the samples always span the whole run at a uniform spacing. At exit, @__hallows_pf_write
; writes all registered sites to $HALLOWS_PREFETCH_PROFILE_OUT/hallows-prefetch-<pid>.raw.

@__hallows_pf_head = linkonce_odr hidden global ptr null, align 8
@__hallows_pf_once = linkonce_odr hidden global i32 0, align 4
@__hallows_pf_t0 = linkonce_odr hidden global [2 x i64] zeroinitializer, align 8
@__hallows_pf_env = linkonce_odr hidden constant [29 x i8] c"HALLOWS_PREFETCH_PROFILE_OUT\00", align 1
@__hallows_pf_fmt = linkonce_odr hidden constant [27 x i8] c"%s/hallows-prefetch-%d.raw\00", align 1

declare i64 @llvm.readcyclecounter()
declare i32 @clock_gettime(i32, ptr)
declare i32 @atexit(ptr)
declare ptr @getenv(ptr)
declare i32 @getpid()
declare i32 @snprintf(ptr, i64, ptr, ...)
declare i32 @open(ptr, i32, ...)
declare i64 @write(i32, ptr, i64)
declare i32 @close(i32)

define linkonce_odr hidden i64 @__hallows_pf_now_ns() nounwind {
entry:
  %ts = alloca [2 x i64], align 8
  %r = call i32 @clock_gettime(i32 1, ptr %ts)
  %sec = load i64, ptr %ts, align 8
  %nsp = getelementptr inbounds i8, ptr %ts, i64 8
  %nsec = load i64, ptr %nsp, align 8
  %secns = mul i64 %sec, 1000000000
  %t = add i64 %secns, %nsec
  ret i64 %t
}

define linkonce_odr hidden void @__hallows_pf_lock(ptr %site) nounwind {
entry:
  %lockp = getelementptr inbounds i8, ptr %site, i64 16432
  br label %spin
spin:
  %old = atomicrmw xchg ptr %lockp, i32 1 acquire, align 4
  %busy = icmp ne i32 %old, 0
  br i1 %busy, label %spin, label %done
done:
  ret void
}

define linkonce_odr hidden void @__hallows_pf_unlock(ptr %site) nounwind {
entry:
  %lockp = getelementptr inbounds i8, ptr %site, i64 16432
  store atomic i32 0, ptr %lockp release, align 4
  ret void
}

define linkonce_odr hidden void @__hallows_pf_init() nounwind {
entry:
  %pair = cmpxchg ptr @__hallows_pf_once, i32 0, i32 1 acq_rel monotonic, align 4
  %won = extractvalue { i32, i1 } %pair, 1
  br i1 %won, label %start, label %done
start:
  %tsc = call i64 @llvm.readcyclecounter()
  %ns = call i64 @__hallows_pf_now_ns()
  store i64 %tsc, ptr @__hallows_pf_t0, align 8
  %nsp = getelementptr inbounds i8, ptr @__hallows_pf_t0, i64 8
  store i64 %ns, ptr %nsp, align 8
  %r = call i32 @atexit(ptr @__hallows_pf_write)
  br label %done
done:
  ret void
}

define linkonce_odr hidden void @__hallows_pf_record(ptr %site, i64 %id, i64 %fn, ptr %addr) noinline cold nounwind {
entry:
  call void @__hallows_pf_lock(ptr %site)
  %cur = load i64, ptr %site, align 8
  %fresh = icmp eq i64 %cur, 0
  %fnp = getelementptr inbounds i8, ptr %site, i64 8
  %execsp = getelementptr inbounds i8, ptr %site, i64 16
  %periodp = getelementptr inbounds i8, ptr %site, i64 32
  %np = getelementptr inbounds i8, ptr %site, i64 36
  %nextp = getelementptr inbounds i8, ptr %site, i64 16424
  %cdp = getelementptr inbounds i8, ptr %site, i64 16436
  %samples = getelementptr inbounds i8, ptr %site, i64 40
  br i1 %fresh, label %register, label %counted

register:
  store i64 %id, ptr %site, align 8
  store i64 %fn, ptr %fnp, align 8
  store i32 64, ptr %periodp, align 4
  call void @__hallows_pf_init()
  br label %push
push:
  %head = load atomic ptr, ptr @__hallows_pf_head monotonic, align 8
  store ptr %head, ptr %nextp, align 8
  %swap = cmpxchg ptr @__hallows_pf_head, ptr %head, ptr %site release monotonic, align 8
  %pushed = extractvalue { ptr, i1 } %swap, 1
  br i1 %pushed, label %counted, label %push

counted:
  ; The first call stands for one execution, every later one for a whole period.
  %period0 = load i32, ptr %periodp, align 4
  %period0x = zext i32 %period0 to i64
  %inc = select i1 %fresh, i64 1, i64 %period0x
  %execs = load i64, ptr %execsp, align 8
  %execs1 = add i64 %execs, %inc
  store i64 %execs1, ptr %execsp, align 8
  %n = load i32, ptr %np, align 4
  %full = icmp uge i32 %n, 1024
  br i1 %full, label %thin, label %append

thin:
  %k = phi i32 [ 0, %counted ], [ %k1, %thin ]
  %k2 = shl i32 %k, 1
  %src = getelementptr inbounds [2 x i64], ptr %samples, i32 %k2
  %dst = getelementptr inbounds [2 x i64], ptr %samples, i32 %k
  %sa = load i64, ptr %src, align 8
  %st.p = getelementptr inbounds i8, ptr %src, i64 8
  %st = load i64, ptr %st.p, align 8
  store i64 %sa, ptr %dst, align 8
  %dt.p = getelementptr inbounds i8, ptr %dst, i64 8
  store i64 %st, ptr %dt.p, align 8
  %k1 = add nuw i32 %k, 1
  %more = icmp ult i32 %k1, 512
  br i1 %more, label %thin, label %thinned
thinned:
  %doubled = shl i32 %period0, 1
  store i32 %doubled, ptr %periodp, align 4
  br label %append

append:
  %slot = phi i32 [ %n, %counted ], [ 512, %thinned ]
  %tsc = call i64 @llvm.readcyclecounter()
  %a = ptrtoint ptr %addr to i64
  %sp = getelementptr inbounds [2 x i64], ptr %samples, i32 %slot
  store i64 %a, ptr %sp, align 8
  %tp = getelementptr inbounds i8, ptr %sp, i64 8
  store i64 %tsc, ptr %tp, align 8
  %slot1 = add nuw i32 %slot, 1
  store i32 %slot1, ptr %np, align 4
  %period = load i32, ptr %periodp, align 4
  store atomic i32 %period, ptr %cdp monotonic, align 4
  call void @__hallows_pf_unlock(ptr %site)
  ret void
}

define linkonce_odr hidden void @__hallows_pf_write() nounwind {
entry:
  %path = alloca [4096 x i8], align 1
  %hdr = alloca [8 x i64], align 8
  %dir = call ptr @getenv(ptr @__hallows_pf_env)
  %nodir = icmp eq ptr %dir, null
  br i1 %nodir, label %done, label %open

open:
  %pid = call i32 @getpid()
  %len = call i32 (ptr, i64, ptr, ...) @snprintf(ptr %path, i64 4096, ptr @__hallows_pf_fmt, ptr %dir, i32 %pid)
  %fd = call i32 (ptr, i32, ...) @open(ptr %path, i32 577, i32 420)
  %bad = icmp slt i32 %fd, 0
  br i1 %bad, label %done, label %count

count:
  %first = load atomic ptr, ptr @__hallows_pf_head acquire, align 8
  br label %count.loop
count.loop:
  %cs = phi ptr [ %first, %count ], [ %cs.next, %count.step ]
  %cn = phi i64 [ 0, %count ], [ %cn1, %count.step ]
  %cend = icmp eq ptr %cs, null
  br i1 %cend, label %header, label %count.step
count.step:
  %cn1 = add i64 %cn, 1
  %cs.nextp = getelementptr inbounds i8, ptr %cs, i64 16424
  %cs.next = load ptr, ptr %cs.nextp, align 8
  br label %count.loop

header:
  ; "HPFRAW01", version 1 | site header size 40 << 32, t0, now, site count, reserved.
  store i64 3544428844805410888, ptr %hdr, align 8
  %h1 = getelementptr inbounds i64, ptr %hdr, i64 1
  store i64 171798691841, ptr %h1, align 8
  %t0tsc = load i64, ptr @__hallows_pf_t0, align 8
  %t0nsp = getelementptr inbounds i8, ptr @__hallows_pf_t0, i64 8
  %t0ns = load i64, ptr %t0nsp, align 8
  %h2 = getelementptr inbounds i64, ptr %hdr, i64 2
  store i64 %t0tsc, ptr %h2, align 8
  %h3 = getelementptr inbounds i64, ptr %hdr, i64 3
  store i64 %t0ns, ptr %h3, align 8
  %tsc1 = call i64 @llvm.readcyclecounter()
  %ns1 = call i64 @__hallows_pf_now_ns()
  %h4 = getelementptr inbounds i64, ptr %hdr, i64 4
  store i64 %tsc1, ptr %h4, align 8
  %h5 = getelementptr inbounds i64, ptr %hdr, i64 5
  store i64 %ns1, ptr %h5, align 8
  %h6 = getelementptr inbounds i64, ptr %hdr, i64 6
  store i64 %cn, ptr %h6, align 8
  %h7 = getelementptr inbounds i64, ptr %hdr, i64 7
  store i64 0, ptr %h7, align 8
  %w0 = call i64 @write(i32 %fd, ptr %hdr, i64 64)
  br label %site.loop

site.loop:
  %s = phi ptr [ %first, %header ], [ %s.next, %site.write ]
  %send = icmp eq ptr %s, null
  br i1 %send, label %close, label %site.write
site.write:
  call void @__hallows_pf_lock(ptr %s)
  ; Executions since the last sample: period - countdown.
  %execsp = getelementptr inbounds i8, ptr %s, i64 16
  %execs = load i64, ptr %execsp, align 8
  %periodp = getelementptr inbounds i8, ptr %s, i64 32
  %period = load i32, ptr %periodp, align 4
  %cdp = getelementptr inbounds i8, ptr %s, i64 16436
  %cd = load atomic i32, ptr %cdp monotonic, align 4
  %cdpos = icmp sgt i32 %cd, 0
  %cdle = icmp sle i32 %cd, %period
  %cdok = and i1 %cdpos, %cdle
  %rest = sub i32 %period, %cd
  %restx = zext i32 %rest to i64
  %add = select i1 %cdok, i64 %restx, i64 0
  %execs1 = add i64 %execs, %add
  store i64 %execs1, ptr %execsp, align 8
  store atomic i32 %period, ptr %cdp monotonic, align 4
  %np = getelementptr inbounds i8, ptr %s, i64 36
  %n = load i32, ptr %np, align 4
  %nx = zext i32 %n to i64
  %sbytes = shl i64 %nx, 4
  %bytes = add i64 %sbytes, 40
  %w = call i64 @write(i32 %fd, ptr %s, i64 %bytes)
  %s.nextp = getelementptr inbounds i8, ptr %s, i64 16424
  %s.next = load ptr, ptr %s.nextp, align 8
  call void @__hallows_pf_unlock(ptr %s)
  br label %site.loop

close:
  %c = call i32 @close(i32 %fd)
  br label %done

done:
  ret void
}
