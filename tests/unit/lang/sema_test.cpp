//===- tests/unit/lang/sema_test.cpp - Kinds, types, names ---------------===//
#include "lang/ir.h"
#include "tests/unit/test_inputs.h"

#include <gtest/gtest.h>

namespace tem {
namespace {

using testing::analyze_text;
using testing::MemoryInputs;

MemoryInputs scan(DType t = DType::U16) {
    MemoryInputs in;
    in.geometry = DatasetGeometry{{4, 3}, {8, 6}, t, "mem"};
    in.modules["stem"] = "fn disk(cy, cx, r) = hypot(qy - cy, qx - cx) < r\n";
    return in;
}

const ir::Node& out(const testing::Analyzed& a, const std::string& name) {
    for (const auto& o : a.program->outputs)
        if (o.name == name) return *o.value;
    throw std::runtime_error("no output " + name);
}

TEST(Sema, KindsOfReductions) {
    MemoryInputs in = scan();
    auto a = analyze_text("input d\nout s = sum(d, sig)\nout f = sum(d, nav)\nout t = sum(d)\nout m = qy < 3\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    const ir::Program& p = *a->program;
    EXPECT_EQ(ir::kind_of(p, out(*a, "s")), ir::Kind::Nav);
    EXPECT_EQ(ir::kind_of(p, out(*a, "f")), ir::Kind::Sig);
    EXPECT_EQ(ir::kind_of(p, out(*a, "t")), ir::Kind::Scalar);
    EXPECT_EQ(ir::kind_of(p, out(*a, "m")), ir::Kind::Sig);
}

TEST(Sema, PromotionRules) {
    MemoryInputs in = scan(DType::F32);
    auto a = analyze_text("input d\nlet x = d * d\nlet y = d * 2\nlet z = d + qy\nlet w = qy / 2\n"
                          "out a = sum(x, sig)\nout b = max(y, sig)\nout c = max(z, sig)\nout e = max(w, sig)\n"
                          "out g = min(d, sig)\nout h = count(d > 1, sig)\nout i = any(d > 1, sig)\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    EXPECT_EQ(out(*a, "a").type, DType::F64);          // sum is f64
    EXPECT_EQ(out(*a, "b").type, DType::F32);          // f32 * literal stays f32
    EXPECT_EQ(out(*a, "c").type, DType::F64);          // f32 + i64 coordinate -> f64
    EXPECT_EQ(out(*a, "e").type, DType::F64);          // int / int is true division
    EXPECT_EQ(out(*a, "g").type, DType::F32);          // min keeps the input type
    EXPECT_EQ(out(*a, "h").type, DType::I64);
    EXPECT_EQ(out(*a, "i").type, DType::Bool);
}

TEST(Sema, IntegerArithmeticPromotesToI64) {
    MemoryInputs in = scan(DType::U8);
    auto a = analyze_text("input d\nout a = max(d + d, sig)\nout b = max(u64(d) + 1, sig)\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    EXPECT_EQ(out(*a, "a").type, DType::I64);
    EXPECT_EQ(out(*a, "b").type, DType::U64);
}

TEST(Sema, ParamsFoldIntoConstants) {
    MemoryInputs in = scan();
    auto a = analyze_text("input d\nparam r = 2 * 3\nout m = r + 1\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    const ir::Node& m = out(*a, "m");
    EXPECT_EQ(m.op, ir::Op::Const);
    EXPECT_EQ(m.value, 7);
}

TEST(Sema, FnInliningSharesArguments) {
    MemoryInputs in = scan();
    auto a = analyze_text("input d\nfn twice(x) = x + x\nout t = sum(twice(d), sig)\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    const ir::Node& add = *out(*a, "t").operand();
    ASSERT_EQ(add.op, ir::Op::Add);
    EXPECT_EQ(add.args[0].get(), add.args[1].get());
}

TEST(Sema, ModuleFunctionsAreUsable) {
    MemoryInputs in = scan();
    auto a = analyze_text("use stem\ninput d\nout bf = sum(d, sig, where = disk(4, 3, 2))\n", in);
    ASSERT_TRUE(a->program) << a->errors();
}

TEST(Sema, Errors) {
    struct Case {
        const char* text;
        const char* message;
    } cases[] = {
        {"input d\nout a = sum(d, kx)", "'kx' is not an axis of 'd'; its axes are (ry, rx | qy, qx)"},
        {"input d\nout a = sum(dd, sig)", "unknown name 'dd'; did you mean 'd'?"},
        {"input d\nroi qy < 3\nout a = sum(d)", "roi must be nav-kind"},
        {"input d\nroi rx + 1\nout a = sum(d)", "roi must be a bool"},
        {"input d\nroi sum(d, sig) > 3\nout a = sum(d)", "roi must not depend on the data"},
        {"input d\nout a = sum(d, sig, bins = 3)", "'bins' needs 'by = KEY'"},
        {"input d\nout a = sum(d, sig, by = qy)", "'by' needs 'bins = N'"},
        {"input d\nout a = sum(d, sig, by = qy * 0.5, bins = 3)", "'by' must be an integer key"},
        {"input d\nout a = d * 2", "'a' is frame-kind"},
        {"input d\nfn f(x) = f(x)\nout a = f(1)", "functions cannot be recursive"},
        {"input d\nfn f(x, y) = x\nout a = f(1)", "'f' takes 2 arguments (x, y), got 1"},
        {"input d\nlet a = 1\nlet a = 2\nout b = a", "'a' is already defined"},
        {"input d\nparam p = qy\nout a = p", "must be a constant"},
        {"use nothing\ninput d\nout a = sum(d)", "unknown module 'nothing'"},
        {"input d\nout a = sum(d, sig, wher = qy < 2)", "unknown keyword 'wher'"},
        {"input d\nout a = hypot(qy)", "'hypot' takes 2 arguments, got 1"},
    };
    for (const Case& c : cases) {
        MemoryInputs in = scan();
        auto a = analyze_text(c.text, in);
        EXPECT_FALSE(a->program) << c.text;
        EXPECT_NE(a->errors().find(c.message), std::string::npos) << c.text << "\n" << a->errors();
    }
}

TEST(Sema, ArrayInputKindFromShape) {
    MemoryInputs in = scan();
    ArrayData dark{{8, 6}, DType::F32, std::make_shared<std::vector<double>>(48, 1.0), "mem"};
    ArrayData shift{{4, 3}, DType::F32, std::make_shared<std::vector<double>>(12, 0.0), "mem"};
    in.arrays["dark"] = dark;
    in.arrays["shift"] = shift;
    auto a = analyze_text("input d\ninput dark\ninput shift\nout s = dark + 0\nout n = shift + 0\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    EXPECT_EQ(ir::kind_of(*a->program, out(*a, "s")), ir::Kind::Sig);
    EXPECT_EQ(ir::kind_of(*a->program, out(*a, "n")), ir::Kind::Nav);
}

TEST(Sema, AmbiguousArrayShapeAsksForAxisNames) {
    MemoryInputs in;
    in.geometry = DatasetGeometry{{4, 4}, {4, 4}, DType::U16, "mem"};
    in.arrays["m"] = ArrayData{{4, 4}, DType::F32, std::make_shared<std::vector<double>>(16, 1.0), "mem"};
    auto a = analyze_text("input d\ninput m\nout s = sum(d * m)\n", in);
    EXPECT_FALSE(a->program);
    EXPECT_NE(a->errors().find("both the nav and the sig shape"), std::string::npos) << a->errors();
    MemoryInputs in2 = in;
    auto b = analyze_text("input d\ninput m[ry, rx]\nout s = sum(d * m)\n", in2);
    EXPECT_TRUE(b->program) << b->errors();
}

TEST(Sema, EvalModeBindsDAndNamesResults) {
    MemoryInputs in = scan();
    auto a = analyze_text("a = sum(d); sum(d, sig)", in, ParseMode::Eval);
    ASSERT_TRUE(a->program) << a->errors();
    ASSERT_EQ(a->program->outputs.size(), 2u);
    EXPECT_EQ(a->program->outputs[0].name, "a");
    EXPECT_EQ(a->program->outputs[1].name, "result");
}

TEST(Sema, RenamedAxes) {
    MemoryInputs in = scan();
    auto a = analyze_text("input d[y, x | ky, kx]\nout s = sum(d, (ky, kx))\nout t = sum(d, (y))\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    EXPECT_EQ(a->program->axes_text(), "(y, x | ky, kx)");
}

} // namespace
} // namespace tem
