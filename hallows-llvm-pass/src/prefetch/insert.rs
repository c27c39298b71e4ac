//! Inserting a prefetch: clone the address chain with each induction variable replaced by its
//! value `d'` iterations ahead, then `llvm.prefetch(addr, rw=0, locality=3, data)`.
//!
//! The distance is clamped to the iterations left: `d' = min(d, (L - iv) / step)` over every
//! upper bound `iv <= L` that holds in this iteration for any induction variable of the loop
//! (the loop's exit test gives `L = n - 1`; bounds checks on the path give more), computed with
//! a saturating subtraction so it is never negative. Every induction variable the chain reads
//! then advances by `d' * step`; so every cloned load reads an element some iteration of the
//! original loop reads too (the index is `min(i + d, n - 1)` for a unit-step loop). Other values
//! guarded by bounds checks are clamped to their bound as well. An inner loop over a window of a
//! range checked before it (`loops::Window`, a CSR row of `col`) instead looks ahead past its
//! own end, clamped to the range: the cloned loads read elements of the checked range that
//! later entries read, never beyond it. Clones drop poison-generating flags and UB-implying
//! metadata, so they are defined for any value. Prefetches never fault.
//!
//! Such a window's clamp costs instructions on every iteration of the inner loop (every
//! non-zero of a CSR row), although it only bites near the end of the range. The inner loop is
//! therefore versioned once per entry ([`version_windows`]), as the hand-tuned kernels do and
//! as loop versioning for runtime checks does in general (LLVM's `LoopVersioning`; unswitching
//! on a loop-invariant condition, Allen & Kennedy, *Optimizing Compilers for Modern
//! Architectures*, 2001, section 9.3.2): before the entry, one test whether the look-ahead of
//! the entry's last iteration is still inside the range (`iv <= L` in every iteration, from the
//! exit test, so `L + d * step <= last` covers them all; see [`version_margin`]); when it is, a
//! copy of the inner loop runs whose look-ahead index is `iv + d * step` with no clamp, else the
//! clamped loop.
//!
//! The clamp of a top-level loop's distance costs more still: `usub.sat`, a division by the
//! step and a `umin` on every iteration, and, because the look-ahead offset is no longer a
//! constant, an extra induction variable or two where the backend cannot fold `iv + d * step`
//! into an addressing mode (measured on NAS IS's counting loop: 18 instructions per key against
//! 10 for the hand-tuned loop, which splits the loop instead). Such a loop, when innermost, is
//! therefore split at its look-ahead limit ([`split_loops`]), index-set splitting (Wolfe, *High
//! Performance Compilers for Parallel Computing*, 1996) in the form of LLVM's inductive
//! range-check elimination (`InductiveRangeCheckElimination.cpp`, a main loop then a post loop):
//! a copy of the loop is entered first; at the top of each of its iterations it tests that
//! this iteration's look-ahead is inside every bound, `iv + d * step <= L`, as
//! `pos(iv) < usub.sat(L, d * step - 1)` with the right-hand side computed once before the loop
//! ([`split_margin`]), which is exactly when the clamp would give `d`; while it holds, the
//! iteration runs with the constant distance `d`. When it fails, the copy branches to the
//! original loop with its current phi values, and the clamped loop runs the last iterations
//! (at most `d` of them when the loop's own exit bound is the tightest). Both loops execute the
//! same iterations in the same order as the one loop did, and in every iteration of the copy
//! the look-ahead equals the clamped one, so the cloned loads read what they read before.

use std::collections::{HashMap, HashSet};

use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMBuilderRef, LLVMModuleRef, LLVMTypeRef};

use super::chain::Chain;
use super::ll::{self, Bb, Value};
use super::loops::{Bound, Induction};

extern "C" {
    fn hallows_pf_drop_poison(inst: Value);
    fn hallows_pf_edge_block(from: Bb, to: Bb) -> Bb;
    fn hallows_pf_version_loop(
        blocks: *mut Bb,
        n: u32,
        conds: *mut Value,
        nconds: u32,
        clamps: *mut Value,
        nclamps: u32,
    ) -> u32;
    fn hallows_pf_split_loop(
        blocks: *mut Bb,
        n: u32,
        phis: *mut Value,
        excl: *mut Value,
        ntests: u32,
        dists: *mut Value,
        distances: *const u64,
        ndists: u32,
    ) -> u32;
}

/// What to insert for one load.
pub struct Plan<'a> {
    /// Its address chain.
    pub chain: &'a Chain,
    /// Every induction variable of the loop with the bounds that hold at the load.
    pub inductions: Vec<(Induction, Vec<Bound>)>,
    /// Induction variables the chain reads.
    pub chain_inductions: Vec<Induction>,
    /// Iterations ahead.
    pub distance: u32,
    /// Terminator of the loop's only entering block (its preheader, or a block that also
    /// branches elsewhere), where loop-invariant limits are computed once.
    pub hoist_before: Option<Value>,
    /// Blocks of the loop (to tell loop-invariant limits).
    pub loop_blocks: &'a HashSet<Bb>,
    /// The loop header.
    pub header: Bb,
    /// The loop's single latch.
    pub latch: Option<Bb>,
    /// Predecessors of the header outside the loop.
    pub entry_preds: Vec<Bb>,
    /// For an inner-loop entry prefetch: the inner loop's header phi, its entry value (computed
    /// by `chain` in this, the outer, loop), the inner instructions from the phi to the
    /// address, and the address's other header phis with their current entry values; the
    /// address is then computed with the phi replaced by the cloned entry value and the others
    /// by their current entry values.
    pub entry: Option<EntryPlan>,
    /// Where the prefetch goes (before this instruction) and the address it prefetches.
    pub at: Value,
    /// The address prefetched (an operand of the original load).
    pub address: Value,
    /// When the look-ahead may cross the inner loop's end: the window the chain's induction
    /// variable walks; `inductions` is then ignored.
    pub window: Option<WindowPlan>,
    /// Whether the loop has no inner loop, so [`split_loops`] may copy it.
    pub innermost: bool,
}

