//! Loop facts the prefetch passes need beyond what the shim's LoopInfo gives: block
//! membership, preheader, induction variables, and the upper bounds that hold for the
//! induction variable (and other values) at a point in the loop body.
//!
//! Bounds come from two places:
//! - the latch's exit test (`icmp eq %iv.next, %n` leaving the loop, `icmp ult %iv.next, %n`
//!   staying in it, ...), which bounds every iteration's value;
//! - conditional branches on the single-predecessor path from the header down to a block
//!   (bounds checks such as `icmp ult %i, %len` whose other side panics), which hold there.
//!
//! A bound is written `v <= limit - minus`. Cloned address chains are clamped with them, so a
//! cloned load only reads an element some iteration of the original loop reads too. An
//! inequality `iv != n` bounds `iv` by `n - step` for any positive step: the look-ahead
//! distance is a whole number of steps and never passes the bound, so the cloned index is a
//! value the loop takes before it could pass `n` (see `insert.rs`).

use std::collections::{HashMap, HashSet};

use llvm_sys::core::{LLVMGetGEPSourceElementType, LLVMGetGlobalParent};
use llvm_sys::target::{LLVMABISizeOfType, LLVMGetModuleDataLayout};
use llvm_sys::{LLVMIntPredicate, LLVMOpcode};

use super::ll::{self, Bb, Value};
use crate::shim::{FunctionLoops, TripCount};

/// An induction variable: a header phi advanced by a positive constant each iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Induction {
    /// The header phi.
    pub phi: Value,
    /// Its value for the next iteration.
    pub next: Value,
    /// Increment per iteration (elements for integers, bytes for pointers).
    pub step: i64,
    /// Whether the phi is a pointer.
    pub pointer: bool,
}

/// `value <= limit - minus` (unsigned; bytes for pointers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The limit.
    pub limit: Value,
    /// What is subtracted from it.
    pub minus: i64,
}

/// A fact established by a branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// `value <= limit - minus`.
    Upper {
        /// Bounded value.
        value: Value,
        /// The bound.
        bound: Bound,
    },
    /// `a != b`.
    NotEqual(Value, Value),
}

/// One natural loop of a function.
#[derive(Clone, Debug)]
pub struct LoopView {
    /// Header block.
    pub header: Bb,
    /// Blocks of the loop, nested loops included.
    pub blocks: HashSet<Bb>,
    /// The unique out-of-loop predecessor that branches only to the header.
    pub preheader: Option<Bb>,
    /// The unique in-loop predecessor of the header.
    pub latch: Option<Bb>,
    /// Nesting depth (1 = outermost).
    pub depth: u32,
    /// Constant trip count from ScalarEvolution.
    pub constant_trip: Option<u64>,
    /// Instructions in the loop's own blocks (nested loops excluded): its body size.
    pub body_instructions: u32,
    /// Induction variables with the bounds the exit test gives them.
    pub inductions: Vec<(Induction, Vec<Bound>)>,
}

/// The loops of one function, with predecessor lists.
pub struct FunctionLoopViews {
    /// Loops in the shim's preorder.
    pub loops: Vec<LoopView>,
    /// Innermost loop of each block.
    pub innermost: HashMap<Bb, usize>,
    /// Predecessors of each block.
    pub preds: HashMap<Bb, Vec<Bb>>,
}

