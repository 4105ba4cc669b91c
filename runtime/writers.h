//===- runtime/writers.h - Result files: npy, HDF5, PNG, folders ---------===//
//
// This file declares the result writers. Every writer stages its file under a
// temporary name in the destination directory; OutputTransaction::commit()
// renames all of them at the end of a successful run, and its destructor
// removes whatever was staged when the run failed, so that an error never
// leaves a partial output file behind.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/dtype.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tem::rt {

/// One materialised result. Values are kept as float64 in C order; `dtype` is
/// the element type the result has in the language and is written to files.
/// An empty shape is a scalar (one value).
struct Result {
    std::string name;
    std::vector<int64_t> shape;
    DType dtype = DType::F64;
    std::vector<double> values;
};

/// Metadata stored with HDF5 outputs (as attributes of the root group).
struct RunMetadata {
    std::string script_text;
    std::map<std::string, std::string> params;   ///< name -> value as text
    std::map<std::string, std::string> inputs;   ///< input name -> path
    std::string tem_version;
};

/// Collects staged output files and renames them into place on commit().
/// Not thread-safe; used once at the end of a run.
class OutputTransaction {
public:
    OutputTransaction() = default;
    OutputTransaction(const OutputTransaction&) = delete;
    OutputTransaction& operator=(const OutputTransaction&) = delete;
    ~OutputTransaction();  ///< removes staged files unless committed

    /// Returns a temporary path next to `final_path` and remembers the pair.
    /// Throws DataError when the destination directory is not writable.
    std::string stage(const std::string& final_path);
    /// Creates a temporary directory that becomes `final_dir` on commit()
    /// (which, with any missing parents, must not exist yet) and returns the
    /// path inside it that stands for `final_dir`: files written there appear
    /// all at once. Missing parents are created inside the temporary
    /// directory too, so a failed run leaves no empty directories behind.
    /// Throws DataError when the nearest existing ancestor is not writable.
    std::string stage_directory(const std::string& final_dir);
    /// Renames every staged file to its final path. Throws DataError when a
    /// rename fails; entries not yet renamed are then removed by the destructor.
    void commit();

private:
    std::vector<std::pair<std::string, std::string>> staged_;  // (temp, final)
    bool committed_ = false;
};

/// Writes `result` as a NumPy .npy file (format 1.0, little-endian, C order,
/// in result.dtype) at `path` exactly (no staging; callers stage).
void write_npy(const std::string& path, const Result& result);

/// Writes all results into one HDF5 file, one dataset per result named after
/// it, with RunMetadata as root attributes ("script", "params", "inputs",
/// "tem_version").
void write_h5(const std::string& path, const std::vector<Result>& results,
              const RunMetadata& meta);

/// Writes a PNG preview: 2-D results as an image (auto contrast between the
/// 0.5 and 99.5 percentiles of the finite values, viridis colour map, NaN
/// drawn black); 1-D results as a line plot; results with more axes as the
/// first 2-D slice. Throws DataError with a clear message for scalars.
void write_png(const std::string& path, const Result& result);

/// The viridis colour map as a degree-6 polynomial fit: t in [0, 1] to 8-bit
/// RGB (t outside is clamped by the channels). PNG previews and the REPL's
/// terminal thumbnails use it.
std::array<uint8_t, 3> viridis(double t);

/// Writes a 32-bit float TIFF: 2-D results as one image, higher ranks as a
/// stack of 2-D pages (Fiji/ImageJ opens it with the right shape), 1-D as one
/// row. Throws DataError for scalars.
void write_tiff(const std::string& path, const Result& result);

/// Checks, before anything is computed, that results with these names can be
/// written to `out`: a known format, one result for .npy/.png/.tif, and a
/// writable destination. Throws DataError naming the problem.
void check_output(const std::string& out, const std::vector<std::string>& names);

/// Writes results to `out`: a path ending in .h5/.npy/.png, or a directory
/// (created if missing) that receives NAME.npy and NAME.png per result.
/// .npy/.png take exactly one result (DataError otherwise). Everything is
/// staged in `tx`; nothing is visible until tx.commit().
void write_results(const std::string& out, const std::vector<Result>& results,
                   const RunMetadata& meta, OutputTransaction& tx);

/// Summary line for printing without -o: "shape (4, 4) f64  min 1  mean 2.5  max 4"
/// over the finite values, with "  nan N" / "  inf N" appended when there are
/// NaNs / infinities; scalars print as the value alone (format_value: up to 17
/// significant digits in shortest round-trip form, true/false for bool).
std::string summarize(const Result& result);

/// Formats a double in its shortest round-trip form ("3", "0.1", "nan").
std::string format_number(double value);

/// Formats one value of a result of type `dtype`: "true"/"false" for bool,
/// exact integers for integer types, format_number() for floats.
std::string format_value(double value, DType dtype);

/// Converts result.values to result.dtype, little-endian, C order: the bytes
/// every writer stores. Integer types saturate and map NaN to 0; bool is one
/// byte, 1 for any non-zero value. Throws std::logic_error when the number of
/// values does not match the shape (an internal error).
std::vector<unsigned char> encode_values(const Result& result);

} // namespace tem::rt
