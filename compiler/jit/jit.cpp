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
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/IR/PassTimingInfo.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/StandardInstrumentations.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <stdexcept>
#include <vector>

namespace tem::compiler {

namespace {

std::string take(llvm::Error err) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << err;
    return os.str();
}

/// Set when the LLVM options could not be parsed.
std::string& llvm_options_error() {
    static std::string error;
    return error;
}

/// The optimisation pipeline of every kernel (see Jit::compile).
constexpr const char* kPipeline =
    "function(simplifycfg,sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg,sroa,early-cse<memssa>,"
    "loop-mssa(licm,loop-rotate,licm),simplifycfg,instcombine<no-verify-fixpoint>,"
    "loop(indvars,loop-deletion,loop-unroll-full),gvn,instcombine<no-verify-fixpoint>,simplifycfg,dse,adce)";

/// A kernel cache file: this magic, the hash of the payload, the payload
/// (an ELF object).
constexpr char kCacheMagic[8] = {'T', 'E', 'M', 'K', 'C', '1', 0, 0};
/// Changes with every build of tem, so that a rebuilt compiler never
/// reuses code another build generated.
constexpr const char* kBuildStamp = __DATE__ " " __TIME__;

std::string hex128(llvm::XXH128_hash_t h) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return buf;
}

llvm::XXH128_hash_t hash_of(llvm::StringRef bytes) {
    return llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

/// The cache directory, created if needed; empty when there is none.
std::string kernel_cache_dir() {
    namespace fs = std::filesystem;
    std::string dir;
    if (const char* v = std::getenv("TEM_KERNEL_CACHE")) {
        if (std::string(v) == "off" || *v == 0) return "";
        dir = v;
    } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
        dir = std::string(x) + "/tem/kernels";
    } else if (const char* h = std::getenv("HOME"); h && *h) {
        dir = std::string(h) + "/.cache/tem/kernels";
    } else {
        return "";
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || ::access(dir.c_str(), W_OK | X_OK) != 0) return "";
    return dir;
}

/// The payload of a cache file, or empty when it is missing or damaged.
std::string read_cached(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (all.size() <= 24 || std::memcmp(all.data(), kCacheMagic, 8) != 0) return "";
    llvm::XXH128_hash_t want;
    std::memcpy(&want.high64, all.data() + 8, 8);
    std::memcpy(&want.low64, all.data() + 16, 8);
    std::string payload = all.substr(24);
    llvm::XXH128_hash_t got = hash_of(payload);
    if (got.high64 != want.high64 || got.low64 != want.low64) return "";
    return payload;
}

/// Writes a cache file under a temporary name and renames it, so that a
/// concurrent reader never sees a partial file; failures are ignored.
void write_cached(const std::string& path, llvm::StringRef payload) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary);
        if (!out) return;
        llvm::XXH128_hash_t h = hash_of(payload);
        out.write(kCacheMagic, 8);
        out.write(reinterpret_cast<const char*>(&h.high64), 8);
        out.write(reinterpret_cast<const char*>(&h.low64), 8);
        out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
        if (!out) {
            out.close();
            std::remove(tmp.c_str());
            return;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

/// Keeps the cache below kCacheFiles files: the oldest half goes.
void prune_cache(const std::string& dir) {
    namespace fs = std::filesystem;
    constexpr size_t kCacheFiles = 4096;
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".o") files.emplace_back(e.last_write_time(ec), e.path());
    if (files.size() < kCacheFiles) return;
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < files.size() / 2; ++i) fs::remove(files[i].second, ec);
}

} // namespace

