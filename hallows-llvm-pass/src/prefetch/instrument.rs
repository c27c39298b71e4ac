//! The `hallows-prefetch-instrument` pass: records the access-pattern profile.
//!
//! For every load inside a loop it allocates a zero-initialised site record (see `runtime.ll`
//! for the layout and protocol) and inserts, before the load:
//!
//! ```text
//!   %cd  = load atomic i32 countdown, monotonic ; %cd1 = %cd - 1 ; store atomic %cd1
//!   br (%cd1 < 1), label %sample, label %load      ; marked unlikely
//! sample:
//!   call @__hallows_pf_record(ptr @site, i64 <site id>, i64 <function hash>, ptr <address>)
//! ```
//!
//! and counts loop entries on each edge into the loop header (`entries += 1`; critical edges
//! are split), from which the analysis
//! gets average trip counts. Site ids are computed before anything changes, exactly as
//! `hallows-prefetch` computes them, so the optimised build finds its sites in the profile. The
//! runtime (record function, site list, exit-time writer) is parsed from `runtime.ll` and
//! linked into the module; its linkonce_odr definitions merge across codegen units.

use std::collections::HashMap;

use llvm_sys::core::*;
use llvm_sys::ir_reader::LLVMParseIRInContext2;
use llvm_sys::linker::LLVMLinkModules2;
use llvm_sys::prelude::{LLVMModuleRef, LLVMTypeRef};
use llvm_sys::{LLVMAtomicOrdering, LLVMIntPredicate, LLVMLinkage};
use serde_json::json;

use super::chain;
use super::ll::{self, Value};
use super::loops::FunctionLoopViews;
use super::sites::load_sites;
use crate::ir::Module;
use crate::options::Options;
use crate::report::ModuleReport;
use crate::shim::Analyses;

/// Pipeline name, also the report's `pass` field.
pub const PASS_NAME: &str = "hallows-prefetch-instrument";
/// The runtime linked into instrumented modules.
pub const RUNTIME_IR: &str = include_str!("runtime.ll");
/// Bytes of one site record (`runtime.ll`).
const SITE_BYTES: u64 = 16440;
/// Offset of the loop-entry counter.
const ENTRIES_OFFSET: i64 = 24;
/// Offset of the sampling countdown.
const COUNTDOWN_OFFSET: i64 = 16436;
/// Name of the record function in `runtime.ll`.
const RECORD_FN: &str = "__hallows_pf_record";

extern "C" {
    fn hallows_pf_split_if_then(cond: Value, before: Value) -> Value;
    fn hallows_pf_edge_block(from: ll::Bb, to: ll::Bb) -> ll::Bb;
}

struct Types {
    i8t: LLVMTypeRef,
    i32t: LLVMTypeRef,
    i64t: LLVMTypeRef,
    ptr: LLVMTypeRef,
}

fn gep_bytes(
    b: llvm_sys::prelude::LLVMBuilderRef,
    t: &Types,
    base: Value,
    offset: i64,
    name: &str,
) -> Value {
    let n = ll::c_name(name);
    // SAFETY: builder positioned in a live function; `base` is a pointer of this module.
    unsafe {
        let mut idx = [LLVMConstInt(t.i64t, offset as u64, 1)];
        LLVMBuildGEP2(b, t.i8t, base, idx.as_mut_ptr(), 1, n.as_ptr())
    }
}

