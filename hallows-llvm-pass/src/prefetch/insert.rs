//! Inserting a prefetch: clone the address chain with each induction variable replaced by its
//! clamped value `d` iterations ahead, then `llvm.prefetch(addr, rw=0, locality=3, data)`.
//!
//! The look-ahead value of an induction variable `iv` with step `s` is
//! `max(min(iv + d*s, b1, b2, ...), iv)` where each `b` is an upper bound that holds for `iv`
//! in every iteration (the loop's last value `n - 1`, bounds checks on the path): so every
//! cloned load reads an element that some iteration of the original loop reads. Other values
//! guarded by bounds checks are clamped the same way. Clones drop poison-generating flags and
//! UB-implying metadata, so they are defined for any value. Prefetches never fault.

use std::collections::{HashMap, HashSet};

use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMBuilderRef, LLVMModuleRef, LLVMTypeRef};

use super::chain::Chain;
use super::ll::{self, Bb, Value};
use super::loops::{Bound, Induction};

extern "C" {
    fn hallows_pf_drop_poison(inst: Value);
}

/// What to insert for one load.
pub struct Plan<'a> {
    /// The load to prefetch for.
    pub load: Value,
    /// Its address chain.
    pub chain: &'a Chain,
    /// Induction variables the chain uses, with every bound that holds at the load.
    pub inductions: Vec<(Induction, Vec<Bound>)>,
    /// Iterations ahead.
    pub distance: u32,
    /// Terminator of the loop's preheader, where loop-invariant limits are computed once.
    pub hoist_before: Option<Value>,
    /// Blocks of the loop (to tell loop-invariant limits).
    pub loop_blocks: &'a HashSet<Bb>,
}

/// Where `limit - minus` values are built: before the preheader's terminator when the limit is
/// loop-invariant, else at the insertion point.
struct Limits<'p> {
    at: LLVMBuilderRef,
    hoisted: Option<LLVMBuilderRef>,
    loop_blocks: &'p HashSet<Bb>,
}

impl Limits<'_> {
    fn builder_for(&self, limit: Value) -> LLVMBuilderRef {
        let invariant =
            ll::opcode(limit).is_none() || !self.loop_blocks.contains(&ll::block_of(limit));
        match self.hoisted {
            Some(h) if invariant => h,
            _ => self.at,
        }
    }
}

/// Looks up (declaring if needed) an overloaded intrinsic.
fn intrinsic(module: LLVMModuleRef, name: &str, types: &mut [LLVMTypeRef]) -> (Value, LLVMTypeRef) {
    // SAFETY: `module` is the live module being run; `name` outlives the call; `types` has the
    // length passed.
    unsafe {
        let id = LLVMLookupIntrinsicID(name.as_ptr().cast(), name.len());
        let f = LLVMGetIntrinsicDeclaration(module, id, types.as_mut_ptr(), types.len());
        (f, LLVMGlobalGetValueType(f))
    }
}

fn call(b: LLVMBuilderRef, f: (Value, LLVMTypeRef), args: &mut [Value], name: &str) -> Value {
    let n = ll::c_name(name);
    // SAFETY: `b` is positioned in the live function; `f` is a declaration of this module whose
    // type matches `args`.
    unsafe {
        LLVMBuildCall2(
            b,
            f.1,
            f.0,
            args.as_mut_ptr(),
            args.len() as u32,
            n.as_ptr(),
        )
    }
}

fn const_of(ty: LLVMTypeRef, v: i64) -> Value {
    // SAFETY: `ty` is an integer type of the module's context.
    unsafe { LLVMConstInt(ty, v as u64, 1) }
}

/// Clamps an integer `v` below each bound (`min(v, limit - minus)`).
fn clamp_int(
    b: LLVMBuilderRef,
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    mut v: Value,
    bounds: &[Bound],
    name: &str,
) -> Value {
    let mut ty = ll::type_of(v);
    let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
    for bound in bounds {
        let n = ll::c_name(&format!("{name}.last"));
        let limit = if bound.minus == 0 {
            bound.limit
        } else {
            // SAFETY: builder positioned in the live function; operands share type `ty`.
            unsafe {
                LLVMBuildSub(
                    limits.builder_for(bound.limit),
                    bound.limit,
                    const_of(ty, bound.minus),
                    n.as_ptr(),
                )
            }
        };
        v = call(b, umin, &mut [v, limit], &format!("{name}.clamp"));
    }
    v
}