/// An inner loop's first access, prefetched from the outer loop.
#[derive(Clone, Debug)]
pub struct EntryPlan {
    /// The inner loop's header phi computed ahead.
    pub phi: Value,
    /// Its entry value, computed by the plan's chain in the outer loop.
    pub start: Value,
    /// The inner instructions from the phis to the address.
    pub tail: Vec<Value>,
    /// The address's other header phis with their current entry values.
    pub current: Vec<(Value, Value)>,
}

/// A look-ahead bounded by the checked range around an inner loop's window instead of the
/// loop's own exit test (see `loops::Window`): `iv + d <= min(len - minus) - start - 1`.
#[derive(Clone, Debug)]
pub struct WindowPlan {
    /// The chain's induction variable.
    pub iv: Induction,
    /// The window's start, when `iv` counts from it.
    pub start: Option<Value>,
    /// Checked lengths of the whole range: `(len, minus)` for `end <= len - minus`.
    pub lens: Vec<(Value, i64)>,
    /// Terminator of the inner loop's only entry block, where the limit is computed once per
    /// entry (it dominates the loop).
    pub at: Value,
    /// Terminator of the outer loop's preheader, when every length in `lens` is invariant in
    /// the outer loop: the range's last index, `min(len - minus) - 1`, is then computed there
    /// once, and each entry only subtracts its start.
    pub hoist_at: Option<Value>,
    /// The exit test's bound on `iv` (`iv <= limit - minus` in every iteration, the limit
    /// computed before the inner loop): what the once-per-entry test of [`version_windows`]
    /// checks the entry's whole look-ahead against.
    pub latch: Bound,
}

/// A window's clamp that [`version_windows`] can remove from a copy of its inner loop.
#[derive(Clone, Debug)]
pub struct WindowClamp {
    /// The inner loop's header.
    pub header: Bb,
    /// The inner loop's blocks, the header first.
    pub blocks: Vec<Bb>,
    /// `true` when this entry's whole look-ahead is inside the range (an `i1` computed before
    /// the inner loop's entry terminator).
    pub fits: Value,
    /// The clamp `umin(iv + d * step, last)` in the inner loop.
    pub clamp: Value,
}

/// A loop's clamped distance that [`split_loops`] can remove from a copy of the loop.
#[derive(Clone, Debug)]
pub struct SplitClamp {
    /// The loop's header.
    pub header: Bb,
    /// The loop's blocks, the header first.
    pub blocks: Vec<Bb>,
    /// The clamped distance `min(d, (L - iv) / step, ...)` (an `i64`) in the loop.
    pub distance: Value,
    /// The unclamped distance `d`.
    pub unclamped: u32,
    /// Per upper bound: the induction variable's header phi and `usub.sat(L, d * step - 1)` (an
    /// `i64` computed in the loop's only entering block); `pos(phi) < that` for every bound is
    /// `d' = d` (see [`split_margin`]).
    pub tests: Vec<(Value, Value)>,
}

/// What [`insert`] leaves for a pass over the whole function: a clamp that a copy of the loop
/// can drop, or why a clamped distance's loop cannot be split.
#[derive(Clone, Debug)]
pub enum Clamp {
    /// An inner loop's window clamp, for [`version_windows`].
    Window(WindowClamp),
    /// A loop's clamped distance, for [`split_loops`].
    Split(SplitClamp),
    /// A loop's clamped distance that [`split_loops`] cannot remove: why (one of the
    /// `SPLIT_*` reasons).
    Unsplit(&'static str),
}

/// Why a clamped distance's loop is not split: it has an inner loop (the copy would copy it).
pub const SPLIT_NOT_INNERMOST: &str = "the loop has an inner loop";
/// Why a clamped distance's loop is not split: the prefetch is an inner loop's entry (the
/// distance counts outer iterations but the clamp is built in the inner loop's entry).
pub const SPLIT_ENTRY_PREFETCH: &str = "the prefetch is for an inner loop's entry";
/// Why a clamped distance's loop is not split: no single entering block to compute the copy's
/// limits in.
pub const SPLIT_SEVERAL_ENTRIES: &str = "the loop has several entering blocks";
/// Why a clamped distance's loop is not split: a limit is computed in the loop (it would not
/// dominate the copy's header).
pub const SPLIT_LIMIT_IN_LOOP: &str = "a limit is computed inside the loop";
/// Why a clamped distance's loop is not split: a step with no margin (see [`split_margin`]).
pub const SPLIT_NO_MARGIN: &str = "a step is not positive or its look-ahead overflows";
/// Why a clamped distance's loop is not split: the loop also has a window's clamp, for which
/// [`version_windows`] copies it instead (one copy per loop).
pub const SPLIT_WINDOWED: &str = "the loop is versioned for a window's clamp instead";

/// The margin of the once-per-entry test `usub.sat(last, limit) >= margin` that every look-ahead
/// index `iv + d * step` of an entry is at most `last` (the range's last index from the
/// window's start), for an inner loop whose exit test bounds `iv <= limit - minus` in every
/// iteration: `margin = d * step - minus`. When the test holds, `last >= limit + margin`, so
/// `iv + d * step <= limit - minus + d * step = limit + margin <= last` (no wrap: the sum is at
/// most `last`). `None` when the test cannot be this simple: a step that is not positive, or
/// `d * step <= minus` (the test would then hold for any `last` below `limit`), or overflow.
pub fn version_margin(distance: u32, step: i64, minus: i64) -> Option<u64> {
    if step < 1 {
        return None;
    }
    let reach = i64::from(distance).checked_mul(step)?;
    let margin = reach.checked_sub(minus)?;
    u64::try_from(margin).ok().filter(|m| *m >= 1)
}

/// Where `limit - minus` values are built: before the terminator of the loop's only entering
/// block when the limit is loop-invariant, else at the insertion point.
struct Limits<'p> {
    at: LLVMBuilderRef,
    hoisted: Option<LLVMBuilderRef>,
    loop_blocks: &'p HashSet<Bb>,
}