Jit::Jit() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        // Loop strength reduction is off: the kernels' loops already step
        // their addresses directly, and it cost W7 7 ms of its 31 ms of
        // machine code generation for no measurable speed. The environment
        // variable TEM_LLVM_ARGS adds LLVM options (e.g. -time-passes).
        const char* argv[] = {"tem", "-disable-lsr"};
        std::string errors;
        llvm::raw_string_ostream es(errors);
        if (!llvm::cl::ParseCommandLineOptions(2, argv, "", &es, "TEM_LLVM_ARGS"))
            llvm_options_error() = "TEM_LLVM_ARGS: " + es.str();
    });
    if (!llvm_options_error().empty()) throw std::runtime_error(llvm_options_error());
    timing_passes_ = std::getenv("TEM_LLVM_ARGS") != nullptr;
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
    cache_dir_ = kernel_cache_dir();
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
    std::string cache_file;
    if (!cache_dir_.empty() && !text) {
        std::string key;
        llvm::raw_string_ostream ks(key);
        ks << kBuildStamp << '\n' << LLVM_VERSION_STRING << '\n' << cpu_ << '\n' << features_ << '\n';
        module->print(ks, nullptr);
        cache_file = cache_dir_ + "/" + hex128(hash_of(ks.str())) + ".o";
        std::string object = read_cached(cache_file);
        if (!object.empty()) {
            void* fn = add_object(object, symbol);
            if (fn) {
                ++cached_;
                return fn;
            }
        }
    }
    {
        llvm::LoopAnalysisManager lam;
        llvm::FunctionAnalysisManager fam;
        llvm::CGSCCAnalysisManager cgam;
        llvm::ModuleAnalysisManager mam;
        // Pass instrumentation (-time-passes) only when LLVM options were given.
        llvm::PassInstrumentationCallbacks pic;
        std::optional<llvm::StandardInstrumentations> si;
        if (timing_passes_) {
            si.emplace(module->getContext(), false);
            si->registerCallbacks(pic, &mam);
        }
        llvm::PassBuilder pb(tm_.get(), llvm::PipelineTuningOptions(), std::nullopt, timing_passes_ ? &pic : nullptr);
        pb.registerModuleAnalyses(mam);
        pb.registerCGSCCAnalyses(cgam);
        pb.registerFunctionAnalyses(fam);
        pb.registerLoopAnalyses(lam);
        pb.crossRegisterProxies(lam, fam, cgam, mam);
        // The kernels are one function with explicit vector loops and
        // nothing to inline: O3's function simplification without its
        // inliner, loop vectoriser, SLP vectoriser and the repeated rounds
        // that find nothing here. W7's optimisation went from 20 to 7 ms
        // with run times within the noise (docs/performance.md); the early
        // simplifycfg + instcombine before the loop passes matters (16
        // rings on u16 were 25% slower without it).
        llvm::ModulePassManager mpm;
        if (auto err = pb.parsePassPipeline(mpm, kPipeline))
            throw std::runtime_error("internal error: " + take(std::move(err)));
        mpm.run(*module, mam);
    }
    if (text) {
        llvm::raw_string_ostream os(*text);
        module->print(os, nullptr);
    }
    // Machine code, by the host's target machine (O3 code generation).
    llvm::SmallVector<char, 0> object;
    {
        llvm::raw_svector_ostream os(object);
        llvm::legacy::PassManager cg;
        if (tm_->addPassesToEmitFile(cg, os, nullptr, llvm::CodeGenFileType::ObjectFile))
            throw std::runtime_error("internal error: the target cannot emit object files");
        cg.run(*module);
    }
    if (timing_passes_) llvm::reportAndResetTimings();
    ++compiled_;
    llvm::StringRef bytes(object.data(), object.size());
    void* fn = add_object(bytes, symbol);
    if (!fn) throw std::runtime_error("internal error: cannot load the compiled kernel " + symbol);
    if (!cache_file.empty()) {
        write_cached(cache_file, bytes);
        prune_cache(cache_dir_);
    }
    return fn;
}

void* Jit::add_object(llvm::StringRef object, const std::string& symbol) {
    // Each object gets its own library, so that a cached object that fails
    // to link leaves nothing behind and its symbols never clash.
    std::string lib_name = "kernel" + std::to_string(cached_ + compiled_ + 1);
    auto lib = jit_->createJITDylib(lib_name);
    if (!lib) {
        llvm::consumeError(lib.takeError());
        return nullptr;
    }
    lib->addToLinkOrder(jit_->getMainJITDylib());
    auto buf = llvm::MemoryBuffer::getMemBufferCopy(object, symbol);
    if (auto err = jit_->addObjectFile(*lib, std::move(buf))) {
        llvm::consumeError(std::move(err));
        return nullptr;
    }
    auto sym = jit_->lookup(*lib, symbol);
    if (!sym) {
        llvm::consumeError(sym.takeError());
        return nullptr;
    }
    return sym->toPtr<void*>();
}

} // namespace tem::compiler