/// Runs the pass; returns whether the IR changed.
pub fn run(module: Module<'_>, analyses: &Analyses<'_>, options: &Options) -> bool {
    let mut report = ModuleReport::new(PASS_NAME, module.identifier());
    let ctx = module.context();
    // SAFETY: types of the live module's context.
    let t = unsafe {
        Types {
            i8t: LLVMInt8TypeInContext(ctx),
            i32t: LLVMInt32TypeInContext(ctx),
            i64t: LLVMInt64TypeInContext(ctx),
            ptr: LLVMPointerTypeInContext(ctx, 0),
        }
    };
    let mut raw_module: Option<LLVMModuleRef> = None;
    let mut record_fn: Option<(Value, LLVMTypeRef)> = None;
    let mut total = 0usize;
    for function in module.functions() {
        if function.is_declaration() {
            continue;
        }
        let facts = analyses.loops(function);
        if facts.loops.is_empty() {
            continue;
        }
        let symbol = function.name();
        let raw = function.raw();
        // SAFETY: `raw` is a live function of the module being run.
        let m = *raw_module.get_or_insert_with(|| unsafe { LLVMGetGlobalParent(raw) });
        let views = FunctionLoopViews::new(raw, &facts);
        let (stem, sites) = load_sites(raw, &symbol, &views.innermost);
        let sites: Vec<_> = sites
            .into_iter()
            .filter(|s| !ll::is_volatile_or_atomic(s.load))
            .collect();
        if sites.is_empty() {
            continue;
        }
        let (rec, rec_ty) = *record_fn.get_or_insert_with(|| declare_record(m, &t));
        // Everything about the sites is read before the first change.
        let shapes: Vec<String> = sites
            .iter()
            .map(|s| {
                let l = &views.loops[s.loop_index];
                let (path, facts) = views.path_facts(l, s.block);
                chain::analyse(s.load, l, &path, &facts)
                    .0
                    .label()
                    .to_string()
            })
            .collect();
        let mut globals = HashMap::new();
        for site in &sites {
            let name = ll::c_name(&format!("__hallows_pf_site.{:016x}", site.id));
            // SAFETY: a new zero-initialised internal global of the live module; the array type
            // has the size of one site record.
            let g = unsafe {
                let ty = LLVMArrayType2(t.i8t, SITE_BYTES);
                let g = LLVMAddGlobal(m, ty, name.as_ptr());
                LLVMSetInitializer(g, LLVMConstNull(ty));
                LLVMSetLinkage(g, LLVMLinkage::LLVMInternalLinkage);
                LLVMSetAlignment(g, 8);
                g
            };
            globals.insert(site.id, g);
        }
        // Loop entries: one increment per site of the loop on every edge into its header.
        let mut entry_blocks: HashMap<usize, Vec<ll::Bb>> = HashMap::new();
        for site in &sites {
            let l = &views.loops[site.loop_index];
            let blocks = entry_blocks.entry(site.loop_index).or_insert_with(|| {
                let outside: Vec<ll::Bb> = views.preds.get(&l.header).map_or(Vec::new(), |p| {
                    p.iter()
                        .copied()
                        .filter(|b| !l.blocks.contains(b))
                        .collect()
                });
                // SAFETY: both blocks belong to the live function; the split keeps it valid.
                outside
                    .into_iter()
                    .map(|p| unsafe { hallows_pf_edge_block(p, l.header) })
                    .collect()
            });
            for &pre in blocks.iter() {
                let b = ll::builder_before(ll::terminator(pre));
                let p = gep_bytes(b, &t, globals[&site.id], ENTRIES_OFFSET, "hpf.entries");
                let n1 = ll::c_name("hpf.e");
                let n2 = ll::c_name("hpf.e1");
                // SAFETY: builder before the terminator of a block of the live function; `p`
                // points into the site record; i64 accesses at an 8-aligned offset.
                unsafe {
                    let e = LLVMBuildLoad2(b, t.i64t, p, n1.as_ptr());
                    LLVMSetOrdering(e, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
                    LLVMSetAlignment(e, 8);
                    let e1 = LLVMBuildAdd(b, e, LLVMConstInt(t.i64t, 1, 0), n2.as_ptr());
                    let st = LLVMBuildStore(b, e1, p);
                    LLVMSetOrdering(st, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
                    LLVMSetAlignment(st, 8);
                }
                ll::dispose_builder(b);
            }
        }
        for (site, shape) in sites.iter().zip(&shapes) {
            let g = globals[&site.id];
            let b = ll::builder_before(site.load);
            let cdp = gep_bytes(b, &t, g, COUNTDOWN_OFFSET, "hpf.cdp");
            let (n1, n2, n3) = (
                ll::c_name("hpf.cd"),
                ll::c_name("hpf.cd1"),
                ll::c_name("hpf.sample"),
            );
            // SAFETY: builder before a live load; `cdp` points into the site record; the split
            // happens at the load, after the condition, in the same function.
            unsafe {
                let cd = LLVMBuildLoad2(b, t.i32t, cdp, n1.as_ptr());
                LLVMSetOrdering(cd, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
                LLVMSetAlignment(cd, 4);
                let cd1 = LLVMBuildSub(b, cd, LLVMConstInt(t.i32t, 1, 0), n2.as_ptr());
                let st = LLVMBuildStore(b, cd1, cdp);
                LLVMSetOrdering(st, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
                LLVMSetAlignment(st, 4);
                let hit = LLVMBuildICmp(
                    b,
                    LLVMIntPredicate::LLVMIntSLT,
                    cd1,
                    LLVMConstInt(t.i32t, 1, 0),
                    n3.as_ptr(),
                );
                ll::dispose_builder(b);
                let term = hallows_pf_split_if_then(hit, site.load);
                let b2 = ll::builder_before(term);
                let mut args = [
                    g,
                    LLVMConstInt(t.i64t, site.id, 0),
                    LLVMConstInt(t.i64t, stem, 0),
                    ll::load_pointer(site.load),
                ];
                let empty = ll::c_name("");
                LLVMBuildCall2(b2, rec_ty, rec, args.as_mut_ptr(), 4, empty.as_ptr());
                ll::dispose_builder(b2);
            }
            report.push(
                &symbol,
                "instrumented",
                "load in a loop: sampled addresses recorded for the access-pattern profile",
                json!({
                    "site": format!("{:016x}", site.id),
                    "load_index": site.ordinal,
                    "pattern": shape,
                    "loop_depth": views.loops[site.loop_index].depth,
                }),
            );
        }
        total += sites.len();
        analyses.invalidate(function);
    }
    if let Some(m) = raw_module.filter(|_| total > 0) {
        if let Err(message) = link_runtime(m) {
            report.push("", "error", message, json!({}));
        }
    }
    report.finish(options);
    total > 0
}

/// Declares the record function (defined by the runtime linked in afterwards).
fn declare_record(m: LLVMModuleRef, t: &Types) -> (Value, LLVMTypeRef) {
    let name = ll::c_name(RECORD_FN);
    // SAFETY: the live module; the type is built from its context's types.
    unsafe {
        let mut params = [t.ptr, t.i64t, t.i64t, t.ptr];
        let ty = LLVMFunctionType(
            LLVMVoidTypeInContext(LLVMGetTypeContext(t.ptr)),
            params.as_mut_ptr(),
            4,
            0,
        );
        let existing = LLVMGetNamedFunction(m, name.as_ptr());
        let f = if existing.is_null() {
            LLVMAddFunction(m, name.as_ptr(), ty)
        } else {
            existing
        };
        (f, ty)
    }
}

/// Parses `runtime.ll` in the module's context and links it in.
fn link_runtime(m: LLVMModuleRef) -> Result<(), String> {
    let buf_name = ll::c_name("hallows-prefetch-runtime");
    // SAFETY: [1] the memory buffer copies RUNTIME_IR and is disposed of after parsing;
    // [2] the parsed module lives in `m`'s context and is consumed by LLVMLinkModules2;
    // [3] the error message, when set, is freed with LLVMDisposeMessage after copying.
    unsafe {
        let ctx = LLVMGetModuleContext(m);
        let buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
            RUNTIME_IR.as_ptr().cast(),
            RUNTIME_IR.len(),
            buf_name.as_ptr(),
        );
        let mut rt = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        // rustc's contexts discard value names, and LLVM's text parser refuses such contexts:
        // keep names while parsing (the context belongs to this codegen unit's thread).
        let discard = LLVMContextShouldDiscardValueNames(ctx);
        LLVMContextSetDiscardValueNames(ctx, 0);
        let failed = LLVMParseIRInContext2(ctx, buf, &mut rt, &mut err) != 0;
        LLVMContextSetDiscardValueNames(ctx, discard);
        LLVMDisposeMemoryBuffer(buf);
        if failed {
            let msg = if err.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned()
            };
            if !err.is_null() {
                LLVMDisposeMessage(err);
            }
            return Err(format!("internal error: the prefetch-profile runtime does not parse ({msg}); the program will not link"));
        }
        LLVMSetDataLayout(rt, LLVMGetDataLayoutStr(m));
        LLVMSetTarget(rt, LLVMGetTarget(m));
        if LLVMLinkModules2(m, rt) != 0 {
            return Err("internal error: linking the prefetch-profile runtime failed; the program will not link".into());
        }
    }
    Ok(())
}