impl Limits<'_> {
    fn builder_for(&self, limit: Value) -> LLVMBuilderRef {
        // A terminator (an invoke's result) is not available before the hoisting point, the
        // terminator of the loop's entering block.
        let invariant = ll::opcode(limit).is_none()
            || (!self.loop_blocks.contains(&ll::block_of(limit))
                && ll::terminator(ll::block_of(limit)) != limit);
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

/// The look-ahead distance in iterations, clamped to the iterations left (an `i64`), and per
/// upper bound the induction variable's header phi, the last value `L` it may take (an `i64`)
/// and whether `L` was computed before the loop.
fn clamped_distance(
    b: LLVMBuilderRef,
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    plan: &Plan<'_>,
) -> (Value, Vec<(Induction, Value, bool)>) {
    // SAFETY: (whole block) the builder is positioned in the live function; every operand is a
    // value of that function or a constant of its context, with the types the builders expect.
    unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(plan.at));
        let i64t = LLVMInt64TypeInContext(ctx);
        let mut d = const_of(i64t, i64::from(plan.distance));
        let mut ty = i64t;
        let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
        let mut ty = i64t;
        let usub_sat = intrinsic(module, "llvm.usub.sat", std::slice::from_mut(&mut ty));
        let mut lasts = Vec::new();
        for (iv, bounds) in &plan.inductions {
            let base = ll::name(iv.phi);
            let as_i64 = |v: Value, builder: LLVMBuilderRef, what: &str| -> Value {
                let n = ll::c_name(&format!("{base}.{what}"));
                if iv.pointer {
                    LLVMBuildPtrToInt(builder, v, i64t, n.as_ptr())
                } else {
                    LLVMBuildZExtOrBitCast(builder, v, i64t, n.as_ptr())
                }
            };
            let here = as_i64(iv.phi, b, "pos");
            for bound in bounds {
                let hb = limits.builder_for(bound.limit);
                let hoisted = limits.hoisted == Some(hb);
                let limit = as_i64(bound.limit, hb, "end");
                let last = if bound.minus == 0 {
                    limit
                } else {
                    // Saturating: an empty range (limit < minus) leaves no iteration ahead.
                    call(
                        hb,
                        usub_sat,
                        &mut [limit, const_of(i64t, bound.minus)],
                        &format!("{base}.last"),
                    )
                };
                lasts.push((*iv, last, hoisted));
                let left = call(b, usub_sat, &mut [last, here], &format!("{base}.left"));
                let steps = if iv.step == 1 {
                    left
                } else {
                    let n = ll::c_name(&format!("{base}.iters"));
                    LLVMBuildUDiv(b, left, const_of(i64t, iv.step), n.as_ptr())
                };
                d = call(b, umin, &mut [d, steps], "hpf.dist");
            }
        }
        (d, lasts)
    }
}

/// The margin `m` of the per-iteration test `pos < usub.sat(L, m)` of [`split_loops`]' copy
/// that the clamped distance `min(d, usub.sat(L, pos) / step)` is `d`: `m = d * step - 1`. For
/// `d * step >= 1`, `usub.sat(L, pos) / step >= d` iff `L - pos >= d * step` (and `L >= pos`)
/// iff `pos <= L - d * step` iff `pos < L - m`, where `L - m` saturating at 0 makes the test
/// false for `L < d * step`, when no `pos` fits. `None` for a step that is not positive, a
/// zero distance or overflow.
pub fn split_margin(distance: u32, step: i64) -> Option<u64> {
    if step < 1 || distance == 0 {
        return None;
    }
    let reach = i64::from(distance).checked_mul(step)?;
    u64::try_from(reach - 1).ok()
}

/// The look-ahead copy of a window's (`i64`) induction variable: `min(iv + d * step, last)`,
/// two instructions per iteration. Unlike [`clamped_distance`] it need not land on a value the
/// loop's own induction variable takes: every index up to `last` is inside the checked range.
fn window_ahead(
    b: LLVMBuilderRef,
    module: LLVMModuleRef,
    w: &WindowPlan,
    distance: u32,
    last: Value,
) -> Value {
    let base = ll::name(w.iv.phi);
    let mut ty = ll::type_of(w.iv.phi);
    let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
    let reach = i64::from(distance).saturating_mul(w.iv.step);
    let n = ll::c_name(&format!("{base}.reach"));
    // SAFETY: builder positioned in the live function; `iv` and the constant share its type.
    let raw = unsafe { LLVMBuildAdd(b, w.iv.phi, const_of(ty, reach), n.as_ptr()) };
    call(b, umin, &mut [raw, last], &format!("{base}.ahead"))
}

/// The last value the look-ahead copy of a window's (`i64`) induction variable may take:
/// `min over lens of (len - minus) - start - 1`, saturating at 0. The range's last index
/// `min over lens of (len - minus - 1)` is built before `w.hoist_at` (once per outer-loop entry)
/// when that is set, else before the window's entry terminator, and the start is subtracted
/// before the entry terminator: saturating subtraction commutes with itself and with `umin`
/// (`usub.sat(usub.sat(a, b), c) = usub.sat(usub.sat(a, c), b)`, and `x -> usub.sat(x, s)` is
/// monotone), so both placements give the same value.
fn window_last(module: LLVMModuleRef, w: &WindowPlan) -> Value {
    let entry = ll::builder_before(w.at);
    let hoisted = w.hoist_at.map(ll::builder_before);
    let b = hoisted.unwrap_or(entry);
    // SAFETY: (whole block) `b` is positioned before the outer preheader's terminator (every
    // length is then computed outside the outer loop, so it dominates the preheader, see
    // `pass::window_plan`) or before the window's entry terminator, which every operand (values
    // computed before the loop, see `loops::windows`) dominates; the start is only used before
    // the entry terminator; the builders get operands of the types they expect.
    let last = unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(w.iv.phi));
        let i64t = LLVMInt64TypeInContext(ctx);
        let mut ty = i64t;
        let usub_sat = intrinsic(module, "llvm.usub.sat", std::slice::from_mut(&mut ty));
        let mut ty = i64t;
        let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
        let base = ll::name(w.iv.phi);
        let widen = |b: LLVMBuilderRef, v: Value, what: &str| {
            let n = ll::c_name(&format!("{base}.{what}"));
            LLVMBuildZExtOrBitCast(b, v, i64t, n.as_ptr())
        };
        let mut range_last: Option<Value> = None;
        for &(len, minus) in &w.lens {
            let len = widen(b, len, "range.len");
            let l = call(
                b,
                usub_sat,
                &mut [len, const_of(i64t, minus.saturating_add(1))],
                &format!("{base}.range.last"),
            );
            range_last = Some(match range_last {
                None => l,
                Some(prev) => call(b, umin, &mut [prev, l], &format!("{base}.range.last")),
            });
        }
        let range_last = range_last.unwrap_or_else(|| const_of(i64t, 0));
        match w.start {
            Some(s) => {
                let s = widen(entry, s, "window.start");
                call(
                    entry,
                    usub_sat,
                    &mut [range_last, s],
                    &format!("{base}.window.last"),
                )
            }
            None => range_last,
        }
    };
    if let Some(h) = hoisted {
        ll::dispose_builder(h);
    }
    ll::dispose_builder(entry);
    last
}