impl FunctionLoopViews {
    /// Builds the views for `function` from the shim's loop list.
    pub fn new(function: Value, facts: &FunctionLoops<'_>) -> Self {
        let blocks = ll::blocks(function);
        let mut preds: HashMap<Bb, Vec<Bb>> = HashMap::new();
        for &b in &blocks {
            for s in ll::successors(b) {
                let list = preds.entry(s).or_default();
                if !list.contains(&b) {
                    list.push(b);
                }
            }
        }
        let mut innermost = HashMap::new();
        for (i, &b) in blocks.iter().enumerate() {
            if let Some(Some(l)) = facts.block_loop.get(i) {
                innermost.insert(b, *l);
            }
        }
        let contains = |outer: usize, mut l: usize| loop {
            if l == outer {
                return true;
            }
            match facts.loops[l].parent {
                Some(p) => l = p,
                None => return false,
            }
        };
        let mut loops = Vec::new();
        for (index, facts_l) in facts.loops.iter().enumerate() {
            let header = facts_l.header.raw();
            let members: HashSet<Bb> = blocks
                .iter()
                .copied()
                .filter(|b| innermost.get(b).is_some_and(|&l| contains(index, l)))
                .collect();
            let own = blocks.iter().filter(|b| innermost.get(b) == Some(&index));
            let body_instructions = own.map(|&b| ll::instructions(b).len() as u32).sum();
            let header_preds = preds.get(&header).cloned().unwrap_or_default();
            let outside: Vec<Bb> = header_preds
                .iter()
                .copied()
                .filter(|p| !members.contains(p))
                .collect();
            let inside: Vec<Bb> = header_preds
                .iter()
                .copied()
                .filter(|p| members.contains(p))
                .collect();
            let preheader = match outside.as_slice() {
                [p] if ll::successors(*p) == [header] => Some(*p),
                _ => None,
            };
            let latch = match inside.as_slice() {
                [l] => Some(*l),
                _ => None,
            };
            let mut view = LoopView {
                header,
                blocks: members,
                preheader,
                latch,
                depth: facts_l.depth,
                constant_trip: match facts_l.trip_count {
                    TripCount::Constant(n) => Some(n),
                    _ => None,
                },
                body_instructions,
                inductions: Vec::new(),
            };
            view.inductions = find_inductions(function, &view)
                .into_iter()
                .map(|iv| {
                    let bounds = latch_bounds(&view, &iv);
                    (iv, bounds)
                })
                .collect();
            loops.push(view);
        }
        FunctionLoopViews {
            loops,
            innermost,
            preds,
        }
    }

    /// Predecessors of `l`'s header from outside `l` (the blocks that enter it).
    pub fn entering_blocks(&self, l: &LoopView) -> Vec<Bb> {
        self.preds.get(&l.header).map_or(Vec::new(), |p| {
            p.iter()
                .copied()
                .filter(|b| !l.blocks.contains(b))
                .collect()
        })
    }

    /// The block through which `inner` is entered, when there is exactly one and it lies in
    /// `outer` (the inner loop runs once per iteration of the outer one).
    pub fn single_entry_within(&self, inner: &LoopView, outer: &LoopView) -> Option<Bb> {
        match self.entering_blocks(inner).as_slice() {
            [pred] if outer.blocks.contains(pred) => Some(*pred),
            _ => None,
        }
    }

    /// Facts that hold on entry to `block` from the branches on its single-predecessor path up
    /// to the loop header: `(fact, k)` where the fact holds in path block `k` and below
    /// (path[0] = `block`).
    pub fn path_facts(&self, l: &LoopView, block: Bb) -> (Vec<Bb>, Vec<(Fact, usize)>) {
        let mut path = vec![block];
        let mut facts = Vec::new();
        let mut cur = block;
        while cur != l.header {
            let in_loop: Vec<Bb> = self
                .preds
                .get(&cur)
                .map(|p| p.iter().copied().filter(|b| l.blocks.contains(b)).collect())
                .unwrap_or_default();
            let [p] = in_loop.as_slice() else { break };
            if let Some((cond, t, f)) = ll::conditional_branch(*p) {
                if t != f {
                    for fact in branch_facts(cond, t == cur) {
                        facts.push((fact, path.len() - 1));
                    }
                }
            }
            cur = *p;
            path.push(cur);
        }
        (path, facts)
    }
}