/// The clamped look-ahead value of an induction variable.
fn ahead(
    b: LLVMBuilderRef,
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    iv: &Induction,
    bounds: &[Bound],
    distance: u32,
) -> Value {
    let name = format!("{}.ahead", ll::name(iv.phi));
    let offset = iv.step.saturating_mul(i64::from(distance));
    // SAFETY: (whole block) the builder is positioned in the live function; every operand is a
    // value of that function or a constant of its context, with the types the builders expect.
    unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(iv.phi));
        if iv.pointer {
            let i8t = LLVMInt8TypeInContext(ctx);
            let i64t = LLVMInt64TypeInContext(ctx);
            let n = ll::c_name(&name);
            let mut off = [const_of(i64t, offset)];
            let mut t = LLVMBuildGEP2(b, i8t, iv.phi, off.as_mut_ptr(), 1, n.as_ptr());
            for bound in bounds {
                let mut back = [const_of(i64t, -bound.minus)];
                let nl = ll::c_name(&format!("{name}.last"));
                let last = LLVMBuildGEP2(
                    limits.builder_for(bound.limit),
                    i8t,
                    bound.limit,
                    back.as_mut_ptr(),
                    1,
                    nl.as_ptr(),
                );
                let nc = ll::c_name(&format!("{name}.inside"));
                let inside = LLVMBuildICmp(
                    b,
                    llvm_sys::LLVMIntPredicate::LLVMIntULT,
                    t,
                    last,
                    nc.as_ptr(),
                );
                let ns = ll::c_name(&format!("{name}.clamp"));
                t = LLVMBuildSelect(b, inside, t, last, ns.as_ptr());
            }
            let nc = ll::c_name(&format!("{name}.behind"));
            let behind = LLVMBuildICmp(
                b,
                llvm_sys::LLVMIntPredicate::LLVMIntULT,
                t,
                iv.phi,
                nc.as_ptr(),
            );
            let ns = ll::c_name(&format!("{name}.idx"));
            LLVMBuildSelect(b, behind, iv.phi, t, ns.as_ptr())
        } else {
            let ty = ll::type_of(iv.phi);
            let n = ll::c_name(&name);
            let t = LLVMBuildAdd(b, iv.phi, const_of(ty, offset), n.as_ptr());
            let t = clamp_int(b, limits, module, t, bounds, &name);
            let mut tyv = ty;
            let umax = intrinsic(module, "llvm.umax", std::slice::from_mut(&mut tyv));
            call(b, umax, &mut [t, iv.phi], &format!("{name}.idx"))
        }
    }
}

/// Inserts the clone and the prefetch before `plan.load`.
pub fn insert(module: LLVMModuleRef, plan: &Plan<'_>) {
    let b = ll::builder_before(plan.load);
    let limits = Limits {
        at: b,
        hoisted: plan.hoist_before.map(ll::builder_before),
        loop_blocks: plan.loop_blocks,
    };
    let mut map: HashMap<Value, Value> = HashMap::new();
    for (iv, bounds) in &plan.inductions {
        let a = ahead(b, &limits, module, iv, bounds, plan.distance);
        map.insert(iv.phi, a);
    }
    for &inst in &plan.chain.insts {
        // SAFETY: `inst` is a live instruction; the clone is new, unattached, and inserted at
        // once into the live function at the builder's position; operand indices are in range.
        let clone = unsafe {
            let c = LLVMInstructionClone(inst);
            for i in 0..ll::num_operands(c) {
                if let Some(&n) = map.get(&LLVMGetOperand(c, i)) {
                    LLVMSetOperand(c, i, n);
                }
            }
            let n = ll::c_name(&format!("{}.ahead", ll::name(inst)));
            LLVMInsertIntoBuilderWithName(b, c, n.as_ptr());
            hallows_pf_drop_poison(c);
            c
        };
        let bounds: Vec<Bound> = plan
            .chain
            .clamps
            .iter()
            .filter(|(v, _)| *v == inst)
            .map(|(_, bd)| *bd)
            .collect();
        let out = if bounds.is_empty() {
            clone
        } else {
            clamp_int(b, &limits, module, clone, &bounds, &ll::name(inst))
        };
        map.insert(inst, out);
    }
    let ptr = ll::load_pointer(plan.load);
    let addr = map.get(&ptr).copied().unwrap_or(ptr);
    let mut pty = ll::type_of(addr);
    let prefetch = intrinsic(module, "llvm.prefetch", std::slice::from_mut(&mut pty));
    // SAFETY: `pty` is a live type of the module's context.
    let i32t = unsafe { LLVMInt32TypeInContext(LLVMGetTypeContext(pty)) };
    // llvm.prefetch(address, rw = 0 (read), locality = 3 (keep in all levels), cache = 1 (data)).
    call(
        b,
        prefetch,
        &mut [
            addr,
            const_of(i32t, 0),
            const_of(i32t, 3),
            const_of(i32t, 1),
        ],
        "",
    );
    ll::dispose_builder(b);
    if let Some(h) = limits.hoisted {
        ll::dispose_builder(h);
    }
}