/// The value of `iv` `d` iterations ahead.
fn ahead(b: LLVMBuilderRef, iv: &Induction, d: Value) -> Value {
    let name = format!("{}.ahead", ll::name(iv.phi));
    let n = ll::c_name(&name);
    // SAFETY: (whole block) builder positioned in the live function; `d` is an i64 of it.
    unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(iv.phi));
        let i64t = LLVMInt64TypeInContext(ctx);
        let no = ll::c_name("");
        if iv.pointer {
            let off = if iv.step == 1 {
                d
            } else {
                LLVMBuildMul(b, d, const_of(i64t, iv.step), no.as_ptr())
            };
            let mut idx = [off];
            LLVMBuildGEP2(
                b,
                LLVMInt8TypeInContext(ctx),
                iv.phi,
                idx.as_mut_ptr(),
                1,
                n.as_ptr(),
            )
        } else {
            let ty = ll::type_of(iv.phi);
            // `d` is at most the distance (a u32), so narrowing keeps its value.
            let dd = match LLVMGetIntTypeWidth(ty) {
                64 => d,
                w if w < 64 => LLVMBuildTrunc(b, d, ty, no.as_ptr()),
                _ => LLVMBuildZExt(b, d, ty, no.as_ptr()),
            };
            let off = if iv.step == 1 {
                dd
            } else {
                LLVMBuildMul(b, dd, const_of(ty, iv.step), no.as_ptr())
            };
            LLVMBuildAdd(b, iv.phi, off, n.as_ptr())
        }
    }
}

/// Clones `insts` with `map` applied to their operands, before the builder's position; records
/// every clone in `map` and returns the clone of the last instruction.
fn clone_all(b: LLVMBuilderRef, insts: &[Value], map: &mut HashMap<Value, Value>) -> Option<Value> {
    let mut last = None;
    for &inst in insts {
        // SAFETY: `inst` is a live instruction; the clone is new and inserted at once into the
        // live function at the builder's position; operand indices are in range.
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
        map.insert(inst, clone);
        last = Some(clone);
    }
    last
}

fn prefetch(b: LLVMBuilderRef, module: LLVMModuleRef, addr: Value) {
    let mut pty = ll::type_of(addr);
    let f = intrinsic(module, "llvm.prefetch", std::slice::from_mut(&mut pty));
    // SAFETY: `pty` is a live type of the module's context.
    let i32t = unsafe { LLVMInt32TypeInContext(LLVMGetTypeContext(pty)) };
    // llvm.prefetch(address, rw = 0 (read), locality = 3 (keep in all levels), cache = 1 (data)).
    call(
        b,
        f,
        &mut [
            addr,
            const_of(i32t, 0),
            const_of(i32t, 3),
            const_of(i32t, 1),
        ],
        "",
    );
}

/// Whether [`insert`] can handle a recurrence plan in this loop (single entry edge and latch).
pub fn recurrence_insertable(plan: &Plan<'_>) -> bool {
    plan.latch.is_some() && plan.entry_preds.len() == 1
}

/// Creates the look-ahead copy of recurrence `phi` (once per loop) and returns its phi.
fn start_recurrence_copy(plan: &Plan<'_>, phi: Value) -> Option<Value> {
    let (Some(latch), [pred]) = (plan.latch, plan.entry_preds.as_slice()) else {
        return None;
    };
    let step = &plan.chain.recurrence_step;
    // SAFETY: both blocks belong to the live function; LLVM updates the header's phis.
    let entry = unsafe { hallows_pf_edge_block(*pred, plan.header) };
    let &(start, _) = ll::phi_incoming(phi).iter().find(|(_, b)| *b == entry)?;
    let b = ll::builder_before(ll::terminator(entry));
    let mut cur = start;
    for _ in 0..plan.distance {
        let mut map = HashMap::from([(phi, cur)]);
        cur = clone_all(b, step, &mut map).unwrap_or(cur);
    }
    ll::dispose_builder(b);
    let first = ll::instructions(plan.header)[0];
    let bh = ll::builder_before(first);
    let name = ll::c_name(&format!("{}.ahead", ll::name(phi)));
    // SAFETY: a new phi at the top of the live header, of the recurrence's type.
    let ahead = unsafe { LLVMBuildPhi(bh, ll::type_of(phi), name.as_ptr()) };
    ll::dispose_builder(bh);
    let bl = ll::builder_before(ll::terminator(latch));
    let mut map = HashMap::from([(phi, ahead)]);
    let next = clone_all(bl, step, &mut map).unwrap_or(ahead);
    ll::dispose_builder(bl);
    // SAFETY: `ahead` is the new phi; its incoming values dominate the ends of their blocks
    // (`cur` is built in `entry`, `next` before the latch's terminator).
    unsafe {
        let mut values = [cur, next];
        let mut blocks = [entry, latch];
        LLVMAddIncoming(ahead, values.as_mut_ptr(), blocks.as_mut_ptr(), 2);
    }
    Some(ahead)
}

