// The C++ side of the Hallows pass plugin: registration with LLVM's new PassBuilder (whose API is
// inline C++ taking std::function, so it cannot be reached from Rust) and the analyses the C API
// does not offer (LoopInfo, ScalarEvolution, BlockFrequencyInfo), handed to Rust as plain C structs.
//
// Built with -fno-rtti and without linking libLLVM: every LLVM symbol used here must be exported
// by the host's libLLVM (rustc's libLLVM exports fewer symbols than Debian's).

#include "hallows_shim.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/AssumptionCache.h"
#include "llvm/Analysis/BlockFrequencyInfo.h"
#include "llvm/Analysis/BranchProbabilityInfo.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/IR/BasicBlock.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Plugins/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Transforms/Utils/CodeExtractor.h"

#include <cstring>

#include <algorithm>
#include <vector>

using namespace llvm;

namespace {

/// What a Rust pass may ask for while it runs.
struct ShimContext {
  FunctionAnalysisManager *FAM;
};

/// A module pass that hands the module to the Rust pass `Pass`.
struct HallowsModulePass : PassInfoMixin<HallowsModulePass> {
  uint32_t Pass;
  uint32_t Flags;

  HallowsModulePass(uint32_t Pass, uint32_t Flags) : Pass(Pass), Flags(Flags) {}

  PreservedAnalyses run(Module &M, ModuleAnalysisManager &MAM) {
    auto &FAM = MAM.getResult<FunctionAnalysisManagerModuleProxy>(M).getManager();
    ShimContext Ctx{&FAM};
    uint32_t Changed = hallows_rust_run_pass(Pass, Flags, wrap(&M), &Ctx);
    return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
  }

  static bool isRequired() { return true; }
};

void addScheduled(ModulePassManager &MPM, uint32_t Mask) {
  // Fixed order: inventory sees the IR first, prefetch works on loops before the layout pass
  // decides the final block order.
  for (uint32_t Pass : {HALLOWS_PASS_INVENTORY, HALLOWS_PASS_PREFETCH_INSTRUMENT,
                        HALLOWS_PASS_PREFETCH, HALLOWS_PASS_RAILWAY})
    if (Mask & (1u << Pass))
      MPM.addPass(HallowsModulePass(Pass, 0));
}

bool parsePipelineName(StringRef Name, ModulePassManager &MPM) {
  if (Name == "hallows-inventory") {
    MPM.addPass(HallowsModulePass(HALLOWS_PASS_INVENTORY, 0));
    return true;
  }
  if (Name == "print<hallows-inventory>") {
    MPM.addPass(HallowsModulePass(HALLOWS_PASS_INVENTORY, HALLOWS_RUN_PRINT));
    return true;
  }
  if (Name == "hallows-railway") {
    MPM.addPass(HallowsModulePass(HALLOWS_PASS_RAILWAY, 0));
    return true;
  }
  if (Name == "hallows-prefetch-instrument") {
    MPM.addPass(HallowsModulePass(HALLOWS_PASS_PREFETCH_INSTRUMENT, 0));
    return true;
  }
  if (Name == "hallows-prefetch") {
    MPM.addPass(HallowsModulePass(HALLOWS_PASS_PREFETCH, 0));
    return true;
  }
  return false;
}

void registerCallbacks(PassBuilder &PB) {
  PB.registerPipelineParsingCallback(
      [](StringRef Name, ModulePassManager &MPM, ArrayRef<PassBuilder::PipelineElement>) {
        return parsePipelineName(Name, MPM);
      });
  PB.registerOptimizerEarlyEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel, ThinOrFullLTOPhase Phase) {
        addScheduled(MPM, hallows_rust_schedule(HALLOWS_EP_OPTIMIZER_EARLY,
                                                static_cast<uint32_t>(Phase)));
      });
  PB.registerOptimizerLastEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel, ThinOrFullLTOPhase Phase) {
        addScheduled(MPM, hallows_rust_schedule(HALLOWS_EP_OPTIMIZER_LAST,
                                                static_cast<uint32_t>(Phase)));
      });
  PB.registerFullLinkTimeOptimizationLastEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel) {
        addScheduled(MPM, hallows_rust_schedule(HALLOWS_EP_FULL_LTO_LAST,
                                                HALLOWS_PHASE_FULL_POSTLINK));
      });
}

