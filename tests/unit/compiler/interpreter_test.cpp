//===- tests/unit/compiler/interpreter_test.cpp - Reference evaluator ----===//
#include "compiler/interpreter.h"
#include "stdlib/modules.h"
#include "tests/unit/test_inputs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace tem {
namespace {

/// A float64 dataset held in memory.
class MemoryDataset : public rt::Dataset {
public:
    MemoryDataset(std::vector<int64_t> nav, std::vector<int64_t> sig, std::vector<double> values)
        : values_(std::move(values)) {
        nav_shape_ = std::move(nav);
        sig_shape_ = std::move(sig);
        dtype_ = DType::F64;
        int64_t stride = 8;
        sig_strides_.resize(sig_shape_.size());
        for (size_t i = sig_shape_.size(); i-- > 0;) {
            sig_strides_[i] = stride;
            stride *= sig_shape_[i];
        }
        frame_stride_ = stride;
        path_ = "mem";
        format_ = "memory";
    }
    const std::byte* frame(int64_t index) const override {
        return reinterpret_cast<const std::byte*>(values_.data()) + index * frame_stride_;
    }

private:
    std::vector<double> values_;
};

struct EvalRun {
    std::unique_ptr<testing::Analyzed> a;
    std::vector<rt::Result> results;
    const rt::Result& operator[](const std::string& name) const {
        for (const auto& r : results)
            if (r.name == name) return r;
        throw std::runtime_error("no result " + name);
    }
};

// A 2x3 scan of 2x2 frames with value = flat index.
EvalRun run(const std::string& text) {
    std::vector<double> v(24);
    for (int i = 0; i < 24; ++i) v[i] = i;
    MemoryDataset ds({2, 3}, {2, 2}, v);
    testing::MemoryInputs in;
    in.geometry = DatasetGeometry{{2, 3}, {2, 2}, DType::F64, "mem"};
    in.modules["stem"] = std::string(*stdlib_module("stem"));
    EvalRun r;
    r.a = testing::analyze_text(text, in);
    EXPECT_TRUE(r.a->program) << r.a->errors();
    if (!r.a->program) return r;
    compiler::Plan plan = compiler::plan_program(*r.a->program);
    r.results = compiler::interpret(*r.a->program, plan, &ds);
    return r;
}

TEST(Interpreter, SumsOverSigNavAll) {
    EvalRun r = run("input d\nout s = sum(d, sig)\nout f = sum(d, nav)\nout t = sum(d)\n");
    EXPECT_EQ(r["s"].shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(r["s"].values[0], 0 + 1 + 2 + 3);
    EXPECT_EQ(r["s"].values[5], 20 + 21 + 22 + 23);
    EXPECT_EQ(r["f"].shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(r["f"].values[0], 0 + 4 + 8 + 12 + 16 + 20);
    EXPECT_TRUE(r["t"].shape.empty());
    EXPECT_EQ(r["t"].values[0], 276);
}

// Sig-kind values are computed before the pass one node at a time over all
// pixels (Evaluator::columns): constants, coordinates of either axis,
// selects, modulo, f32 casts and mins must give what the element-wise
// definition gives at each pixel.
TEST(Interpreter, SigKindValuesOverWholeFrames) {
    EvalRun r = run(
        "input d\n"
        "out a = sum(d * ((if qy == 0 then hypot(qx - 0.5, 2) else min(f32(qx) / 3, 0.25)) + (qy + qx) % 2), sig)\n"
        "out m = sum(d, sig, where = qy + 1 > qx and qx < 1)\n");
    double w[4] = {std::sqrt(4.25), std::sqrt(4.25) + 1, 1, 0.25};
    for (int f = 0; f < 6; ++f) {
        double want = 0;
        for (int i = 0; i < 4; ++i) want += (4 * f + i) * w[i];
        EXPECT_NEAR(r["a"].values[static_cast<size_t>(f)], want, 1e-12) << "frame " << f;
        EXPECT_EQ(r["m"].values[static_cast<size_t>(f)], (4 * f) + (4 * f + 2));  // pixels (0, 0) and (1, 0)
    }
}

TEST(Interpreter, WhereAndAxisLists) {
    EvalRun r = run("input d\nout a = sum(d, sig, where = qx == 1)\nout b = sum(d, (qx))\n");
    EXPECT_EQ(r["a"].values[0], 1 + 3);
    EXPECT_EQ(r["b"].shape, (std::vector<int64_t>{2, 3, 2}));
    EXPECT_EQ(r["b"].values[1], 2 + 3);
}

TEST(Interpreter, VarianceAndStdArePopulationStatistics) {
    EvalRun r = run("input d\nout v = var(d, sig)\nout s = std(d, nav)\n");
    EXPECT_NEAR(r["v"].values[0], 1.25, 1e-12);  // var(0,1,2,3)
    // values 0,4,...,20: population std = 4 * sqrt(35/12)
    EXPECT_NEAR(r["s"].values[0], 4 * std::sqrt(35.0 / 12.0), 1e-12);
}

TEST(Interpreter, SameFrameNormalisation) {
    EvalRun r = run("input d\nout m = sum(d / sum(d, sig), nav)\n");
    double expect = 0;
    for (int f = 0; f < 6; ++f) expect += (4.0 * f) / (16.0 * f + 6);
    EXPECT_NEAR(r["m"].values[0], expect, 1e-12);
}

TEST(Interpreter, TwoPassVariance) {
    EvalRun r = run("input d\nout v = mean((d - mean(d, nav))**2, nav)\nout w = var(d, nav)\n");
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(r["v"].values[i], r["w"].values[i], 1e-9);
}

TEST(Interpreter, RoiSkipsFramesAndMarksThemNaN) {
    EvalRun r = run("input d\nroi rx < 2\nout s = sum(d, sig)\nout n = count(rx >= 0, nav)\nout c = argmax(d, sig)\n");
    EXPECT_TRUE(std::isnan(r["s"].values[2]));
    EXPECT_EQ(r["s"].values[1], 4 + 5 + 6 + 7);
    EXPECT_EQ(r["n"].values[0], 4);
    EXPECT_EQ(r["c"].values[2], 0);  // integer results are 0 outside the roi
    EXPECT_EQ(r["c"].values[0], 3);
}

TEST(Interpreter, GroupedReduction) {
    EvalRun r = run("input d\nout p = sum(d, sig, by = qx, bins = 2)\nout q = sum(d, sig, by = qx - 1, bins = 1)\n");
    EXPECT_EQ(r["p"].shape, (std::vector<int64_t>{2, 3, 2}));
    EXPECT_EQ(r["p"].values[0], 0 + 2);
    EXPECT_EQ(r["p"].values[1], 1 + 3);
    EXPECT_EQ(r["q"].values[0], 1 + 3);  // key -1 is dropped
}

TEST(Interpreter, ExtremaAndArgs) {
    EvalRun r = run("input d\nout a = argmax(d)\nout b = min(d, nav)\nout c = any(d > 22, sig)\nout e = all(d >= 0)\n");
    EXPECT_EQ(r["a"].values[0], 23);
    EXPECT_EQ(r["b"].values[3], 3);
    EXPECT_EQ(r["c"].values[5], 1);
    EXPECT_EQ(r["c"].values[0], 0);
    EXPECT_EQ(r["e"].values[0], 1);
}

TEST(Interpreter, StencilReadsOutsideTheFrameAreZero) {
    EvalRun r = run("input d\nout s = sum(d[qy, qx + 1], sig)\n");
    EXPECT_EQ(r["s"].values[0], 1 + 3);  // (0,0)<-1, (0,1)<-0 (outside), (1,0)<-3, (1,1)<-0
}

TEST(Interpreter, CentreOfMassIsNaNForEmptyFrames) {
    EvalRun r = run("use stem\ninput d\nout y = com_y(d, 0, 0, 0.5)\n");
    EXPECT_TRUE(std::isnan(r["y"].values[0]));   // frame 0 has 0 at (0,0)
    EXPECT_EQ(r["y"].values[1], 0);              // a single pixel at the centre
}

} // namespace
} // namespace tem
