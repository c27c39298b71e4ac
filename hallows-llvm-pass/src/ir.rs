//! Thin views of LLVM IR over the C API.
//!
//! Every view carries the lifetime `'m` of the module pass run that produced it: LLVM owns the
//! IR, and a view must not outlive the call in which LLVM handed the module to Rust. Views are
//! `Copy` handles; reading through them is safe because the module is not changed while a view is
//! read (passes collect first, then change).

use std::ffi::c_char;
use std::marker::PhantomData;

use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMBasicBlockRef, LLVMContextRef, LLVMModuleRef, LLVMValueRef};
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMOpcode};

/// Name of the metadata kind that holds profile data.
const PROF_KIND: &str = "prof";

/// A module handed to a Rust pass.
#[derive(Clone, Copy, Debug)]
pub struct Module<'m> {
    raw: LLVMModuleRef,
    _m: PhantomData<&'m ()>,
}

/// A function (defined or declared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function<'m> {
    raw: LLVMValueRef,
    _m: PhantomData<&'m ()>,
}

/// A basic block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Block<'m> {
    raw: LLVMBasicBlockRef,
    _m: PhantomData<&'m ()>,
}

/// An instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction<'m> {
    raw: LLVMValueRef,
    _m: PhantomData<&'m ()>,
}

/// Reads the name of any value; empty when it has none.
fn value_name(raw: LLVMValueRef) -> String {
    let mut len = 0usize;
    // SAFETY: `raw` is a live value (view invariant); LLVM returns a pointer to `len` bytes owned
    // by the value, which we copy before returning.
    unsafe {
        let ptr = LLVMGetValueName2(raw, &mut len);
        bytes_to_string(ptr, len)
    }
}

/// Copies `len` bytes at `ptr` into a `String` (lossy UTF-8); empty for a null pointer.
///
/// # Safety
/// `ptr` must be null or point to `len` readable bytes.
unsafe fn bytes_to_string(ptr: *const c_char, len: usize) -> String {
    if ptr.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: caller guarantees `len` readable bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    String::from_utf8_lossy(bytes).into_owned()
}

impl<'m> Module<'m> {
    /// Wraps a module handed over by LLVM.
    ///
    /// # Safety
    /// `raw` must be a live module that stays alive, and is not changed except through these
    /// views, for all of `'m`.
    pub unsafe fn from_raw(raw: LLVMModuleRef) -> Self {
        Module {
            raw,
            _m: PhantomData,
        }
    }

    /// The module identifier (source file name, codegen-unit name, ...).
    pub fn identifier(self) -> String {
        let mut len = 0usize;
        // SAFETY: the module is live; the returned bytes are owned by it and copied at once.
        unsafe {
            let ptr = LLVMGetModuleIdentifier(self.raw, &mut len);
            bytes_to_string(ptr, len)
        }
    }

    /// The module's LLVM context.
    pub fn context(self) -> LLVMContextRef {
        // SAFETY: the module is live.
        unsafe { LLVMGetModuleContext(self.raw) }
    }

    /// All functions, declarations included, in module order.
    pub fn functions(self) -> Vec<Function<'m>> {
        let mut out = Vec::new();
        // SAFETY: the module is live; iteration follows LLVM's own function list.
        unsafe {
            let mut f = LLVMGetFirstFunction(self.raw);
            while !f.is_null() {
                out.push(Function {
                    raw: f,
                    _m: PhantomData,
                });
                f = LLVMGetNextFunction(f);
            }
        }
        out
    }

    /// The kind id of `!prof` metadata in this module's context.
    pub fn prof_kind(self) -> u32 {
        // SAFETY: the context is live; the name pointer and length describe a valid string.
        unsafe {
            LLVMGetMDKindIDInContext(
                self.context(),
                PROF_KIND.as_ptr().cast(),
                PROF_KIND.len() as u32,
            )
        }
    }
}

impl<'m> Function<'m> {
    /// Wraps a function handed over by the shim.
    ///
    /// # Safety
    /// `raw` must be a live function of the module being run, alive for `'m`.
    pub unsafe fn from_raw(raw: LLVMValueRef) -> Self {
        Function {
            raw,
            _m: PhantomData,
        }
    }

