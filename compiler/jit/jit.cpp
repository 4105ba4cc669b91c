//===- compiler/jit/jit.cpp - ORC LLJIT wrapper ---------------------------===//
//
// This file implements the JIT wrapper around LLVM 19's ORC LLJIT.
//
//===----------------------------------------------------------------------===//
#include "compiler/jit/jit.h"

#include "compiler/frame_transforms.h"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace tem::compiler {

namespace {

std::string take(llvm::Error err) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << err;
    return os.str();
}

} // namespace

Jit::Jit() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
    });
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) throw std::runtime_error("internal error: cannot target the host: " + take(jtmb.takeError()));
    jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    cpu_ = jtmb->getCPU();
    features_ = jtmb->getFeatures().getString();
    auto has = [&](const char* f) { return ("," + features_ + ",").find(std::string(",+") + f + ",") != std::string::npos; };
    vector_bits_ = has("avx512f") ? 512 : has("avx2") ? 256 : 128;
    if (const char* v = std::getenv("TEM_VECTOR_BITS")) {
        int bits = std::atoi(v);
        if (bits == 128 || bits == 256 || (bits == 512 && vector_bits_ == 512)) vector_bits_ = bits;
    }
    auto tm = jtmb->createTargetMachine();
    if (!tm) throw std::runtime_error("internal error: cannot create the target machine: " + take(tm.takeError()));
    tm_ = std::move(*tm);
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!jit) throw std::runtime_error("internal error: cannot create the JIT: " + take(jit.takeError()));
    jit_ = std::move(*jit);
    auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(jit_->getDataLayout().getGlobalPrefix());
    if (!gen) throw std::runtime_error("internal error: " + take(gen.takeError()));
    jit_->getMainJITDylib().addGenerator(std::move(*gen));
    // Runtime helpers the kernels call, by address (the tem binary does not
    // export its symbols dynamically).
    llvm::orc::SymbolMap helpers;
    helpers[jit_->mangleAndIntern("tem_fft2_part")] = {llvm::orc::ExecutorAddr::fromPtr(&tem_fft2_part),
                                                        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    if (auto err = jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(helpers))))
        throw std::runtime_error("internal error: " + take(std::move(err)));
}

Jit::~Jit() = default;

std::unique_ptr<llvm::Module> Jit::new_module(llvm::LLVMContext& ctx, const std::string& name) const {
    auto m = std::make_unique<llvm::Module>(name, ctx);
    m->setDataLayout(jit_->getDataLayout());
    m->setTargetTriple(tm_->getTargetTriple().str());
    return m;
}

void Jit::configure_function(llvm::Function& f) const {
    f.addFnAttr("target-cpu", cpu_);
    f.addFnAttr("target-features", features_);
    f.addFnAttr(llvm::Attribute::NoUnwind);
}

void* Jit::compile(std::unique_ptr<llvm::Module> module, std::unique_ptr<llvm::LLVMContext> ctx,
                   const std::string& symbol, std::string* text) {
    std::string verify;
    llvm::raw_string_ostream vs(verify);
    if (llvm::verifyModule(*module, &vs))
        throw std::runtime_error("internal error: generated code does not verify: " + vs.str());
    {
        llvm::LoopAnalysisManager lam;
        llvm::FunctionAnalysisManager fam;
        llvm::CGSCCAnalysisManager cgam;
        llvm::ModuleAnalysisManager mam;
        llvm::PipelineTuningOptions pto;
        pto.LoopVectorization = true;
        pto.SLPVectorization = true;
        llvm::PassBuilder pb(tm_.get(), pto);
        pb.registerModuleAnalyses(mam);
        pb.registerCGSCCAnalyses(cgam);
        pb.registerFunctionAnalyses(fam);
        pb.registerLoopAnalyses(lam);
        pb.crossRegisterProxies(lam, fam, cgam, mam);
        llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
        mpm.run(*module, mam);
    }
    if (text) {
        llvm::raw_string_ostream os(*text);
        module->print(os, nullptr);
    }
    if (auto err = jit_->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(ctx))))
        throw std::runtime_error("internal error: cannot add the kernel: " + take(std::move(err)));
    auto sym = jit_->lookup(symbol);
    if (!sym) throw std::runtime_error("internal error: cannot find the kernel: " + take(sym.takeError()));
    return sym->toPtr<void*>();
}

} // namespace tem::compiler
