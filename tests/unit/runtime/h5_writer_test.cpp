//===- tests/unit/runtime/h5_writer_test.cpp - HDF5 output ---------------===//
//
// This file implements tests of write_h5, reading the file back with the
// HDF5 C API: dataset shapes, types and values, and the root attributes.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <hdf5.h>

#include <cmath>

namespace tem::rt {
namespace {

using test::data_error_of;
using test::TempDir;

std::string read_string_attribute(hid_t file, const char* name) {
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
    EXPECT_GE(attr, 0) << name;
    hid_t type = H5Aget_type(attr);
    EXPECT_TRUE(H5Tis_variable_str(type) > 0);
    char* value = nullptr;
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5T_CSET_UTF8);
    EXPECT_GE(H5Aread(attr, mem, &value), 0);
    std::string text = value ? value : "";
    H5free_memory(value);
    H5Tclose(mem);
    H5Tclose(type);
    H5Aclose(attr);
    return text;
}

std::vector<hsize_t> dataset_dims(hid_t ds) {
    hid_t space = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    if (rank == 0) {
        EXPECT_EQ(H5Sget_simple_extent_type(space), H5S_SCALAR);
    }
    H5Sclose(space);
    return dims;
}

TEST(H5Writer, DatasetsAndAttributes) {
    TempDir dir;
    std::string path = dir.file("out.h5");
    double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<Result> results = {
        Result{"bf", {2, 3}, DType::F64, {1, 2, 3, 4, 5, nan}},
        Result{"counts", {4}, DType::I64, {1, -2, 3, 4000000000}},
        Result{"peak", {2, 2}, DType::U16, {0, 65535, 7, 8}},
        Result{"total", {}, DType::F64, {42.5}},
        Result{"hit", {3}, DType::Bool, {1, 0, 1}},
        Result{"small", {2}, DType::F32, {0.5, -1.25}},
    };
    RunMetadata meta;
    meta.script_text = "input d\nout bf = sum(d, sig)\n";
    meta.params = {{"r", "16"}, {"cy", "63.5"}};
    meta.inputs = {{"d", "scan.npy"}};
    meta.tem_version = "0.1.0";
    write_h5(path, results, meta);

    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    EXPECT_EQ(read_string_attribute(file, "script"), meta.script_text);
    EXPECT_EQ(read_string_attribute(file, "params"), "cy=63.5\nr=16");
    EXPECT_EQ(read_string_attribute(file, "inputs"), "d=scan.npy");
    EXPECT_EQ(read_string_attribute(file, "tem_version"), "0.1.0");

    for (const Result& r : results) {
        SCOPED_TRACE(r.name);
        hid_t ds = H5Dopen2(file, r.name.c_str(), H5P_DEFAULT);
        ASSERT_GE(ds, 0);
        std::vector<hsize_t> dims = dataset_dims(ds);
        EXPECT_EQ(std::vector<int64_t>(dims.begin(), dims.end()), r.shape);
        hid_t type = H5Dget_type(ds);
        if (r.dtype == DType::Bool) {
            EXPECT_EQ(H5Tget_class(type), H5T_ENUM);
        } else {
            EXPECT_EQ(H5Tget_size(type), dtype_size(r.dtype));
            EXPECT_EQ(H5Tget_class(type), dtype_is_float(r.dtype) ? H5T_FLOAT : H5T_INTEGER);
        }
        if (dtype_is_int(r.dtype)) {
            EXPECT_EQ(H5Tget_sign(type), dtype_is_signed_int(r.dtype) ? H5T_SGN_2 : H5T_SGN_NONE);
        }
        // Read back converted to double.
        std::vector<double> values(r.values.size());
        if (r.dtype == DType::Bool) {
            std::vector<int8_t> raw(r.values.size());
            ASSERT_GE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), 0);
            for (size_t i = 0; i < raw.size(); ++i) values[i] = raw[i];
        } else {
            ASSERT_GE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                      0);
        }
        for (size_t i = 0; i < values.size(); ++i) {
            if (std::isnan(r.values[i])) {
                EXPECT_TRUE(std::isnan(values[i]));
            } else {
                EXPECT_EQ(values[i], r.values[i]);
            }
        }
        H5Tclose(type);
        H5Dclose(ds);
    }
    H5Fclose(file);
}

TEST(H5Writer, Errors) {
    TempDir dir;
    std::string path = dir.file("dup.h5");
    std::vector<Result> dup = {Result{"a", {1}, DType::F64, {1}},
                               Result{"a", {1}, DType::F64, {2}}};
    EXPECT_EQ(data_error_of([&] { write_h5(path, dup, {}); }),
              path + ": error: two results are named 'a'");
    std::string bad = dir.file("missing/dir/out.h5");
    std::string msg = data_error_of([&] { write_h5(bad, {}, {}); });
    EXPECT_EQ(msg.rfind(bad + ": error: cannot write HDF5 output", 0), 0u) << msg;
}

} // namespace
} // namespace tem::rt