    /// True when the function has the enum attribute `name` (e.g. `optnone`, `cold`).
    pub fn has_attribute(self, name: &str) -> bool {
        // SAFETY: the function is live; the name pointer/length describe a valid string.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len());
            kind != 0
                && !LLVMGetEnumAttributeAtIndex(self.raw, LLVMAttributeFunctionIndex, kind)
                    .is_null()
        }
    }

    /// Adds the enum attribute `name` (e.g. `cold`, `noinline`) unless it is unknown.
    pub fn add_attribute(self, module: Module<'m>, name: &str) {
        // SAFETY: the function and its context are live.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len());
            if kind != 0 {
                let attr = LLVMCreateEnumAttribute(module.context(), kind, 0);
                LLVMAddAttributeAtIndex(self.raw, LLVMAttributeFunctionIndex, attr);
            }
        }
    }

    /// True when the function is placed in an explicit section (prefixes would not apply).
    pub fn has_explicit_section(self) -> bool {
        // SAFETY: the function is live; LLVM returns null or a NUL-terminated string it owns.
        unsafe {
            let s = LLVMGetSection(self.raw);
            !s.is_null() && *s != 0
        }
    }

    /// Call instructions that call this function.
    pub fn call_sites(self) -> Vec<Instruction<'m>> {
        let mut out = Vec::new();
        // SAFETY: the function is live; the use list is walked without changing it.
        unsafe {
            let mut u = LLVMGetFirstUse(self.raw);
            while !u.is_null() {
                let user = LLVMGetUser(u);
                if !LLVMIsACallInst(user).is_null() && LLVMGetCalledValue(user) == self.raw {
                    out.push(Instruction {
                        raw: user,
                        _m: PhantomData,
                    });
                }
                u = LLVMGetNextUse(u);
            }
        }
        out
    }

    /// The underlying LLVM value.
    pub fn raw(self) -> LLVMValueRef {
        self.raw
    }

    /// The (mangled) symbol name.
    pub fn name(self) -> String {
        value_name(self.raw)
    }

    /// True for a declaration without a body.
    pub fn is_declaration(self) -> bool {
        // SAFETY: the function is live.
        unsafe { LLVMIsDeclaration(self.raw) != 0 }
    }

    /// Number of basic blocks.
    pub fn block_count(self) -> usize {
        // SAFETY: the function is live.
        unsafe { LLVMCountBasicBlocks(self.raw) as usize }
    }

    /// Basic blocks in function order (the entry block first).
    pub fn blocks(self) -> Vec<Block<'m>> {
        let mut out = Vec::with_capacity(self.block_count());
        // SAFETY: the function is live; iteration follows its block list.
        unsafe {
            let mut b = LLVMGetFirstBasicBlock(self.raw);
            while !b.is_null() {
                out.push(Block {
                    raw: b,
                    _m: PhantomData,
                });
                b = LLVMGetNextBasicBlock(b);
            }
        }
        out
    }

    /// The function entry count from `!prof !{!"function_entry_count", i64 N}`, if present.
    pub fn entry_count(self, module: Module<'m>) -> Option<u64> {
        let prof_kind = module.prof_kind();
        let mut count = 0usize;
        // SAFETY: [1] the function is live; [2] LLVM allocates `count` entries that we read only
        // below `count` and free exactly once with `LLVMDisposeValueMetadataEntries`.
        unsafe {
            let entries = LLVMGlobalCopyAllMetadata(self.raw, &mut count);
            if entries.is_null() {
                return None;
            }
            let mut result = None;
            for i in 0..count as u32 {
                if LLVMValueMetadataEntriesGetKind(entries, i) != prof_kind {
                    continue;
                }
                let md = LLVMValueMetadataEntriesGetMetadata(entries, i);
                let node = LLVMMetadataAsValue(module.context(), md);
                let ops = md_operands(node);
                if let Some((tag, rest)) = ops.split_first() {
                    if matches!(
                        md_string(*tag).as_deref(),
                        Some("function_entry_count" | "synthetic_function_entry_count")
                    ) {
                        result = rest.first().and_then(|v| const_int(*v));
                    }
                }
            }
            LLVMDisposeValueMetadataEntries(entries);
            result
        }
    }
}