/// Header phis of `l` advanced by a positive constant, and header phis that carry such an
/// induction's previous value (a "lagged" copy, as a rotated slice iterator keeps the current
/// element's pointer one step behind the next one).
fn find_inductions(function: Value, l: &LoopView) -> Vec<Induction> {
    let Some(latch) = l.latch else {
        return Vec::new();
    };
    // The condition that keeps the loop going: a step selected by it (`select %c, 8, 0`,
    // `zext %c`) is the step of every iteration that continues.
    let stay = ll::conditional_branch(latch).and_then(|(cond, t, f)| {
        match (l.blocks.contains(&t), l.blocks.contains(&f)) {
            (true, false) => Some((cond, true)),
            (false, true) => Some((cond, false)),
            _ => None,
        }
    });
    let phis: Vec<Value> = ll::instructions(l.header)
        .into_iter()
        .take_while(|i| ll::opcode(*i) == Some(LLVMOpcode::LLVMPHI))
        .collect();
    let mut out = Vec::new();
    let mut lagged = Vec::new();
    for &phi in &phis {
        let ty = ll::type_of(phi);
        let pointer = ll::is_pointer(ty);
        if !pointer && !ll::is_small_int(ty) {
            continue;
        }
        let Some(&(next, _)) = ll::phi_incoming(phi).iter().find(|(_, b)| *b == latch) else {
            continue;
        };
        match step_of(function, phi, next, pointer, stay) {
            Some(step) if step > 0 => out.push(Induction {
                phi,
                next,
                step,
                pointer,
            }),
            Some(_) => {}
            None if phis.contains(&next) && next != phi => lagged.push((phi, next, pointer)),
            None => {}
        }
    }
    // `%cur = phi [%start, %pre], [%next_ptr, %latch]` where `%next_ptr` is an induction's
    // header phi: `%cur` in iteration k+1 is that induction's value in iteration k, so it
    // advances by the same step, and the latch's test on `%next_ptr` bounds it.
    for (phi, next, pointer) in lagged {
        let lead = out
            .iter()
            .find(|iv| iv.phi == next && iv.pointer == pointer)
            .copied();
        if let Some(lead) = lead {
            out.push(Induction {
                phi,
                next,
                step: lead.step,
                pointer,
            });
        }
    }
    out
}

/// `v` as a constant on the iterations that continue the loop (`stay`: the latch condition and
/// the value that keeps the loop going).
fn continuing_const(v: Value, stay: Option<(Value, bool)>) -> Option<i64> {
    if let Some(c) = ll::const_int(v) {
        return Some(c);
    }
    let (cond, stays_when) = stay?;
    match ll::opcode(v)? {
        LLVMOpcode::LLVMSelect if ll::operand(v, 0) == cond => {
            ll::const_int(ll::operand(v, if stays_when { 1 } else { 2 }))
        }
        LLVMOpcode::LLVMZExt if ll::operand(v, 0) == cond => Some(i64::from(stays_when)),
        _ => None,
    }
}

/// The constant by which `next` advances `phi` on every iteration that continues the loop.
fn step_of(
    function: Value,
    phi: Value,
    next: Value,
    pointer: bool,
    stay: Option<(Value, bool)>,
) -> Option<i64> {
    match ll::opcode(next)? {
        LLVMOpcode::LLVMAdd if !pointer => {
            let (a, b) = (ll::operand(next, 0), ll::operand(next, 1));
            if a == phi {
                continuing_const(b, stay)
            } else if b == phi {
                continuing_const(a, stay)
            } else {
                None
            }
        }
        LLVMOpcode::LLVMGetElementPtr
            if pointer && ll::num_operands(next) == 2 && ll::operand(next, 0) == phi =>
        {
            let n = continuing_const(ll::operand(next, 1), stay)?;
            // SAFETY: `next` is a live GEP; the data layout belongs to the module of `function`.
            let size = unsafe {
                let elem = LLVMGetGEPSourceElementType(next);
                let dl = LLVMGetModuleDataLayout(LLVMGetGlobalParent(function));
                LLVMABISizeOfType(dl, elem)
            };
            n.checked_mul(i64::try_from(size).ok()?)
        }
        _ => None,
    }
}