Function *unwrapFunction(LLVMValueRef V) { return unwrap<Function>(V); }

} // namespace

static_assert(static_cast<uint32_t>(ThinOrFullLTOPhase::ThinLTOPreLink) == HALLOWS_PHASE_THIN_PRELINK,
              "ThinOrFullLTOPhase order changed");
static_assert(static_cast<uint32_t>(ThinOrFullLTOPhase::FullLTOPostLink) == HALLOWS_PHASE_FULL_POSTLINK,
              "ThinOrFullLTOPhase order changed");

extern "C" {

/// The plugin description; `llvmGetPassPluginInfo` (in Rust, so that the cdylib exports it)
/// returns it.
PassPluginLibraryInfo hallows_shim_plugin_info(void) {
  return {LLVM_PLUGIN_API_VERSION, "hallows", "0.1.0", registerCallbacks, nullptr};
}

size_t hallows_shim_loops(void *Opaque, LLVMValueRef FnRef, HallowsLoop *Out, size_t Capacity,
                          uint32_t *BlockLoop, size_t NumBlocks) {
  auto *Ctx = static_cast<ShimContext *>(Opaque);
  Function &F = *unwrapFunction(FnRef);
  if (F.isDeclaration())
    return 0;
  LoopInfo &LI = Ctx->FAM->getResult<LoopAnalysis>(F);
  ScalarEvolution &SE = Ctx->FAM->getResult<ScalarEvolutionAnalysis>(F);

  DenseMap<const BasicBlock *, uint32_t> BlockIndex;
  uint32_t Index = 0;
  for (BasicBlock &BB : F)
    BlockIndex[&BB] = Index++;

  // Preorder walk, siblings ordered by the position of their header in the function.
  std::vector<Loop *> Order;
  DenseMap<const Loop *, uint32_t> LoopIndex;
  auto ByHeader = [&](Loop *A, Loop *B) {
    return BlockIndex[A->getHeader()] < BlockIndex[B->getHeader()];
  };
  std::vector<Loop *> Stack(LI.begin(), LI.end());
  std::sort(Stack.begin(), Stack.end(), ByHeader);
  std::reverse(Stack.begin(), Stack.end());
  while (!Stack.empty()) {
    Loop *L = Stack.back();
    Stack.pop_back();
    LoopIndex[L] = static_cast<uint32_t>(Order.size());
    Order.push_back(L);
    std::vector<Loop *> Subs(L->getSubLoops().begin(), L->getSubLoops().end());
    std::sort(Subs.begin(), Subs.end(), ByHeader);
    for (auto It = Subs.rbegin(); It != Subs.rend(); ++It)
      Stack.push_back(*It);
  }

  for (size_t I = 0; I < Order.size() && I < Capacity; ++I) {
    Loop *L = Order[I];
    uint32_t Exiting = 0;
    for (BasicBlock *BB : L->blocks()) {
      for (BasicBlock *Succ : successors(BB)) {
        if (!L->contains(Succ)) {
          ++Exiting;
          break;
        }
      }
    }
    HallowsLoop &R = Out[I];
    R.header = wrap(L->getHeader());
    R.depth = L->getLoopDepth();
    R.parent = L->getParentLoop() ? LoopIndex[L->getParentLoop()] : HALLOWS_NO_LOOP;
    R.num_blocks = L->getNumBlocks();
    R.num_exiting = Exiting;
    R.trip_count = SE.getSmallConstantTripCount(L);
    R.max_trip_count = SE.getSmallConstantMaxTripCount(L);
  }

  if (BlockLoop) {
    size_t I = 0;
    for (BasicBlock &BB : F) {
      if (I >= NumBlocks)
        break;
      Loop *L = LI.getLoopFor(&BB);
      BlockLoop[I++] = L ? LoopIndex[L] : HALLOWS_NO_LOOP;
    }
  }
  return Order.size();
}

int hallows_shim_block_frequencies(void *Opaque, LLVMValueRef FnRef, uint64_t *Out,
                                   size_t NumBlocks, uint64_t *EntryFrequency) {
  auto *Ctx = static_cast<ShimContext *>(Opaque);
  Function &F = *unwrapFunction(FnRef);
  if (F.isDeclaration())
    return 0;
  BlockFrequencyInfo &BFI = Ctx->FAM->getResult<BlockFrequencyAnalysis>(F);
  size_t I = 0;
  for (BasicBlock &BB : F) {
    if (I >= NumBlocks)
      return 0;
    Out[I++] = BFI.getBlockFreq(&BB).getFrequency();
  }
  if (EntryFrequency)
    *EntryFrequency = BFI.getEntryFreq().getFrequency();
  return I == NumBlocks ? 1 : 0;
}

void hallows_shim_invalidate(void *Opaque, LLVMValueRef FnRef) {
  auto *Ctx = static_cast<ShimContext *>(Opaque);
  Function &F = *unwrapFunction(FnRef);
  Ctx->FAM->invalidate(F, PreservedAnalyses::none());
}

int hallows_shim_edge_probabilities(void *Opaque, LLVMValueRef FnRef, uint32_t *Out,
                                    size_t NumEdges) {
  auto *Ctx = static_cast<ShimContext *>(Opaque);
  Function &F = *unwrapFunction(FnRef);
  if (F.isDeclaration())
    return 0;
  BranchProbabilityInfo &BPI = Ctx->FAM->getResult<BranchProbabilityAnalysis>(F);
  size_t I = 0;
  for (BasicBlock &BB : F) {
    const Instruction *Term = BB.getTerminator();
    if (!Term)
      return 0;
    unsigned N = Term->getNumSuccessors();
    for (unsigned S = 0; S < N; ++S) {
      if (I >= NumEdges)
        return 0;
      Out[I++] = BPI.getEdgeProbability(&BB, S).getNumerator();
    }
  }
  return I == NumEdges ? 1 : 0;
}

LLVMValueRef hallows_shim_extract_region(void *Opaque, LLVMValueRef FnRef,
                                         const LLVMBasicBlockRef *Blocks, size_t NumBlocks) {
  auto *Ctx = static_cast<ShimContext *>(Opaque);
  Function &F = *unwrapFunction(FnRef);
  SmallVector<BasicBlock *, 16> Region;
  for (size_t I = 0; I < NumBlocks; ++I)
    Region.push_back(unwrap(Blocks[I]));
  DominatorTree &DT = Ctx->FAM->getResult<DominatorTreeAnalysis>(F);
  BlockFrequencyInfo &BFI = Ctx->FAM->getResult<BlockFrequencyAnalysis>(F);
  BranchProbabilityInfo &BPI = Ctx->FAM->getResult<BranchProbabilityAnalysis>(F);
  AssumptionCache &AC = Ctx->FAM->getResult<AssumptionAnalysis>(F);
  CodeExtractor CE(Region, &DT, /*AggregateArgs=*/false, &BFI, &BPI, &AC,
                   /*AllowVarArgs=*/false, /*AllowAlloca=*/false,
                   /*AllocationBlock=*/nullptr, /*Suffix=*/"hallows.cold");
  if (!CE.isEligible())
    return nullptr;
  CodeExtractorAnalysisCache CEAC(F);
  Function *Out = CE.extractCodeRegion(CEAC);
  return Out ? wrap(static_cast<Value *>(Out)) : nullptr;
}

int hallows_shim_get_section_prefix(LLVMValueRef FnRef, char *Out, size_t Capacity) {
  Function &F = *unwrapFunction(FnRef);
  std::optional<StringRef> Prefix = F.getSectionPrefix();
  if (!Prefix)
    return -1;
  size_t N = std::min(Prefix->size(), Capacity);
  if (N)
    std::memcpy(Out, Prefix->data(), N);
  return static_cast<int>(Prefix->size());
}

void hallows_shim_set_section_prefix(LLVMValueRef FnRef, const char *Prefix) {
  unwrapFunction(FnRef)->setSectionPrefix(Prefix);
}

int hallows_shim_set_llvm_option(const char *Name, const char *Value) {
  auto &Options = cl::getRegisteredOptions(cl::SubCommand::getTopLevel());
  auto It = Options.find(Name);
  if (It == Options.end())
    return 0;
  // addOccurrence returns true on a parse error.
  return It->second->addOccurrence(0, Name, Value) ? 0 : 1;
}

} // extern "C"
