//! Small helpers over LLVM's C API for the prefetch passes.
//!
//! Every function takes raw handles that come from the module the running pass was handed
//! (see `crate::entry::hallows_rust_run_pass`): LLVM keeps them alive for the whole pass, and
//! the prefetch passes only ever hand these helpers handles read from that module or created in
//! it. That is the one safety argument behind the `unsafe` blocks below.

use std::ffi::CString;

use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMBasicBlockRef, LLVMBuilderRef, LLVMTypeRef, LLVMValueRef};
use llvm_sys::{LLVMIntPredicate, LLVMOpcode, LLVMTypeKind};

/// A value handle of the module being run.
pub type Value = LLVMValueRef;
/// A block handle of the module being run.
pub type Bb = LLVMBasicBlockRef;

/// Opcode of `v` when it is an instruction.
pub fn opcode(v: Value) -> Option<LLVMOpcode> {
    // SAFETY: `v` is a live value of the module being run (module invariant above).
    unsafe { (!LLVMIsAInstruction(v).is_null()).then(|| LLVMGetInstructionOpcode(v)) }
}

/// Operand `i` of a user.
pub fn operand(v: Value, i: u32) -> Value {
    // SAFETY: live value (module invariant); callers index below `num_operands`.
    unsafe { LLVMGetOperand(v, i) }
}

/// Number of operands of a user (0 for non-users such as arguments).
pub fn num_operands(v: Value) -> u32 {
    // SAFETY: live value (module invariant); only users are asked.
    unsafe {
        if LLVMIsAUser(v).is_null() {
            0
        } else {
            LLVMGetNumOperands(v).max(0) as u32
        }
    }
}

/// Block of an instruction.
pub fn block_of(v: Value) -> Bb {
    // SAFETY: live instruction (module invariant).
    unsafe { LLVMGetInstructionParent(v) }
}

/// Instructions of a block in order.
pub fn instructions(bb: Bb) -> Vec<Value> {
    let mut out = Vec::new();
    // SAFETY: live block (module invariant); LLVM's own instruction list is followed.
    unsafe {
        let mut i = LLVMGetFirstInstruction(bb);
        while !i.is_null() {
            out.push(i);
            i = LLVMGetNextInstruction(i);
        }
    }
    out
}

/// Blocks of a function in order.
pub fn blocks(function: Value) -> Vec<Bb> {
    let mut out = Vec::new();
    // SAFETY: live function (module invariant).
    unsafe {
        let mut b = LLVMGetFirstBasicBlock(function);
        while !b.is_null() {
            out.push(b);
            b = LLVMGetNextBasicBlock(b);
        }
    }
    out
}

/// The function a block belongs to.
pub fn function_of(bb: Bb) -> Value {
    // SAFETY: live block (module invariant).
    unsafe { LLVMGetBasicBlockParent(bb) }
}

/// Terminator of a block (null for a block under construction).
pub fn terminator(bb: Bb) -> Value {
    // SAFETY: live block (module invariant).
    unsafe { LLVMGetBasicBlockTerminator(bb) }
}

/// Successors of a block.
pub fn successors(bb: Bb) -> Vec<Bb> {
    let t = terminator(bb);
    if t.is_null() {
        return Vec::new();
    }
    // SAFETY: `t` is the live terminator of `bb`; indices are below its successor count.
    unsafe {
        (0..LLVMGetNumSuccessors(t))
            .map(|i| LLVMGetSuccessor(t, i))
            .collect()
    }
}

/// Condition and (true, false) successors of a conditional branch.
pub fn conditional_branch(bb: Bb) -> Option<(Value, Bb, Bb)> {
    let t = terminator(bb);
    if t.is_null() || opcode(t) != Some(LLVMOpcode::LLVMBr) {
        return None;
    }
    // SAFETY: `t` is a live branch instruction.
    unsafe {
        if LLVMIsConditional(t) == 0 {
            return None;
        }
        Some((
            LLVMGetCondition(t),
            LLVMGetSuccessor(t, 0),
            LLVMGetSuccessor(t, 1),
        ))
    }
}