impl<'m> Block<'m> {
    /// Wraps a block handed over by LLVM or the shim.
    ///
    /// # Safety
    /// `raw` must be a live block of the module being run, alive for `'m`.
    pub unsafe fn from_raw(raw: LLVMBasicBlockRef) -> Self {
        Block {
            raw,
            _m: PhantomData,
        }
    }

    /// The underlying LLVM block.
    pub fn raw(self) -> LLVMBasicBlockRef {
        self.raw
    }

    /// The block's name; empty when unnamed (rustc discards value names in release builds).
    pub fn name(self) -> String {
        // SAFETY: the block is live; a block is always convertible to its value.
        value_name(unsafe { LLVMBasicBlockAsValue(self.raw) })
    }

    /// Moves this block right after `after` in their function.
    pub fn move_after(self, after: Block<'m>) {
        // SAFETY: both blocks are live and belong to the same function.
        unsafe { LLVMMoveBasicBlockAfter(self.raw, after.raw) }
    }

    /// True when the block starts with an exception-handling pad (`landingpad`, `cleanuppad`,
    /// `catchpad`, `catchswitch`).
    pub fn is_eh_pad(self) -> bool {
        self.instructions().first().is_some_and(|i| {
            matches!(
                i.opcode(),
                LLVMOpcode::LLVMLandingPad
                    | LLVMOpcode::LLVMCleanupPad
                    | LLVMOpcode::LLVMCatchPad
                    | LLVMOpcode::LLVMCatchSwitch
            )
        })
    }

    /// Instructions in order.
    pub fn instructions(self) -> Vec<Instruction<'m>> {
        let mut out = Vec::new();
        // SAFETY: the block is live; iteration follows its instruction list.
        unsafe {
            let mut i = LLVMGetFirstInstruction(self.raw);
            while !i.is_null() {
                out.push(Instruction {
                    raw: i,
                    _m: PhantomData,
                });
                i = LLVMGetNextInstruction(i);
            }
        }
        out
    }

    /// The terminator, if the block is well formed.
    pub fn terminator(self) -> Option<Instruction<'m>> {
        // SAFETY: the block is live.
        let raw = unsafe { LLVMGetBasicBlockTerminator(self.raw) };
        (!raw.is_null()).then_some(Instruction {
            raw,
            _m: PhantomData,
        })
    }
}

impl<'m> Instruction<'m> {
    /// The underlying LLVM value.
    pub fn raw(self) -> LLVMValueRef {
        self.raw
    }

    /// The opcode.
    pub fn opcode(self) -> LLVMOpcode {
        // SAFETY: the instruction is live.
        unsafe { LLVMGetInstructionOpcode(self.raw) }
    }

