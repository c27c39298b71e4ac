// Dispatch threading for `hallows-railway` (see dispatch.rs for the decision): copies a loop's
// dispatch chain — the blocks from the loop's merge point down to its `switch` — into the end of
// each chosen predecessor, so every hot handler ends in its own copy of the dispatch branch
// ("threaded code": Bell, CACM 1973; Ertl & Gregg, JILP 2003). The copy is made like LLVM's
// JumpThreading makes its copies (clone, remap, fix the exits' phis, then rewrite every use
// outside the defining block through SSAUpdater).
//
// Built with -fno-rtti and without linking libLLVM, like hallows_shim.cpp.

#include "llvm/ADT/DenseMap.h"
#include "llvm/Analysis/ConstantFolding.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/BasicBlock.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ProfDataUtils.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/Local.h"
#include "llvm/Transforms/Utils/SSAUpdater.h"
#include "llvm/Transforms/Utils/ValueMapper.h"
#include "llvm-c/Core.h"

#include <algorithm>
#include <memory>
#include <cstddef>
#include <cstdint>

using namespace llvm;

namespace {

// Result codes shared with dispatch.rs (`ThreadError`).
constexpr int32_t ErrNotAChain = -1;
constexpr int32_t ErrNotDuplicable = -2;
constexpr int32_t ErrDebugUses = -3;
constexpr int32_t ErrBadPredecessor = -4;

/// Whether `I` may be copied: no tokens, no EH pads, no allocas (their frame slot would be
/// duplicated), nothing `noduplicate` or convergent.
bool isDuplicable(const Instruction &I) {
  if (I.getType()->isTokenTy() || I.isEHPad() || isa<AllocaInst>(I))
    return false;
  if (const auto *Call = dyn_cast<CallBase>(&I)) {
    if (Call->cannotDuplicate() || Call->isConvergent())
      return false;
    if (isa<InvokeInst>(Call) || isa<CallBrInst>(Call))
      return false;
  }
  if (isa<IndirectBrInst>(I))
    return false;
  return true;
}

/// The index of the edge from `From` to `To` when there is exactly one, else -1.
int singleEdge(const Instruction *Term, const BasicBlock *To) {
  int Found = -1;
  for (unsigned I = 0, E = Term->getNumSuccessors(); I != E; ++I) {
    if (Term->getSuccessor(I) != To)
      continue;
    if (Found >= 0)
      return -1;
    Found = static_cast<int>(I);
  }
  return Found;
}

/// Checks everything before the IR is touched; returns 0 or an error code.
int32_t validate(ArrayRef<BasicBlock *> Chain, ArrayRef<BasicBlock *> Preds) {
  SmallPtrSet<BasicBlock *, 8> InChain(Chain.begin(), Chain.end());
  if (InChain.size() != Chain.size() || Chain.empty())
    return ErrNotAChain;
  Function *F = Chain.front()->getParent();
  if (Chain.front() == &F->getEntryBlock())
    return ErrNotAChain;
  for (size_t K = 0; K < Chain.size(); ++K) {
    BasicBlock *B = Chain[K];
    Instruction *Term = B->getTerminator();
    if (!Term || B->getParent() != F)
      return ErrNotAChain;
    if (!isa<BranchInst>(Term) && !isa<SwitchInst>(Term))
      return ErrNotAChain;
    // Inside the chain the only edges are B[k] -> B[k+1], exactly once each.
    for (BasicBlock *Succ : successors(B)) {
      bool Next = K + 1 < Chain.size() && Succ == Chain[K + 1];
      if (InChain.count(Succ) && !Next)
        return ErrNotAChain;
    }
    if (K + 1 < Chain.size() && singleEdge(Term, Chain[K + 1]) < 0)
      return ErrNotAChain;
    for (Instruction &I : *B) {
      if (!isDuplicable(I))
        return ErrNotDuplicable;
      // Debug records point at values through metadata, which SSAUpdater does not rewrite.
      if (I.isUsedByMetadata() || I.hasDbgRecords())
        return ErrDebugUses;
    }
  }
  SmallPtrSet<BasicBlock *, 16> Seen;
  for (BasicBlock *P : Preds) {
    if (!P || P->getParent() != F || InChain.count(P) || !Seen.insert(P).second)
      return ErrBadPredecessor;
    Instruction *Term = P->getTerminator();
    if (!Term || !isa<BranchInst>(Term) || singleEdge(Term, Chain.front()) < 0)
      return ErrBadPredecessor;
  }
  return 0;
}

/// Copies the chain once for predecessor `P`; records the copies of every block and value.
void copyChainFor(BasicBlock *P, ArrayRef<BasicBlock *> Chain, ValueToValueMapTy &VMap,
                  SmallVectorImpl<BasicBlock *> &Copies) {
  Function *F = Chain.front()->getParent();
  SmallPtrSet<BasicBlock *, 8> InChain(Chain.begin(), Chain.end());
  // The head's one-entry phis name values of the original chain: they are not remapped.
  SmallPtrSet<Instruction *, 8> HeadPhis;
  // Place the copy right after its predecessor: it is that predecessor's continuation.
  BasicBlock *InsertBefore = P->getNextNode();
  for (size_t K = 0; K < Chain.size(); ++K) {
    BasicBlock *B = Chain[K];
    BasicBlock *NB = BasicBlock::Create(B->getContext(), B->getName() + ".hallows.thread", F,
                                        InsertBefore);
    VMap[B] = NB;
    Copies.push_back(NB);
    BasicBlock *From = K == 0 ? P : Chain[K - 1];
    for (Instruction &I : *B) {
      if (auto *Phi = dyn_cast<PHINode>(&I)) {
        // A phi of the copy has one incoming edge. Inside the chain, take the copied value. At
        // the head, a value the chain defines (say `pc + 1` coming back through a handler) is
        // not the value at the end of `P` once `P` is reached from several copies: keep a
        // one-entry phi, like the COPY LLVM's TailDuplicator leaves in the predecessor, so the
        // SSA update below rewrites its operand to the value live out of `P`.
        Value *V = Phi->getIncomingValueForBlock(From);
        if (K == 0) {
          auto *Def = dyn_cast<Instruction>(V);
          if (Def && InChain.count(Def->getParent())) {
            PHINode *Copy = PHINode::Create(Phi->getType(), 1, Phi->getName() + ".thread");
            Copy->insertInto(NB, NB->end());
            Copy->addIncoming(V, P);
            HeadPhis.insert(Copy);
            VMap[Phi] = Copy;
          } else {
            VMap[Phi] = V;
          }
          continue;
        }
        auto It = VMap.find(V);
        VMap[Phi] = It != VMap.end() ? static_cast<Value *>(It->second) : V;
        continue;
      }
      Instruction *NI = I.clone();
      if (I.hasName())
        NI->setName(I.getName() + ".thread");
      NI->insertInto(NB, NB->end());
      VMap[&I] = NI;
    }
  }
  for (BasicBlock *NB : Copies)
    for (Instruction &I : *NB)
      if (!HeadPhis.count(&I))
        RemapInstruction(&I, VMap, RF_IgnoreMissingLocals | RF_NoModuleLevelChanges);
  // Every edge that leaves the chain now also leaves the copy: the target's phis take the
  // copied value for the new edge (one entry per edge, as for the original block).
  for (size_t K = 0; K < Chain.size(); ++K) {
    BasicBlock *B = Chain[K];
    BasicBlock *NB = Copies[K];
    SmallPtrSet<BasicBlock *, 8> Done;
    for (BasicBlock *Succ : successors(B)) {
      if (K + 1 < Chain.size() && Succ == Chain[K + 1])
        continue;
      if (!Done.insert(Succ).second)
        continue;
      for (PHINode &Phi : Succ->phis()) {
        unsigned N = Phi.getNumIncomingValues();
        for (unsigned I = 0; I < N; ++I) {
          if (Phi.getIncomingBlock(I) != B)
            continue;
          Value *V = Phi.getIncomingValue(I);
          auto It = VMap.find(V);
          Phi.addIncoming(It != VMap.end() ? static_cast<Value *>(It->second) : V, NB);
        }
      }
    }
  }
  // The predecessor now continues in its own copy.
  Instruction *Term = P->getTerminator();
  Term->setSuccessor(static_cast<unsigned>(singleEdge(Term, Chain.front())), Copies.front());
  for (PHINode &Phi : Chain.front()->phis())
    Phi.removeIncomingValue(P, /*DeletePHIIfEmpty=*/false);
}

/// Every value defined in the chain that is used outside its block has one definition per
/// copy once the chain is copied: rewrites those uses through SSAUpdater (which adds phis where
/// paths meet). `CopiesPerPred[C][K]` is predecessor `C`'s copy of `Chain[K]`, null when that
/// copy was deleted as unreachable (its values reach no use).
void rewriteOutsideUses(ArrayRef<BasicBlock *> Chain,
                        ArrayRef<SmallVector<BasicBlock *, 8>> CopiesPerPred,
                        ArrayRef<ValueToValueMapTy *> Maps) {
  SSAUpdater Updater;
  for (size_t K = 0; K < Chain.size(); ++K) {
    BasicBlock *B = Chain[K];
    for (Instruction &I : *B) {
      SmallVector<Use *, 16> ToRename;
      for (Use &U : I.uses()) {
        auto *User = cast<Instruction>(U.getUser());
        if (auto *UserPhi = dyn_cast<PHINode>(User)) {
          if (UserPhi->getIncomingBlock(U) == B)
            continue;
        } else if (User->getParent() == B) {
          continue;
        }
        ToRename.push_back(&U);
      }
      if (ToRename.empty())
        continue;
      Updater.Initialize(I.getType(), I.getName());
      Updater.AddAvailableValue(B, &I);
      for (size_t C = 0; C < CopiesPerPred.size(); ++C) {
        BasicBlock *Copy = CopiesPerPred[C][K];
        if (!Copy)
          continue;
        auto It = Maps[C]->find(&I);
        if (It == Maps[C]->end() || !It->second)
          continue;
        Updater.AddAvailableValue(Copy, It->second);
      }
      while (!ToRename.empty())
        Updater.RewriteUse(*ToRename.pop_back_val());
    }
  }
}

/// Most entries of a shared dispatch table (a switch on a wider or sparser condition keeps its
/// own jump tables).
constexpr uint64_t MaxTableEntries = 256;

/// The destination of every value `0..Entries` of `SI`'s condition, when `SI` can become a table
/// jump: non-negative cases below `MaxTableEntries`, and either a condition of at most 8 bits
/// (the table covers every value, holes take the default) or a default that is `unreachable`
/// (holes cannot be reached; they take the first case). Empty when it cannot.
SmallVector<BasicBlock *, 64> tableTargets(SwitchInst *SI) {
  SmallVector<BasicBlock *, 64> Targets;
  auto *Ty = cast<IntegerType>(SI->getCondition()->getType());
  if (SI->getNumCases() == 0 || Ty->getBitWidth() > 64)
    return Targets;
  uint64_t MaxCase = 0;
  for (auto Case : SI->cases()) {
    const APInt &V = Case.getCaseValue()->getValue();
    if (V.uge(MaxTableEntries))
      return Targets;
    MaxCase = std::max(MaxCase, V.getZExtValue());
  }
  BasicBlock *Default = SI->getDefaultDest();
  bool DefaultUnreachable = isa<UnreachableInst>(Default->getFirstNonPHIOrDbg());
  uint64_t Entries;
  BasicBlock *Hole;
  if (Ty->getBitWidth() <= 8) {
    Entries = uint64_t(1) << Ty->getBitWidth();
    Hole = DefaultUnreachable ? SI->case_begin()->getCaseSuccessor() : Default;
  } else if (DefaultUnreachable) {
    Entries = MaxCase + 1;
    Hole = SI->case_begin()->getCaseSuccessor();
  } else {
    return Targets;
  }
  if (Entries > MaxTableEntries)
    return Targets;
  Targets.assign(Entries, Hole);
  for (auto Case : SI->cases())
    Targets[Case.getCaseValue()->getZExtValue()] = Case.getCaseSuccessor();
  for (BasicBlock *T : Targets)
    if (T->isEHPad() || T == &T->getParent()->getEntryBlock())
      return {};
  return Targets;
}

/// Replaces `SI` by a load from `Table` and an `indirectbr` to the distinct `Targets`; every
/// destination's phis keep one entry for the block (an `indirectbr` has one edge per target).
void toTableJump(SwitchInst *SI, GlobalVariable *Table, ArrayRef<BasicBlock *> Targets,
                 ArrayRef<BasicBlock *> Distinct) {
  BasicBlock *B = SI->getParent();
  // Edges per destination now, and whether the destination stays.
  SmallDenseMap<BasicBlock *, unsigned, 32> OldEdges;
  for (BasicBlock *S : successors(B))
    ++OldEdges[S];
  SmallPtrSet<BasicBlock *, 32> Keep(Distinct.begin(), Distinct.end());
  IRBuilder<> Builder(SI);
  Value *Index = Builder.CreateZExt(SI->getCondition(), Builder.getInt64Ty(), "dispatch.index");
  Value *Slot = Builder.CreateInBoundsGEP(Table->getValueType(), Table,
                                          {Builder.getInt64(0), Index}, "dispatch.slot");
  LoadInst *Address = Builder.CreateAlignedLoad(Builder.getPtrTy(), Slot, Align(8),
                                                "dispatch.target");
  Address->setMetadata(LLVMContext::MD_invariant_load, MDNode::get(SI->getContext(), {}));
  IndirectBrInst *IB = Builder.CreateIndirectBr(Address, Distinct.size());
  for (BasicBlock *T : Distinct)
    IB->addDestination(T);
  // The switch's weights, summed per destination, so block placement keeps the profile.
  SmallVector<uint32_t, 64> Weights;
  if (extractBranchWeights(*SI, Weights) && Weights.size() == SI->getNumSuccessors()) {
    SmallDenseMap<BasicBlock *, uint64_t, 32> PerDest;
    for (unsigned I = 0, E = SI->getNumSuccessors(); I != E; ++I)
      PerDest[SI->getSuccessor(I)] += Weights[I];
    SmallVector<uint64_t, 64> Summed;
    for (BasicBlock *T : Distinct)
      Summed.push_back(PerDest.lookup(T));
    uint64_t Max = *std::max_element(Summed.begin(), Summed.end());
    // Branch weights are 32-bit: scale down as LLVM's own passes do.
    uint64_t Scale = Max > UINT32_MAX ? Max / UINT32_MAX + 1 : 1;
    SmallVector<uint32_t, 64> Out;
    for (uint64_t W : Summed)
      Out.push_back(static_cast<uint32_t>(W / Scale));
    IB->setMetadata(LLVMContext::MD_prof, MDBuilder(SI->getContext()).createBranchWeights(Out));
  }
  for (auto &[Dest, Count] : OldEdges) {
    unsigned Remove = Count - (Keep.count(Dest) ? 1 : 0);
    for (unsigned K = 0; K < Remove; ++K)
      for (PHINode &Phi : Dest->phis())
        Phi.removeIncomingValue(B, /*DeletePHIIfEmpty=*/false);
  }
  SI->eraseFromParent();
}

/// Gives the `switch`es ending `Blocks[0..NumBlocks]` (a dispatch and its copies: the same
/// condition type and the same destination for every value) one shared table of block
/// addresses, and replaces each by a load from it and an `indirectbr`: the computed-goto form
/// of CPython's and LuaJIT's dispatch. Every copy then jumps through the same table, whose
/// address the backend keeps in one register, instead of rebuilding the address of a jump
/// table of its own (`lea`, `movslq`, `add`, `jmp` become one memory-indirect `jmp`). Returns
/// the number of table entries, or 0 when nothing was changed (a switch that is too wide or
/// sparse, with a reachable default on a condition over 8 bits, or whose copies disagree).
int32_t tableDispatch(ArrayRef<BasicBlock *> Blocks) {
  SmallVector<SwitchInst *, 32> Switches;
  for (BasicBlock *B : Blocks) {
    auto *SI = dyn_cast_or_null<SwitchInst>(B->getTerminator());
    if (!SI)
      return 0;
    Switches.push_back(SI);
  }
  if (Switches.empty())
    return 0;
  SmallVector<BasicBlock *, 64> Targets = tableTargets(Switches.front());
  if (Targets.empty())
    return 0;
  Function *F = Switches.front()->getFunction();
  Type *CondTy = Switches.front()->getCondition()->getType();
  for (SwitchInst *SI : ArrayRef<SwitchInst *>(Switches).drop_front()) {
    if (SI->getFunction() != F || SI->getCondition()->getType() != CondTy ||
        tableTargets(SI) != Targets)
      return 0;
  }
  SmallVector<BasicBlock *, 64> Distinct;
  SmallPtrSet<BasicBlock *, 32> Seen;
  for (BasicBlock *T : Targets)
    if (Seen.insert(T).second)
      Distinct.push_back(T);
  SmallVector<Constant *, 256> Entries;
  for (BasicBlock *T : Targets)
    Entries.push_back(BlockAddress::get(F, T));
  auto *ArrayTy = ArrayType::get(PointerType::getUnqual(F->getContext()), Entries.size());
  auto *Table = new GlobalVariable(*F->getParent(), ArrayTy, /*isConstant=*/true,
                                   GlobalValue::PrivateLinkage,
                                   ConstantArray::get(ArrayTy, Entries),
                                   F->getName() + ".hallows.dispatch");
  Table->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  Table->setAlignment(Align(8));
  for (SwitchInst *SI : Switches)
    toTableJump(SI, Table, Targets, Distinct);
  return static_cast<int32_t>(Entries.size());
}


/// What copying the chain into one predecessor would fold away: instructions whose operands all
/// become constants, and conditional terminators whose condition does.
struct FoldGain {
  uint32_t Instructions = 0;
  uint32_t Branches = 0;
};

/// The constant `V` stands for, given the constants already known along one path, or null.
Constant *knownConstant(Value *V, const DenseMap<Value *, Constant *> &Known) {
  if (auto *C = dyn_cast<Constant>(V))
    return isa<GlobalValue>(C) || isa<BlockAddress>(C) ? nullptr : C;
  return Known.lookup(V);
}

/// Dry run of the folding for the path that enters the chain from `P`: the head's phis take
/// their incoming values from `P`; a copied instruction folds when every operand is then a
/// constant (memory is never read); the walk ends where a folded terminator leaves the chain.
FoldGain foldGain(BasicBlock *P, ArrayRef<BasicBlock *> Chain, const DataLayout &DL) {
  DenseMap<Value *, Constant *> Known;
  FoldGain Gain;
  for (size_t K = 0; K < Chain.size(); ++K) {
    BasicBlock *B = Chain[K];
    BasicBlock *From = K == 0 ? P : Chain[K - 1];
    for (Instruction &I : *B) {
      if (auto *Phi = dyn_cast<PHINode>(&I)) {
        if (Constant *C = knownConstant(Phi->getIncomingValueForBlock(From), Known))
          Known[Phi] = C;
        continue;
      }
      if (I.isTerminator()) {
        Value *Cond = nullptr;
        if (auto *Br = dyn_cast<BranchInst>(&I))
          Cond = Br->isConditional() ? Br->getCondition() : nullptr;
        else if (auto *SI = dyn_cast<SwitchInst>(&I))
          Cond = SI->getCondition();
        auto *C = Cond ? dyn_cast_or_null<ConstantInt>(knownConstant(Cond, Known)) : nullptr;
        if (!C)
          continue;
        ++Gain.Instructions;
        ++Gain.Branches;
        BasicBlock *Taken;
        if (auto *Br = dyn_cast<BranchInst>(&I))
          Taken = Br->getSuccessor(C->isZero() ? 1 : 0);
        else
          Taken = cast<SwitchInst>(&I)->findCaseValue(C)->getCaseSuccessor();
        if (K + 1 >= Chain.size() || Taken != Chain[K + 1])
          return Gain;
        continue;
      }
      if (I.mayReadOrWriteMemory() || I.mayHaveSideEffects())
        continue;
      SmallVector<Constant *, 4> Ops;
      for (Value *Op : I.operands()) {
        Constant *C = knownConstant(Op, Known);
        if (!C)
          break;
        Ops.push_back(C);
      }
      if (Ops.size() != I.getNumOperands())
        continue;
      if (Constant *C = ConstantFoldInstOperands(&I, Ops, DL)) {
        Known[&I] = C;
        ++Gain.Instructions;
      }
    }
  }
  return Gain;
}

/// Folds one predecessor's fresh copy of the chain: instructions whose operands are all
/// constants become those constants, constant conditional terminators become plain branches,
/// and copies no longer reached are deleted (their slot in `Copies` becomes null). Adds what
/// it folded to `Gain`.
void foldCopies(SmallVectorImpl<BasicBlock *> &Copies, const DataLayout &DL, FoldGain &Gain) {
  for (size_t K = 0; K < Copies.size(); ++K) {
    BasicBlock *NB = Copies[K];
    if (!NB)
      continue;
    if (K > 0 && pred_empty(NB)) {
      // The previous copy's folded branch no longer enters this one: neither it nor the copies
      // after it can run.
      SmallVector<BasicBlock *, 8> Dead;
      for (size_t D = K; D < Copies.size(); ++D) {
        Dead.push_back(Copies[D]);
        Copies[D] = nullptr;
      }
      DeleteDeadBlocks(Dead);
      return;
    }
    for (Instruction &I : make_early_inc_range(*NB)) {
      if (isa<PHINode>(I) || I.isTerminator() || I.mayReadOrWriteMemory() ||
          I.mayHaveSideEffects())
        continue;
      if (Constant *C = ConstantFoldInstruction(&I, DL)) {
        if (isa<GlobalValue>(C) || isa<BlockAddress>(C))
          continue;
        I.replaceAllUsesWith(C);
        I.eraseFromParent();
        ++Gain.Instructions;
      }
    }
    if (ConstantFoldTerminator(NB, /*DeleteDeadConditions=*/true)) {
      ++Gain.Instructions;
      ++Gain.Branches;
    }
  }
}

/// The blocks behind `Refs[0..N]`.
SmallVector<BasicBlock *, 8> unwrapBlocks(const LLVMBasicBlockRef *Refs, size_t N) {
  SmallVector<BasicBlock *, 8> Blocks;
  for (size_t I = 0; I < N; ++I)
    Blocks.push_back(unwrap(Refs[I]));
  return Blocks;
}

/// Copies `Chain` into the end of each block of `Preds` (`copyChainFor`), lets `EachCopy` change
/// each predecessor's copies (before any use outside the chain is rewritten), then rewrites those
/// uses (`rewriteOutsideUses`). Returns the copies: `[C][K]` is predecessor `C`'s copy of
/// `Chain[K]`.
SmallVector<SmallVector<BasicBlock *, 8>, 16>
copyChainInto(ArrayRef<BasicBlock *> Preds, ArrayRef<BasicBlock *> Chain,
              function_ref<void(SmallVectorImpl<BasicBlock *> &)> EachCopy) {
  // Per value of the chain, the copies of it, by the block that holds the copy.
  SmallVector<std::unique_ptr<ValueToValueMapTy>, 16> Owned;
  SmallVector<ValueToValueMapTy *, 16> Maps;
  SmallVector<SmallVector<BasicBlock *, 8>, 16> CopiesPerPred;
  for (BasicBlock *P : Preds) {
    Owned.push_back(std::make_unique<ValueToValueMapTy>());
    Maps.push_back(Owned.back().get());
    CopiesPerPred.emplace_back();
    copyChainFor(P, Chain, *Maps.back(), CopiesPerPred.back());
    EachCopy(CopiesPerPred.back());
  }
  rewriteOutsideUses(Chain, CopiesPerPred, Maps);
  return CopiesPerPred;
}

} // namespace

