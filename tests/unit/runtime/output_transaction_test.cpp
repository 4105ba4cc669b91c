//===- tests/unit/runtime/output_transaction_test.cpp - Staged output ----===//
//
// This file implements tests of OutputTransaction and write_results: files
// appear only on commit, nothing is left behind on failure, output paths
// dispatch to the right writer, and folder mode builds new folders whole.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <unistd.h>

namespace tem::rt {
namespace {

namespace fs = std::filesystem;
using test::data_error_of;
using test::TempDir;
using test::write_bytes;

/// Names of the entries of `dir`, recursively, relative to it.
std::set<std::string> listing(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        names.insert(fs::relative(entry.path(), dir).string());
    return names;
}

Result image(const std::string& name) { return Result{name, {2, 2}, DType::F64, {1, 2, 3, 4}}; }

TEST(OutputTransaction, RenamesOnCommit) {
    TempDir dir;
    std::string final_path = dir.file("out.npy");
    {
        OutputTransaction tx;
        std::string temp = tx.stage(final_path);
        EXPECT_EQ(fs::path(temp).parent_path(), fs::path(dir.path()));
        EXPECT_EQ(
            fs::path(temp).filename().string().rfind(".out.npy.tmp-" + std::to_string(getpid()), 0),
            0u);
        write_npy(temp, image("a"));
        EXPECT_FALSE(fs::exists(final_path));
        tx.commit();
    }
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"out.npy"}));
}