    /// Adds the enum attribute `name` to this call site (e.g. `cold`).
    pub fn add_call_attribute(self, module: Module<'m>, name: &str) {
        // SAFETY: the instruction is a live call; its context is live.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len());
            if kind != 0 {
                let attr = LLVMCreateEnumAttribute(module.context(), kind, 0);
                LLVMAddCallSiteAttribute(self.raw, LLVMAttributeFunctionIndex, attr);
            }
        }
    }

    /// True for a call whose callee or call site is `returns_twice` (setjmp and the like).
    pub fn calls_returns_twice(self) -> bool {
        const NAME: &str = "returns_twice";
        // SAFETY: the instruction is live; the called value is only inspected, and attribute
        // lookups on a function or call site do not change them.
        unsafe {
            if LLVMIsACallInst(self.raw).is_null() {
                return false;
            }
            let kind = LLVMGetEnumAttributeKindForName(NAME.as_ptr().cast(), NAME.len());
            if !LLVMGetCallSiteEnumAttribute(self.raw, LLVMAttributeFunctionIndex, kind).is_null() {
                return true;
            }
            let callee = LLVMGetCalledValue(self.raw);
            !callee.is_null()
                && !LLVMIsAFunction(callee).is_null()
                && !LLVMGetEnumAttributeAtIndex(callee, LLVMAttributeFunctionIndex, kind).is_null()
        }
    }

    /// True for a `phi`.
    pub fn is_phi(self) -> bool {
        self.opcode() == LLVMOpcode::LLVMPHI
    }

    /// True for a conditional `br`.
    pub fn is_conditional_branch(self) -> bool {
        // SAFETY: the instruction is live and `LLVMIsConditional` is only called on a `br`.
        self.opcode() == LLVMOpcode::LLVMBr && unsafe { LLVMIsConditional(self.raw) != 0 }
    }

    /// Successor blocks of a terminator, in operand order (duplicates kept).
    pub fn successors(self) -> Vec<Block<'m>> {
        // SAFETY: the instruction is live; indices stay below `LLVMGetNumSuccessors`.
        unsafe {
            let n = LLVMGetNumSuccessors(self.raw);
            (0..n)
                .map(|i| Block {
                    raw: LLVMGetSuccessor(self.raw, i),
                    _m: PhantomData,
                })
                .collect()
        }
    }

    /// The weights of `!prof !{!"branch_weights", ...}`, one per successor, if present.
    pub fn branch_weights(self, prof_kind: u32) -> Option<Vec<u64>> {
        self.branch_weights_with_origin(prof_kind).map(|(w, _)| w)
    }

    /// True when the terminator carries branch weights measured by a profile, not derived from
    /// `llvm.expect` (`likely`/`unlikely`, `#[cold]`), which LLVM marks with `!"expected"`.
    pub fn has_profile_weights(self, prof_kind: u32) -> bool {
        matches!(self.branch_weights_with_origin(prof_kind), Some((_, false)))
    }

    /// Branch weights and whether they carry the `!"expected"` marker.
    pub fn branch_weights_with_origin(self, prof_kind: u32) -> Option<(Vec<u64>, bool)> {
        // SAFETY: the instruction is live; `LLVMGetMetadata` returns null or a metadata value.
        let node = unsafe { LLVMGetMetadata(self.raw, prof_kind) };
        if node.is_null() {
            return None;
        }
        // SAFETY: `node` is a live MDNode wrapped as a value.
        let ops = unsafe { md_operands(node) };
        let (tag, rest) = ops.split_first()?;
        // SAFETY: operands of a live node are live values.
        if unsafe { md_string(*tag) }.as_deref() != Some("branch_weights") {
            return None;
        }
        let mut expected = false;
        let mut weights = Vec::with_capacity(rest.len());
        for op in rest {
            // SAFETY: operands of a live node are live values.
            match unsafe { md_string(*op) } {
                Some(marker) => expected |= marker == "expected",
                // SAFETY: as above.
                None => weights.push(unsafe { const_int(*op) }?),
            }
        }
        (!weights.is_empty()).then_some((weights, expected))
    }
}

/// Operands of an MDNode wrapped as a value.
///
/// # Safety
/// `node` must be a live metadata value wrapping an MDNode.
unsafe fn md_operands(node: LLVMValueRef) -> Vec<LLVMValueRef> {
    // SAFETY: caller guarantees an MDNode; the buffer has exactly the operand count.
    unsafe {
        if LLVMIsAMDNode(node).is_null() {
            return Vec::new();
        }
        let n = LLVMGetMDNodeNumOperands(node) as usize;
        let mut ops = vec![std::ptr::null_mut(); n];
        LLVMGetMDNodeOperands(node, ops.as_mut_ptr());
        ops
    }
}

/// The text of an MDString operand, or `None` for any other operand.
///
/// # Safety
/// `value` must be null or a live value.
unsafe fn md_string(value: LLVMValueRef) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let mut len = 0u32;
    // SAFETY: `LLVMGetMDString` returns null for non-strings, else `len` bytes owned by LLVM.
    unsafe {
        if LLVMIsAMDString(value).is_null() {
            return None;
        }
        let ptr = LLVMGetMDString(value, &mut len);
        (!ptr.is_null()).then(|| bytes_to_string(ptr, len as usize))
    }
}

/// The zero-extended value of a `ConstantInt` operand.
///
/// # Safety
/// `value` must be null or a live value.
unsafe fn const_int(value: LLVMValueRef) -> Option<u64> {
    if value.is_null() {
        return None;
    }
    // SAFETY: the value is live; `LLVMConstIntGetZExtValue` is only called on a ConstantInt.
    unsafe {
        if LLVMIsAConstantInt(value).is_null() {
            return None;
        }
        Some(LLVMConstIntGetZExtValue(value))
    }
}
