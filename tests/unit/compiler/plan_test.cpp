//===- tests/unit/compiler/plan_test.cpp - Pass planning -----------------===//
#include "compiler/passes/eliminate_common_subexpressions.h"
#include "compiler/plan.h"
#include "stdlib/modules.h"
#include "tests/unit/test_inputs.h"

#include <gtest/gtest.h>

namespace tem {
namespace {

using testing::analyze_text;
using testing::MemoryInputs;

struct Planned {
    std::unique_ptr<testing::Analyzed> a;
    compiler::Plan plan;
};

Planned plan_text(const std::string& text) {
    MemoryInputs in;
    in.geometry = DatasetGeometry{{4, 3}, {8, 6}, DType::F32, "mem"};
    in.modules["stem"] = std::string(*stdlib_module("stem"));
    Planned p;
    p.a = analyze_text(text, in);
    EXPECT_TRUE(p.a->program) << p.a->errors();
    if (p.a->program) p.plan = compiler::plan_program(*p.a->program);
    return p;
}

TEST(Plan, IndependentReductionsShareOnePass) {
    auto p = plan_text("use stem\ninput d\nout a = sum(d)\nout b = sum(d, sig)\nout c = mean(d, nav)\n"
                       "out e = std(d, nav)\nout f = sum(d, sig, where = disk(4, 3, 2))\n");
    ASSERT_EQ(p.plan.passes.size(), 1u);
    ASSERT_EQ(p.plan.passes[0].stages.size(), 1u);
    EXPECT_EQ(p.plan.passes[0].stages[0].reductions.size(), 5u);
    EXPECT_FALSE(p.plan.passes[0].hoisted.empty());  // the disk mask
}

TEST(Plan, SameFrameDependencyIsALaterStage) {
    auto p = plan_text("input d\nout m = sum(d / sum(d, sig), nav)\n");
    ASSERT_EQ(p.plan.passes.size(), 1u);
    EXPECT_EQ(p.plan.passes[0].stages.size(), 2u);
}

TEST(Plan, NavResultNeedsASecondPass) {
    auto p = plan_text("input d\nout v = sum((d - mean(d, nav))**2, nav)\n");
    EXPECT_EQ(p.plan.passes.size(), 2u);
}

TEST(Plan, ChainOfNavDependenciesGivesThreePasses) {
    auto p = plan_text("input d\nlet m = mean(d, nav)\nlet s = max(abs(d - m), nav)\n"
                       "out x = sum(d / s, nav)\nout y = sum(d)\n");
    EXPECT_EQ(p.plan.passes.size(), 3u);
    // sum(d) rides along in the first pass.
    EXPECT_EQ(p.plan.passes[0].stages[0].reductions.size(), 2u);
}

TEST(Plan, ReductionOfResultsRunsAfterThePass) {
    auto p = plan_text("input d\nlet t = sum(d, sig)\nout u = t / max(t)\n");
    EXPECT_EQ(p.plan.passes.size(), 1u);
    // max(t) reduces a per-frame value over the scan: a later stage of the same pass.
    EXPECT_EQ(p.plan.in_pass.size(), 2u);
    EXPECT_EQ(p.plan.passes[0].stages.size(), 2u);
}

TEST(Plan, CommonSubexpressionsShareOneAccumulator) {
    MemoryInputs in;
    in.geometry = DatasetGeometry{{4, 3}, {8, 6}, DType::F32, "mem"};
    in.modules["stem"] = std::string(*stdlib_module("stem"));
    auto a = analyze_text("use stem\ninput d\nout y = com_y(d, 4, 3, 2)\nout x = com_x(d, 4, 3, 2)\n", in);
    ASSERT_TRUE(a->program) << a->errors();
    // Each of com_y and com_x: the total inside the disk and a numerator.
    EXPECT_EQ(compiler::plan_program(*a->program).in_pass.size(), 4u);
    compiler::eliminate_common_subexpressions(*a->program);
    // The total is shared by com_y and com_x.
    EXPECT_EQ(compiler::plan_program(*a->program).in_pass.size(), 3u);
}

TEST(Plan, StaticOutputsNeedNoPass) {
    auto p = plan_text("use stem\ninput d\nout m = disk(4, 3, 2)\nout n = count(disk(4, 3, 2))\n");
    EXPECT_TRUE(p.plan.passes.empty());
}

} // namespace
} // namespace tem