extern "C" {

/// Copies the dispatch chain `Chain[0..NumChain]` (each block branching to the next, the last
/// one ending in the dispatch branch) into the end of every block of `Preds[0..NumPreds]` (each
/// ending in a branch with exactly one edge to `Chain[0]`). Returns the number of copies made,
/// or a negative `ThreadError` code when nothing was changed. With `Table` set, the dispatch
/// `switch` and its copies then share one table of block addresses (`tableDispatch`);
/// `*TableEntries` receives its size, 0 when the switch could not become a table jump.
int32_t hallows_shim_thread_dispatch(const LLVMBasicBlockRef *ChainRefs, size_t NumChain,
                                     const LLVMBasicBlockRef *PredRefs, size_t NumPreds,
                                     int32_t Table, int32_t *TableEntries) {
  *TableEntries = 0;
  SmallVector<BasicBlock *, 8> Chain = unwrapBlocks(ChainRefs, NumChain);
  SmallVector<BasicBlock *, 8> Preds = unwrapBlocks(PredRefs, NumPreds);
  if (int32_t Err = validate(Chain, Preds))
    return Err;

  auto CopiesPerPred = copyChainInto(Preds, Chain, [](SmallVectorImpl<BasicBlock *> &) {});
  if (Table) {
    SmallVector<BasicBlock *, 32> Dispatches{Chain.back()};
    for (auto &Copies : CopiesPerPred)
      Dispatches.push_back(Copies.back());
    *TableEntries = tableDispatch(Dispatches);
  }
  return static_cast<int32_t>(Preds.size());
}

/// Merge threading: copies the chain `Chain[0..NumChain]` (a merge block, then blocks each
/// reached only from the one before) into the end of those blocks of `Preds[0..NumPreds]` (each
/// ending in a branch with exactly one edge to `Chain[0]`) along whose edge a conditional
/// terminator of the chain folds to a constant, then folds each copy. This is the threading of
/// LLVM's JumpThreading (a branch on a phi of constants, decided per incoming edge), extended
/// over a chain of blocks and with the copy size chosen by the profile instead of a fixed
/// threshold. Returns the number of copies made (0: nothing changed, no predecessor's path
/// folds a branch) or a negative `ThreadError` code; `*Folded` and `*Branches` receive the
/// instructions and the terminators folded away in all copies.
int32_t hallows_shim_thread_merge(const LLVMBasicBlockRef *ChainRefs, size_t NumChain,
                                  const LLVMBasicBlockRef *PredRefs, size_t NumPreds,
                                  int32_t *Folded, int32_t *Branches) {
  *Folded = 0;
  *Branches = 0;
  SmallVector<BasicBlock *, 8> Chain = unwrapBlocks(ChainRefs, NumChain);
  SmallVector<BasicBlock *, 8> Preds = unwrapBlocks(PredRefs, NumPreds);
  if (int32_t Err = validate(Chain, Preds))
    return Err;
  const DataLayout &DL = Chain.front()->getDataLayout();
  SmallVector<BasicBlock *, 16> Chosen;
  for (BasicBlock *P : Preds)
    if (foldGain(P, Chain, DL).Branches > 0)
      Chosen.push_back(P);
  // The original chain must keep a way in.
  if (Chosen.empty() || Chosen.size() >= static_cast<size_t>(pred_size(Chain.front())))
    return 0;

  FoldGain Gain;
  copyChainInto(Chosen, Chain,
                [&](SmallVectorImpl<BasicBlock *> &Copies) { foldCopies(Copies, DL, Gain); });
  *Folded = static_cast<int32_t>(Gain.Instructions);
  *Branches = static_cast<int32_t>(Gain.Branches);
  return static_cast<int32_t>(Chosen.size());
}

} // extern "C"
