//===- compiler/jit/jit.h - ORC LLJIT wrapper -----------------------------===//
//
// This file declares the JIT: one LLJIT per run, targeting the host CPU
// (its features from LLVM, as -march=native would), an O3 pipeline with the
// host's TargetTransformInfo so loops vectorize for AVX2/AVX-512, and symbol
// lookup in the tem process for the libm functions kernels call.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
namespace orc {
class LLJIT;
}
} // namespace llvm

namespace tem::compiler {

class Jit {
public:
    /// Creates the JIT for the host. Throws std::runtime_error when LLVM
    /// cannot target the host (an internal error).
    Jit();
    ~Jit();

    /// A fresh module configured for the host (data layout and triple).
    std::unique_ptr<llvm::Module> new_module(llvm::LLVMContext& ctx, const std::string& name) const;
    /// Sets the host CPU and features on a function (so the vectorizer sees AVX2).
    void configure_function(llvm::Function& f) const;
    /// Optimizes at O3, returns the optimized module's text when `want_text`,
    /// adds the module to the JIT and returns the address of `symbol`.
    ///
    /// Kernel cache: the machine code of a module is kept in a file named by
    /// a 128-bit hash of its unoptimised IR, the host CPU and features, LLVM's
    /// version and this build of tem, under $TEM_KERNEL_CACHE (a directory,
    /// or `off`), else $XDG_CACHE_HOME/tem/kernels or ~/.cache/tem/kernels.
    /// A module seen before (the same script on data of the same geometry)
    /// is loaded instead of compiled. Files carry a checksum: a damaged or
    /// foreign file is ignored and replaced; a directory that cannot be
    /// written means no cache. Not used when `text` is requested.
    void* compile(std::unique_ptr<llvm::Module> module, std::unique_ptr<llvm::LLVMContext> ctx,
                  const std::string& symbol, std::string* text);

    /// Kernels loaded from the cache / compiled by this Jit so far.
    int cached_kernels() const { return cached_; }
    int compiled_kernels() const { return compiled_; }

    const std::string& cpu() const { return cpu_; }
    /// Width in bits of the host's widest vector registers the kernels use:
    /// 512 with AVX-512F, 256 with AVX2, else 128. TEM_VECTOR_BITS (128, 256
    /// or 512) overrides it, so that tests can exercise other lane counts.
    int vector_bits() const { return vector_bits_; }

private:
    /// Links an object file into a library of its own and returns the
    /// address of `symbol`, or null when the object cannot be linked.
    void* add_object(llvm::StringRef object, const std::string& symbol);

    std::unique_ptr<llvm::orc::LLJIT> jit_;
    std::unique_ptr<llvm::TargetMachine> tm_;
    std::string cpu_, features_;
    int vector_bits_ = 128;
    std::string cache_dir_;  ///< empty: no kernel cache
    bool timing_passes_ = false;  ///< LLVM options given (TEM_LLVM_ARGS): pass timings are kept and reported
    int cached_ = 0, compiled_ = 0;
};

} // namespace tem::compiler