/// Runs a second copy of the recurrence `d` steps ahead: `a0 = f^d(r0)` on the entry edge, a
/// new header phi `a = phi [a0, entry], [f(a), latch]`, and a prefetch of the address computed
/// from `a` instead of `r`.
fn insert_recurrence(
    module: LLVMModuleRef,
    plan: &Plan<'_>,
    phi: Value,
    shared: &mut HashMap<Value, Value>,
) {
    let ahead = match shared.get(&phi) {
        Some(&a) => a,
        None => {
            let Some(a) = start_recurrence_copy(plan, phi) else {
                return;
            };
            shared.insert(phi, a);
            a
        }
    };
    let b = ll::builder_before(plan.at);
    let mut map = HashMap::from([(phi, ahead)]);
    clone_all(b, &plan.chain.insts, &mut map);
    let ptr = plan.address;
    let addr = map.get(&ptr).copied().unwrap_or(ptr);
    prefetch(b, module, addr);
    ll::dispose_builder(b);
}

/// Clones `insts` before the builder's position with `map` applied to their operands, clamping
/// every clone that `clamps` names to its bounds; records each (clamped) clone in `map`.
fn clone_clamped(
    b: LLVMBuilderRef,
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    insts: &[Value],
    clamps: &[(Value, Bound)],
    map: &mut HashMap<Value, Value>,
) {
    for &inst in insts {
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
        let bounds: Vec<Bound> = clamps
            .iter()
            .filter(|(v, _)| *v == inst)
            .map(|(_, bd)| *bd)
            .collect();
        let out = if bounds.is_empty() {
            clone
        } else {
            clamp_int(b, limits, module, clone, &bounds, &ll::name(inst))
        };
        map.insert(inst, out);
    }
}

/// The once-per-entry test of a window's look-ahead (see [`version_margin`]), built before
/// the window's entry terminator: `usub.sat(last, limit) >= margin`, or `None` when there is
/// no such test.
fn window_fits(module: LLVMModuleRef, w: &WindowPlan, distance: u32, last: Value) -> Option<Value> {
    let margin = version_margin(distance, w.iv.step, w.latch.minus)?;
    let b = ll::builder_before(w.at);
    let base = ll::name(w.iv.phi);
    // SAFETY: (whole block) `b` is positioned before the window's entry terminator, which
    // `last` (built before it by `window_last`) and the exit limit (computed before the inner
    // loop, see `loops::windows`) dominate; the operands are `i64` values as the builders and
    // intrinsics expect.
    let fits = unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(w.iv.phi));
        let i64t = LLVMInt64TypeInContext(ctx);
        let mut ty = i64t;
        let usub_sat = intrinsic(module, "llvm.usub.sat", std::slice::from_mut(&mut ty));
        let n = ll::c_name(&format!("{base}.exit.limit"));
        let limit = LLVMBuildZExtOrBitCast(b, w.latch.limit, i64t, n.as_ptr());
        let slack = call(b, usub_sat, &mut [last, limit], &format!("{base}.slack"));
        let n = ll::c_name(&format!("{base}.fits"));
        LLVMBuildICmp(
            b,
            llvm_sys::LLVMIntPredicate::LLVMIntUGE,
            slack,
            LLVMConstInt(i64t, margin, 0),
            n.as_ptr(),
        )
    };
    ll::dispose_builder(b);
    Some(fits)
}

/// What a copy of the loop could drop, from [`clone_ahead`].
enum Removable {
    /// A window's clamp with its once-per-entry test.
    Window { fits: Value, clamp: Value },
    /// The clamped distance, with the tests of [`split_loops`]' copy.
    Split {
        distance: Value,
        tests: Vec<(Value, Value)>,
    },
    /// A clamped distance whose loop cannot be split, with why.
    Unsplit(&'static str),
}

/// The per-iteration tests of [`split_loops`]' copy for a plan's clamped distance, built
/// before the terminator of the loop's only entering block: per upper bound `(phi, usub.sat(L, d * step - 1))`.
/// `None` when the distance is not clamped (no upper bound); `Some(Err(why))` when the loop
/// cannot be split this way: the prefetch is an inner loop's entry (the distance counts outer
/// iterations but the clamp is built in the inner loop's entry), the loop has an inner loop
/// (the copy would copy it), the loop has several entering blocks, a limit is computed in the
/// loop (it would not dominate the copy's header), or a step has no margin (the `SPLIT_*`
/// reasons, in this order of precedence). Nothing is built unless the result is `Some(Ok(_))`.
fn split_tests(
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    plan: &Plan<'_>,
    lasts: &[(Induction, Value, bool)],
) -> Option<Result<Vec<(Value, Value)>, &'static str>> {
    if lasts.is_empty() {
        return None;
    }
    Some(split_tests_of_clamp(limits, module, plan, lasts))
}

/// [`split_tests`] of a clamped distance (`lasts` is not empty).
fn split_tests_of_clamp(
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    plan: &Plan<'_>,
    lasts: &[(Induction, Value, bool)],
) -> Result<Vec<(Value, Value)>, &'static str> {
    if plan.entry.is_some() {
        return Err(SPLIT_ENTRY_PREFETCH);
    }
    if !plan.innermost {
        return Err(SPLIT_NOT_INNERMOST);
    }
    let h = limits.hoisted.ok_or(SPLIT_SEVERAL_ENTRIES)?;
    if lasts.iter().any(|(_, _, hoisted)| !hoisted) {
        return Err(SPLIT_LIMIT_IN_LOOP);
    }
    let margins = lasts
        .iter()
        .map(|(iv, _, _)| split_margin(plan.distance, iv.step))
        .collect::<Option<Vec<u64>>>()
        .ok_or(SPLIT_NO_MARGIN)?;
    // SAFETY: `plan.at` is a live instruction, so its type belongs to a live context.
    let ctx = unsafe { LLVMGetTypeContext(ll::type_of(plan.at)) };
    // SAFETY: `ctx` is the live context of the function.
    let i64t = unsafe { LLVMInt64TypeInContext(ctx) };
    let mut ty = i64t;
    let usub_sat = intrinsic(module, "llvm.usub.sat", std::slice::from_mut(&mut ty));
    let tests = lasts
        .iter()
        .zip(margins)
        .map(|((iv, last, _), margin)| {
            let base = ll::name(iv.phi);
            // `h` is positioned before the entering block's terminator, after every hoisted
            // `last` (built with it); `margin < i64::MAX` (it is `d * step - 1` of an `i64`).
            let excl = call(
                h,
                usub_sat,
                &mut [*last, const_of(i64t, margin as i64)],
                &format!("{base}.split"),
            );
            (iv.phi, excl)
        })
        .collect();
    Ok(tests)
}