/// Signed value of an integer constant.
pub fn const_int(v: Value) -> Option<i64> {
    // SAFETY: live value (module invariant); only constant integers of at most 64 bits are read.
    unsafe {
        if LLVMIsAConstantInt(v).is_null() || LLVMGetIntTypeWidth(LLVMTypeOf(v)) > 64 {
            return None;
        }
        Some(LLVMConstIntGetSExtValue(v))
    }
}

/// Predicate of an `icmp`.
pub fn icmp_predicate(v: Value) -> Option<LLVMIntPredicate> {
    // SAFETY: live value (module invariant).
    (opcode(v) == Some(LLVMOpcode::LLVMICmp)).then(|| unsafe { LLVMGetICmpPredicate(v) })
}

/// Incoming (value, block) pairs of a phi.
pub fn phi_incoming(phi: Value) -> Vec<(Value, Bb)> {
    // SAFETY: `phi` is a live phi node; indices are below its incoming count.
    unsafe {
        (0..LLVMCountIncoming(phi))
            .map(|i| (LLVMGetIncomingValue(phi, i), LLVMGetIncomingBlock(phi, i)))
            .collect()
    }
}

/// Type of a value.
pub fn type_of(v: Value) -> LLVMTypeRef {
    // SAFETY: live value (module invariant).
    unsafe { LLVMTypeOf(v) }
}

/// Whether a type is a pointer.
pub fn is_pointer(t: LLVMTypeRef) -> bool {
    // SAFETY: live type of the module's context.
    unsafe { LLVMGetTypeKind(t) == LLVMTypeKind::LLVMPointerTypeKind }
}

/// Whether a type is an integer type of 64 bits or fewer.
pub fn is_small_int(t: LLVMTypeRef) -> bool {
    // SAFETY: live type of the module's context.
    unsafe {
        LLVMGetTypeKind(t) == LLVMTypeKind::LLVMIntegerTypeKind && LLVMGetIntTypeWidth(t) <= 64
    }
}

/// Debug line and column of an instruction, `(0, 0)` without a location.
pub fn debug_location(v: Value) -> (u32, u32) {
    // SAFETY: live instruction; both calls return 0 when it has no debug location.
    unsafe { (LLVMGetDebugLocLine(v), LLVMGetDebugLocColumn(v)) }
}

/// Name of a value (empty when unnamed).
pub fn name(v: Value) -> String {
    let mut len = 0usize;
    // SAFETY: live value; LLVM returns `len` bytes it owns, copied at once.
    unsafe {
        let p = LLVMGetValueName2(v, &mut len);
        if p.is_null() || len == 0 {
            return String::new();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned()
    }
}

/// Pointer operand of a load.
pub fn load_pointer(load: Value) -> Value {
    operand(load, 0)
}

/// Whether a load is volatile or atomic (never touched).
pub fn is_volatile_or_atomic(load: Value) -> bool {
    // SAFETY: live load instruction.
    unsafe {
        LLVMGetVolatile(load) != 0
            || LLVMGetOrdering(load) != llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
    }
}

/// A C string for LLVM names (interior NULs are replaced).
pub fn c_name(text: &str) -> CString {
    CString::new(text.replace('\0', "_")).expect("NULs replaced above")
}

/// A builder positioned before `inst`; dispose with [`dispose_builder`].
pub fn builder_before(inst: Value) -> LLVMBuilderRef {
    // SAFETY: `inst` is a live instruction; the builder lives in the module's context.
    unsafe {
        let ctx = LLVMGetTypeContext(LLVMTypeOf(inst));
        let b = LLVMCreateBuilderInContext(ctx);
        LLVMPositionBuilderBefore(b, inst);
        b
    }
}

/// Disposes of a builder made by [`builder_before`].
pub fn dispose_builder(b: LLVMBuilderRef) {
    // SAFETY: `b` was created by `builder_before` and is not used afterwards.
    unsafe { LLVMDisposeBuilder(b) }
}