/// Bounds on every iteration's value of `iv`, from the latch's exit test.
fn latch_bounds(l: &LoopView, iv: &Induction) -> Vec<Bound> {
    let Some(latch) = l.latch else {
        return Vec::new();
    };
    let Some((cond, t, f)) = ll::conditional_branch(latch) else {
        return Vec::new();
    };
    let stay_true = match (l.blocks.contains(&t), l.blocks.contains(&f)) {
        (true, false) => true,
        (false, true) => false,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for fact in branch_facts(cond, stay_true) {
        // Facts on `next` that let the loop go on hold for every later iteration's value; the
        // first iteration satisfies them too because the loop was entered.
        match fact {
            Fact::Upper { value, bound } if value == iv.next => out.push(bound),
            Fact::NotEqual(a, b) if a == iv.next || b == iv.next => {
                let other = if a == iv.next { b } else { a };
                {
                    out.push(Bound {
                        limit: other,
                        minus: iv.step,
                    });
                }
            }
            _ => {}
        }
    }
    // The limit is used inside the loop, where it must dominate the use: a limit computed in
    // the loop is only usable through the header phi that carries it into the next iteration
    // (`iv.next < tail.next` at the latch is `iv < tail` in the next iteration).
    out.into_iter()
        .filter_map(|bound| {
            let in_loop =
                ll::opcode(bound.limit).is_some() && l.blocks.contains(&ll::block_of(bound.limit));
            if !in_loop {
                return Some(bound);
            }
            ll::instructions(l.header)
                .into_iter()
                .take_while(|i| ll::opcode(*i) == Some(LLVMOpcode::LLVMPHI))
                .find(|phi| {
                    ll::phi_incoming(*phi)
                        .iter()
                        .any(|&(v, b)| b == latch && v == bound.limit)
                })
                .map(|phi| Bound {
                    limit: phi,
                    ..bound
                })
        })
        .collect()
}

/// Bounds on `iv` in a block whose path facts are `facts` (latch bounds not included).
pub fn path_bounds(iv: &Induction, facts: &[(Fact, usize)]) -> Vec<Bound> {
    let mut out = Vec::new();
    for (fact, _) in facts {
        match *fact {
            Fact::Upper { value, bound } if value == iv.phi => out.push(bound),
            Fact::Upper { value, bound } if value == iv.next => out.push(Bound {
                limit: bound.limit,
                minus: bound.minus.saturating_add(iv.step),
            }),
            Fact::NotEqual(a, b) if a == iv.phi || b == iv.phi => out.push(Bound {
                limit: if a == iv.phi { b } else { a },
                minus: iv.step,
            }),
            _ => {}
        }
    }
    out
}

/// Facts that hold when the branch on `cond` goes to its true (`taken_true`) or false side.
pub fn branch_facts(cond: Value, taken_true: bool) -> Vec<Fact> {
    let mut out = Vec::new();
    match ll::opcode(cond) {
        Some(LLVMOpcode::LLVMAnd) if taken_true => {
            out.extend(branch_facts(ll::operand(cond, 0), true));
            out.extend(branch_facts(ll::operand(cond, 1), true));
        }
        Some(LLVMOpcode::LLVMOr) if !taken_true => {
            out.extend(branch_facts(ll::operand(cond, 0), false));
            out.extend(branch_facts(ll::operand(cond, 1), false));
        }
        Some(LLVMOpcode::LLVMICmp) => {
            let (a, b) = (ll::operand(cond, 0), ll::operand(cond, 1));
            let Some(pred) = ll::icmp_predicate(cond) else {
                return out;
            };
            use LLVMIntPredicate::*;
            let upper = |value, limit, minus| Fact::Upper {
                value,
                bound: Bound { limit, minus },
            };
            let fact = match (pred, taken_true) {
                (LLVMIntULT, true) | (LLVMIntUGE, false) => Some(upper(a, b, 1)),
                (LLVMIntUGT, true) | (LLVMIntULE, false) => Some(upper(b, a, 1)),
                (LLVMIntULE, true) | (LLVMIntUGT, false) => Some(upper(a, b, 0)),
                (LLVMIntUGE, true) | (LLVMIntULT, false) => Some(upper(b, a, 0)),
                (LLVMIntEQ, false) | (LLVMIntNE, true) => Some(Fact::NotEqual(a, b)),
                _ => None,
            };
            out.extend(fact);
        }
        _ => {}
    }
    out
}

/// An inner loop that walks the window `[start, end)` of a range `[0, len)` checked before the
/// loop (`end <= len - minus`, the bounds check of a slice `a[start..end]`): its induction
/// variable, counted from the window's start (`start: Some`, the loop exits at
/// `end - start`) or the absolute index (`start: None`, the loop exits at `end`), can look
/// ahead past `end` up to the range's last element. This is what lets a CSR row loop
/// (`x[col[e]]` over `col[row_start[r]..row_start[r + 1]]`) prefetch the next rows' elements
/// instead of stopping at its own row's end, as Ainsworth & Jones' look-ahead `e + d` does
/// when the nested loops are flattened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The window's start (elements), when the induction variable counts from it.
    pub start: Option<Value>,
    /// The window's end: the exit test's limit is `end` or `end - start`.
    pub end: Value,
    /// The checked length of the whole range.
    pub len: Value,
    /// `end <= len - minus`.
    pub minus: i64,
    /// The exit test's bound the window was found from: `iv <= latch.limit - latch.minus` in
    /// every iteration, with `latch.limit` (`end` or `end - start`) computed before the loop.
    pub latch: Bound,
}