/// The plan's chain cloned `d` iterations ahead (each induction variable advanced by the
/// clamped distance, or a window's by its own clamp): the map from original to cloned values,
/// and what a copy of the loop could drop (a window's clamp with its once-per-entry test, or
/// the clamped distance with the tests of [`split_loops`]).
fn clone_ahead(
    b: LLVMBuilderRef,
    limits: &Limits<'_>,
    module: LLVMModuleRef,
    plan: &Plan<'_>,
) -> (HashMap<Value, Value>, Option<Removable>) {
    let mut map: HashMap<Value, Value> = HashMap::new();
    let removable;
    match &plan.window {
        Some(w) => {
            let last = window_last(module, w);
            let clamp = window_ahead(b, module, w, plan.distance, last);
            removable = window_fits(module, w, plan.distance, last)
                .map(|fits| Removable::Window { fits, clamp });
            map.insert(w.iv.phi, clamp);
        }
        None => {
            let (d, lasts) = clamped_distance(b, limits, module, plan);
            for iv in &plan.chain_inductions {
                map.insert(iv.phi, ahead(b, iv, d));
            }
            removable = split_tests(limits, module, plan, &lasts).map(|tests| match tests {
                Ok(tests) => Removable::Split { distance: d, tests },
                Err(why) => Removable::Unsplit(why),
            });
        }
    }
    clone_clamped(
        b,
        limits,
        module,
        &plan.chain.insts,
        &plan.chain.clamps,
        &mut map,
    );
    (map, removable)
}

/// A short inner loop's accesses prefetched from the outer loop (see `GatherPlan`).
pub struct Gather<'a> {
    /// The outer-loop plan: its chain computes the inner loop's start index `d` outer
    /// iterations ahead; `at` is the terminator of the inner loop's only entry block.
    pub outer: Plan<'a>,
    /// What to do with that start.
    pub plan: GatherPlan<'a>,
}

/// The inner loop's side of a [`Gather`]: its induction variable walks elements
/// `start..end` of a range `[0, len)` that a check before the loop bounds (`end <= len -
/// minus`). For the entry `d` outer iterations ahead, the first `count` elements of its window
/// are each clamped to the range's last element (`min(start' + k, len - minus - 1)`, so every
/// cloned load reads an element of the checked range, and the loop being entered here reads
/// at least one of them, so the range is not empty), the inner chain is cloned on each and its
/// address prefetched.
pub struct GatherPlan<'a> {
    /// The start index (`i64`) of the window, computed in the outer loop by `outer.chain`.
    pub start: Value,
    /// For a pointer induction variable, its entry value `gep T, base, start` (cloned with the
    /// clamped index in place of `start`); `None` for an `i64` index counting from `start`.
    pub entry_gep: Option<Value>,
    /// The induction variable's header phi.
    pub iv: Value,
    /// Checked length of the range and what the check subtracts.
    pub len: Value,
    /// `end <= len - minus`.
    pub minus: i64,
    /// The inner chain: address computation from `iv` (loads included), with its clamps.
    pub chain: &'a Chain,
    /// Elements of the entry prefetched.
    pub count: u32,
}