TEST(OutputTransaction, RemovesStagedFilesWithoutCommit) {
    TempDir dir;
    {
        OutputTransaction tx;
        write_npy(tx.stage(dir.file("a.npy")), image("a"));
        write_npy(tx.stage(dir.file("b.npy")), image("b"));
        tx.stage(dir.file("never_written.npy"));
    }
    EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(OutputTransaction, DestinationMustBeWritable) {
    TempDir dir;
    OutputTransaction tx;
    std::string missing = dir.file("nodir/out.npy");
    EXPECT_EQ(data_error_of([&] { tx.stage(missing); }),
              missing + ": error: cannot write output: directory '" + dir.file("nodir") +
                  "' does not exist");
    write_bytes(dir.file("plain"), "x");
    std::string under_file = dir.file("plain/out.npy");
    EXPECT_EQ(data_error_of([&] { tx.stage(under_file); }),
              under_file + ": error: cannot write output: '" + dir.file("plain") +
                  "' is not a directory");
    if (::geteuid() != 0) {
        fs::create_directory(dir.file("ro"));
        fs::permissions(dir.file("ro"), fs::perms::owner_read | fs::perms::owner_exec);
        std::string ro = dir.file("ro/out.npy");
        EXPECT_EQ(data_error_of([&] { tx.stage(ro); }),
                  ro + ": error: cannot write output: " + dir.file("ro") + ": permission denied");
    }
}

TEST(WriteResults, SingleFileFormats) {
    TempDir dir;
    std::vector<Result> one = {image("bf")};
    {
        OutputTransaction tx;
        write_results(dir.file("bf.npy"), one, {}, tx);
        write_results(dir.file("bf.PNG"), one, {}, tx);
        write_results(dir.file("all.h5"), one, {}, tx);
        write_results(dir.file("all.hdf5"), one, {}, tx);
        EXPECT_EQ(listing(dir.path()).size(), 4u); // all still staged
        tx.commit();
    }
    EXPECT_EQ(listing(dir.path()),
              (std::set<std::string>{"bf.npy", "bf.PNG", "all.h5", "all.hdf5"}));
    EXPECT_EQ(read_array(dir.file("bf.npy")).values, one[0].values);
}

TEST(WriteResults, ErrorsLeaveNothing) {
    TempDir dir;
    std::vector<Result> two = {image("bf"), image("adf")};
    {
        OutputTransaction tx;
        std::string out = dir.file("r.npy");
        EXPECT_EQ(data_error_of([&] { write_results(out, two, {}, tx); }),
                  out +
                      ": error: .npy holds one result, but there are 2 (bf, adf); write them to a "
                      "folder (-o DIR/) or an .h5 file");
        out = dir.file("r.tif");
        EXPECT_EQ(data_error_of([&] { write_results(out, two, {}, tx); }).rfind(out + ": error: .tif holds one result", 0),
                  0u);
        out = dir.file("r.csv");
        EXPECT_NE(data_error_of([&] {
                      write_results(out, {image("bf")}, {}, tx);
                  }).find("unknown output format '.csv'"),
                  std::string::npos);
        // The writer fails after staging: the error names the user's path.
        out = dir.file("total.png");
        EXPECT_EQ(
            data_error_of([&] {
                write_results(out, {Result{"total", {}, DType::F64, {1}}}, {}, tx);
            }),
            out +
                ": error: cannot draw the scalar result 'total' as a PNG; write it to .npy or .h5");
        write_results(dir.file("ok.npy"), {image("bf")}, {}, tx);
        // No commit: the run failed.
    }
    EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(WriteResults, NewFolderAppearsOnCommit) {
    TempDir dir;
    std::vector<Result> results = {image("bf"), Result{"total", {}, DType::F64, {10}},
                                   Result{"profile", {5}, DType::F64, {1, 2, 3, 2, 1}}};
    std::string out = dir.file("runs/today/");
    {
        OutputTransaction tx;
        write_results(out, results, {}, tx);
        // Only the staging directory is visible before commit.
        auto names = listing(dir.path());
        ASSERT_FALSE(names.empty());
        for (const std::string& name : names) EXPECT_EQ(name.rfind(".runs.tmp-", 0), 0u) << name;
        tx.commit();
    }
    EXPECT_EQ(listing(dir.file("runs")),
              (std::set<std::string>{"today", "today/bf.npy", "today/bf.png", "today/total.npy",
                                     "today/profile.npy", "today/profile.png"}));
    EXPECT_EQ(listing(dir.path()).count("runs"), 1u);
    EXPECT_EQ(read_array(dir.file("runs/today/total.npy")).values, (std::vector<double>{10}));
}

TEST(WriteResults, NewFolderRemovedOnFailure) {
    TempDir dir;
    {
        OutputTransaction tx;
        write_results(dir.file("out"), {image("bf")}, {}, tx); // no extension: a folder
    }
    EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(WriteResults, ExistingFolderGetsFilesOnCommit) {
    TempDir dir;
    fs::create_directory(dir.file("res.v2"));
    write_bytes(dir.file("res.v2/keep.txt"), "x");
    write_bytes(dir.file("res.v2/bf.npy"), "old");
    {
        OutputTransaction tx;
        write_results(dir.file("res.v2"), {image("bf")}, {}, tx);
        EXPECT_EQ(test::read_bytes(dir.file("res.v2/bf.npy")), "old");
        tx.commit();
    }
    EXPECT_EQ(listing(dir.file("res.v2")), (std::set<std::string>{"keep.txt", "bf.npy", "bf.png"}));
    EXPECT_EQ(read_array(dir.file("res.v2/bf.npy")).values, image("bf").values);
    {
        OutputTransaction tx;
        write_results(dir.file("res.v2"), {image("adf")}, {}, tx);
    }
    EXPECT_EQ(listing(dir.file("res.v2")), (std::set<std::string>{"keep.txt", "bf.npy", "bf.png"}));
}

TEST(WriteResults, FileWhereFolderExpected) {
    TempDir dir;
    write_bytes(dir.file("out"), "x");
    OutputTransaction tx;
    std::string msg = data_error_of([&] { write_results(dir.file("out"), {image("bf")}, {}, tx); });
    EXPECT_NE(msg.find("exists and is not a folder"), std::string::npos) << msg;
}

} // namespace
} // namespace tem::rt
