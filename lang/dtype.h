//===- lang/dtype.h - Element types of tem values ------------------------===//
//
// This file implements the element types shared by the language (type
// inference), the compiler (code generation) and the runtime (readers and
// writers). It is header-only so that every library can use it without a
// link dependency.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tem {

/// The element types of LANGUAGE.md, in promotion order within each family.
enum class DType : uint8_t { Bool, U8, U16, U32, U64, I8, I16, I32, I64, F32, F64 };

inline constexpr DType kAllDTypes[] = {DType::Bool, DType::U8,  DType::U16, DType::U32,
                                       DType::U64,  DType::I8,  DType::I16, DType::I32,
                                       DType::I64,  DType::F32, DType::F64};

/// Size of one element in bytes (bool is stored as one byte, as in NumPy).
constexpr size_t dtype_size(DType t) {
    switch (t) {
    case DType::Bool: case DType::U8: case DType::I8: return 1;
    case DType::U16: case DType::I16: return 2;
    case DType::U32: case DType::I32: case DType::F32: return 4;
    case DType::U64: case DType::I64: case DType::F64: return 8;
    }
    return 0;
}

/// The tem spelling: "u16", "f32", ...
constexpr std::string_view dtype_name(DType t) {
    switch (t) {
    case DType::Bool: return "bool";
    case DType::U8: return "u8";
    case DType::U16: return "u16";
    case DType::U32: return "u32";
    case DType::U64: return "u64";
    case DType::I8: return "i8";
    case DType::I16: return "i16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    }
    return "?";
}

/// Parses a tem spelling ("u16") or a NumPy-style alias ("uint16", "float32").
inline std::optional<DType> parse_dtype(std::string_view s) {
    for (DType t : kAllDTypes)
        if (dtype_name(t) == s) return t;
    struct Alias { std::string_view name; DType type; };
    static constexpr Alias kAliases[] = {
        {"uint8", DType::U8},   {"uint16", DType::U16}, {"uint32", DType::U32},
        {"uint64", DType::U64}, {"int8", DType::I8},    {"int16", DType::I16},
        {"int32", DType::I32},  {"int64", DType::I64},  {"float32", DType::F32},
        {"float64", DType::F64}, {"float", DType::F64}, {"double", DType::F64}};
    for (const Alias& a : kAliases)
        if (a.name == s) return a.type;
    return std::nullopt;
}

constexpr bool dtype_is_float(DType t) { return t == DType::F32 || t == DType::F64; }
constexpr bool dtype_is_signed_int(DType t) {
    return t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64;
}
constexpr bool dtype_is_unsigned_int(DType t) {
    return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}
constexpr bool dtype_is_int(DType t) { return dtype_is_signed_int(t) || dtype_is_unsigned_int(t); }

} // namespace tem