/// Inserts a [`Gather`]: before `outer.at`, the outer chain `d` outer iterations ahead, then
/// `count` clamped copies of the inner chain and their prefetches. Returns, when the outer
/// distance is clamped to the outer loop's bounds, why that loop is not split (it holds the
/// inner loop: [`SPLIT_NOT_INNERMOST`]).
pub fn insert_gather(module: LLVMModuleRef, g: &Gather<'_>) -> Option<&'static str> {
    let (outer, plan) = (&g.outer, &g.plan);
    let b = ll::builder_before(outer.at);
    let limits = Limits {
        at: b,
        hoisted: outer.hoist_before.map(ll::builder_before),
        loop_blocks: outer.loop_blocks,
    };
    let (map, removable) = clone_ahead(b, &limits, module, outer);
    let unsplit = match removable {
        Some(Removable::Unsplit(why)) => Some(why),
        // The outer loop holds the inner loop (`pass::outer_loop_plan`), so its distance is
        // never split; nothing here splits it either way.
        Some(Removable::Split { .. } | Removable::Window { .. }) => Some(SPLIT_NOT_INNERMOST),
        None => None,
    };
    let start = map.get(&plan.start).copied().unwrap_or(plan.start);
    // SAFETY: (whole block) the builder is positioned before the entry block's terminator,
    // which `len` (on the entry path's checks) and every clone dominate; operands have the
    // types the builders and intrinsics expect (`i64`).
    unsafe {
        let ctx = LLVMGetTypeContext(ll::type_of(plan.start));
        let i64t = LLVMInt64TypeInContext(ctx);
        let mut ty = i64t;
        let usub_sat = intrinsic(module, "llvm.usub.sat", std::slice::from_mut(&mut ty));
        let mut ty = i64t;
        let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
        let base = ll::name(plan.iv);
        let len_name = ll::c_name(&format!("{base}.range.len"));
        let len = LLVMBuildZExtOrBitCast(b, plan.len, i64t, len_name.as_ptr());
        let last = call(
            b,
            usub_sat,
            &mut [len, const_of(i64t, plan.minus.saturating_add(1))],
            &format!("{base}.range.last"),
        );
        for k in 0..plan.count {
            let raw = if k == 0 {
                start
            } else {
                let n = ll::c_name(&format!("{base}.gather"));
                LLVMBuildAdd(b, start, const_of(i64t, i64::from(k)), n.as_ptr())
            };
            let index = call(b, umin, &mut [raw, last], &format!("{base}.gather.index"));
            let mut inner: HashMap<Value, Value> = HashMap::new();
            let iv_value = match plan.entry_gep {
                Some(gep) => {
                    inner.insert(plan.start, index);
                    clone_all(b, &[gep], &mut inner).unwrap_or(gep)
                }
                None => index,
            };
            let mut inner = HashMap::from([(plan.iv, iv_value)]);
            clone_clamped(
                b,
                &limits,
                module,
                &plan.chain.insts,
                &plan.chain.clamps,
                &mut inner,
            );
            let ptr = outer.address;
            let addr = inner.get(&ptr).copied().unwrap_or(ptr);
            prefetch(b, module, addr);
        }
    }
    ll::dispose_builder(b);
    if let Some(h) = limits.hoisted {
        ll::dispose_builder(h);
    }
    unsplit
}

/// Inserts the clone and the prefetch before `plan.at`; returns a window's clamp for
/// [`version_windows`], a clamped distance for [`split_loops`], or why a clamped distance's
/// loop cannot be split.
///
/// `shared` keeps the look-ahead copies of recurrences already started in this function, so
/// the copies of an unrolled loop body share one.
pub fn insert(
    module: LLVMModuleRef,
    plan: &Plan<'_>,
    shared: &mut HashMap<Value, Value>,
) -> Option<Clamp> {
    if let Some(phi) = plan.chain.recurrence {
        insert_recurrence(module, plan, phi, shared);
        return None;
    }
    let b = ll::builder_before(plan.at);
    let limits = Limits {
        at: b,
        hoisted: plan.hoist_before.map(ll::builder_before),
        loop_blocks: plan.loop_blocks,
    };
    let (mut map, check) = clone_ahead(b, &limits, module, plan);
    if let Some(e) = &plan.entry {
        let cloned_start = map.get(&e.start).copied().unwrap_or(e.start);
        map.insert(e.phi, cloned_start);
        map.extend(e.current.iter().copied());
        clone_all(b, &e.tail, &mut map);
    }
    let ptr = plan.address;
    let addr = map.get(&ptr).copied().unwrap_or(ptr);
    prefetch(b, module, addr);
    ll::dispose_builder(b);
    if let Some(h) = limits.hoisted {
        ll::dispose_builder(h);
    }
    // Header first, then the function's order, not the set's: the copies' blocks, and so the
    // module the pass emits, are the same on every run.
    let mut blocks = vec![plan.header];
    blocks.extend(
        ll::blocks(ll::function_of(plan.header))
            .into_iter()
            .filter(|bb| *bb != plan.header && plan.loop_blocks.contains(bb)),
    );
    Some(match check? {
        Removable::Window { fits, clamp } => Clamp::Window(WindowClamp {
            header: plan.header,
            blocks,
            fits,
            clamp,
        }),
        Removable::Split { distance, tests } => Clamp::Split(SplitClamp {
            header: plan.header,
            blocks,
            distance,
            unclamped: plan.distance,
            tests,
        }),
        Removable::Unsplit(why) => Clamp::Unsplit(why),
    })
}

/// Why [`version_windows`] left a loop unversioned (`hallows_pf_version_loop`'s codes).
pub fn version_refusal(code: u32) -> &'static str {
    match code {
        1 => "the loop has several entry edges",
        2 => "a block other than the header is entered from outside the loop",
        3 => "a block of the loop has its address taken",
        4 => "the loop calls a function that must not be duplicated",
        5 => "the loop defines a token value",
        6 => "the loop's header is an exception-handling pad",
        _ => "the loop could not be copied",
    }
}

/// Copies each loop once for all the clamps in it: groups `count` clamps by their loop's
/// `header`, calls `copy` with the indices of one loop's clamps (in their order), and records
/// its shim code for each of them (`Ok` for 0, else [`version_refusal`]).
fn per_loop(
    count: usize,
    header: impl Fn(usize) -> Bb,
    mut copy: impl FnMut(&[usize]) -> u32,
) -> Vec<Result<(), &'static str>> {
    let mut done = vec![Ok(()); count];
    let mut headers: Vec<Bb> = Vec::new();
    for i in 0..count {
        if !headers.contains(&header(i)) {
            headers.push(header(i));
        }
    }
    for h in headers {
        let members: Vec<usize> = (0..count).filter(|&i| header(i) == h).collect();
        let code = copy(&members);
        let outcome = if code == 0 {
            Ok(())
        } else {
            Err(version_refusal(code))
        };
        for i in members {
            done[i] = outcome;
        }
    }
    done
}

/// Versions each inner loop with window clamps once per entry (see the module doc): a copy of
/// the loop without the clamps runs when every clamp's test holds. Returns, per clamp, `Ok` when
/// its loop was versioned, else why not (see [`version_refusal`]; the clamped loop then runs
/// for every entry, as before).
pub fn version_windows(clamps: &[WindowClamp]) -> Vec<Result<(), &'static str>> {
    per_loop(
        clamps.len(),
        |i| clamps[i].header,
        |members| {
            let mut blocks = clamps[members[0]].blocks.clone();
            let mut fits: Vec<Value> = members.iter().map(|&i| clamps[i].fits).collect();
            let mut calls: Vec<Value> = members.iter().map(|&i| clamps[i].clamp).collect();
            // SAFETY: the blocks are the live blocks of one loop of the function, header first;
            // `fits` are `i1` values computed before the loop's entry terminator (so they dominate
            // a block inserted on the entry edge); `calls` are `umin` calls in the loop; the
            // lengths are those of the arrays.
            unsafe {
                hallows_pf_version_loop(
                    blocks.as_mut_ptr(),
                    blocks.len() as u32,
                    fits.as_mut_ptr(),
                    fits.len() as u32,
                    calls.as_mut_ptr(),
                    calls.len() as u32,
                )
            }
        },
    )
}