/// The windows of induction variable `iv` of inner loop `l`: for its exit test's limit `end`
/// or `end - start` (computed before the loop), one window per upper bound on `end` among
/// `entry_facts`, the path facts of the loop's only entry block (see
/// [`FunctionLoopViews::path_facts`]). Empty when the exit test is not of that form or no
/// check bounds `end`. The caller must check that the loads the look-ahead clones index the
/// range with `iv` (see `chain::indexes_window`).
pub fn windows(l: &LoopView, iv: &Induction, entry_facts: &[(Fact, usize)]) -> Vec<Window> {
    // The look-ahead index is computed in the induction variable's type and clamped to a
    // 64-bit limit: only `i64` (`usize`) induction variables, so the clamp cannot wrap.
    // SAFETY: `iv.phi` is a live integer or pointer phi.
    let width = unsafe { llvm_sys::core::LLVMGetIntTypeWidth(ll::type_of(iv.phi)) };
    if iv.pointer || width != 64 {
        return Vec::new();
    }
    let Some((_, latch_bounds)) = l.inductions.iter().find(|(i, _)| i.phi == iv.phi) else {
        return Vec::new();
    };
    let outside = |v: Value| ll::opcode(v).is_none_or(|_| !l.blocks.contains(&ll::block_of(v)));
    let mut out = Vec::new();
    for latch_bound in latch_bounds {
        if !outside(latch_bound.limit) || !ll::is_small_int(ll::type_of(latch_bound.limit)) {
            continue;
        }
        let (end, start) = match ll::opcode(latch_bound.limit) {
            Some(LLVMOpcode::LLVMSub) => (
                ll::operand(latch_bound.limit, 0),
                Some(ll::operand(latch_bound.limit, 1)),
            ),
            _ => (latch_bound.limit, None),
        };
        for (fact, _) in entry_facts {
            if let Fact::Upper { value, bound } = *fact {
                let same = value == end || strip_ext(value) == strip_ext(end);
                if same && ll::is_small_int(ll::type_of(bound.limit)) && bound.minus >= 0 {
                    let w = Window {
                        start,
                        end,
                        len: bound.limit,
                        minus: bound.minus,
                        latch: *latch_bound,
                    };
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        }
    }
    // Windows of one start only: the look-ahead's limits are `len - start` for that start.
    if let Some(first) = out.first().copied() {
        out.retain(|w| w.start == first.start);
    }
    out
}

/// Looks through integer extensions.
pub fn strip_ext(mut v: Value) -> Value {
    while matches!(
        ll::opcode(v),
        Some(LLVMOpcode::LLVMZExt | LLVMOpcode::LLVMSExt)
    ) {
        v = ll::operand(v, 0);
    }
    v
}
