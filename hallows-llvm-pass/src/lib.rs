//! The Hallows LLVM pass plugin.