/// `umin(a, b)` of two `i64` limits built before the terminator of the loop's entering block
/// (both are, see [`split_tests`]), built there after both.
fn combine_limits(module: LLVMModuleRef, a: Value, b: Value) -> Value {
    let builder = ll::builder_before(ll::terminator(ll::block_of(a)));
    let mut ty = ll::type_of(a);
    let umin = intrinsic(module, "llvm.umin", std::slice::from_mut(&mut ty));
    let name = format!("{}.min", ll::name(a));
    let v = call(builder, umin, &mut [a, b], &name);
    ll::dispose_builder(builder);
    v
}

/// Splits each loop with clamped distances at its look-ahead limit (see the module doc): a
/// copy of the loop whose distances are the constants `d` runs while every test holds at the
/// top of an iteration, then the clamped loop runs the remaining iterations. Returns, per
/// clamp, `Ok` when its loop was split, else why not (see [`version_refusal`]; the clamped
/// loop then runs every iteration, as before).
pub fn split_loops(module: LLVMModuleRef, clamps: &[SplitClamp]) -> Vec<Result<(), &'static str>> {
    per_loop(
        clamps.len(),
        |i| clamps[i].header,
        |members| {
            let mut blocks = clamps[members[0]].blocks.clone();
            // One test per phi: `pos < a && pos < b` is `pos < umin(a, b)`, computed before the
            // loop.
            let mut tests: Vec<(Value, Value)> = Vec::new();
            for &(phi, excl) in members.iter().flat_map(|&i| clamps[i].tests.iter()) {
                match tests.iter_mut().find(|(p, _)| *p == phi) {
                    Some((_, e)) => *e = combine_limits(module, *e, excl),
                    None => tests.push((phi, excl)),
                }
            }
            let (mut phis, mut excl): (Vec<Value>, Vec<Value>) = tests.into_iter().unzip();
            let mut dists: Vec<Value> = members.iter().map(|&i| clamps[i].distance).collect();
            let distances: Vec<u64> = members
                .iter()
                .map(|&i| u64::from(clamps[i].unclamped))
                .collect();
            // SAFETY: the blocks are the live blocks of one loop of the function, header first;
            // `phis` are header phis of that loop and `excl` `i64` values computed before the
            // terminator of its only entering block (so they dominate the header); `dists` are `i64` values in the
            // loop, one per entry of `distances`; the lengths are those of the arrays.
            unsafe {
                hallows_pf_split_loop(
                    blocks.as_mut_ptr(),
                    blocks.len() as u32,
                    phis.as_mut_ptr(),
                    excl.as_mut_ptr(),
                    phis.len() as u32,
                    dists.as_mut_ptr(),
                    distances.as_ptr(),
                    dists.len() as u32,
                )
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::{split_margin, version_margin};

    #[test]
    fn split_margin_is_the_reach_less_one() {
        assert_eq!(split_margin(45, 4), Some(179));
        assert_eq!(split_margin(1, 1), Some(0));
        assert_eq!(split_margin(0, 1), None);
        assert_eq!(split_margin(8, 0), None);
        assert_eq!(split_margin(8, -4), None);
        assert_eq!(split_margin(u32::MAX, i64::MAX), None);
    }

    /// Exhaustively over small values: the copy's test `pos < usub.sat(last, margin)` holds
    /// exactly when the clamped distance `min(d, usub.sat(last, pos) / step)` is `d`.
    #[test]
    fn split_test_holds_exactly_when_the_clamp_gives_the_distance() {
        for distance in 1..6u32 {
            for step in 1..5i64 {
                let margin = split_margin(distance, step).expect("a positive reach");
                let d = u64::from(distance);
                let step = step as u64;
                for last in 0..64u64 {
                    for pos in 0..70u64 {
                        let fits = pos < last.saturating_sub(margin);
                        let clamped = d.min(last.saturating_sub(pos) / step);
                        assert_eq!(
                            fits,
                            clamped == d,
                            "d {distance} step {step} last {last} pos {pos}"
                        );
                    }
                }
            }
        }
    }

    /// The once-per-entry test as the IR computes it.
    fn fits(last: u64, limit: u64, margin: u64) -> bool {
        last.saturating_sub(limit) >= margin
    }

    #[test]
    fn margin_is_the_reach_past_the_exit_bound() {
        assert_eq!(version_margin(16, 1, 1), Some(15));
        assert_eq!(version_margin(16, 2, 0), Some(32));
        assert_eq!(version_margin(4, 3, -2), Some(14));
    }

    #[test]
    fn no_margin_without_a_positive_reach_past_the_bound() {
        assert_eq!(version_margin(1, 1, 1), None);
        assert_eq!(version_margin(0, 1, 0), None);
        assert_eq!(version_margin(8, 0, 0), None);
        assert_eq!(version_margin(8, -1, 0), None);
        assert_eq!(version_margin(u32::MAX, i64::MAX, 0), None);
    }

    /// Exhaustively over small values: when the test holds, every iteration's look-ahead index
    /// is at most `last` (sound), and it holds whenever the entry's last iteration's look-ahead
    /// is (exact, so the unclamped copy runs whenever it can).
    #[test]
    fn test_holds_exactly_when_the_last_look_ahead_is_in_range() {
        for distance in 0..6u32 {
            for step in 1..4i64 {
                for minus in -2..4i64 {
                    let Some(margin) = version_margin(distance, step, minus) else {
                        continue;
                    };
                    let reach = u64::from(distance) * step as u64;
                    for limit in 0..48u64 {
                        // `iv <= limit - minus` for some iv: limit - minus >= 0.
                        let Some(iv_last) = (limit as i64).checked_sub(minus) else {
                            continue;
                        };
                        let Ok(iv_last) = u64::try_from(iv_last) else {
                            continue;
                        };
                        for last in 0..64u64 {
                            let ok = fits(last, limit, margin);
                            if ok {
                                for iv in 0..=iv_last {
                                    assert!(iv + reach <= last, "d {distance} step {step} minus {minus} limit {limit} last {last} iv {iv}");
                                }
                            }
                            assert_eq!(
                                ok,
                                iv_last + reach <= last,
                                "d {distance} step {step} minus {minus} limit {limit} last {last}"
                            );
                        }
                    }
                }
            }
        }
    }
}
