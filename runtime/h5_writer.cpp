//===- runtime/h5_writer.cpp - Results as one HDF5 file ------------------===//
//
// This file implements write_h5 with the HDF5 C API: one dataset per result
// in its dtype (bool as the FALSE/TRUE int8 enum h5py reads as numpy bool),
// and the run's script, parameters, inputs and tem version as UTF-8 string
// attributes of the root group. HDF5's own error printing is switched off;
// failures become DataError with HDF5's innermost message.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"

#include <hdf5.h>

#include <cctype>
#include <set>
#include <string>

namespace tem::rt {

namespace {

/// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
public:
    Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    ~Handle() {
        if (id_ >= 0) close_(id_);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    hid_t get() const { return id_; }
    bool ok() const { return id_ >= 0; }

private:
    hid_t id_;
    herr_t (*close_)(hid_t);
};

herr_t innermost_message(unsigned n, const H5E_error2_t* err, void* data) {
    // Walking upward, entry 0 is where the error was detected.
    if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
    return 0;
}

/// A DataError for the HDF5 call that just failed, then clears the stack.
DataError h5_error(const std::string& path, const std::string& what) {
    std::string detail;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_message, &detail);
    H5Eclear2(H5E_DEFAULT);
    // File errors carry the OS reason as "..., error message = 'No such file
    // or directory', ..."; that part is what the user needs.
    const std::string marker = "error message = '";
    size_t start = detail.find(marker);
    if (start != std::string::npos) {
        start += marker.size();
        detail = detail.substr(start, detail.find('\'', start) - start);
        if (!detail.empty())
            detail[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(detail[0])));
    }
    std::string message = "cannot write HDF5 output: " + what;
    if (!detail.empty()) message += " (" + detail + ")";
    return data_error(path, message);
}

/// The stored (file) type of a dtype; the caller closes the returned copy.
hid_t file_type(DType dtype) {
    if (dtype == DType::Bool) {
        hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
        int8_t no = 0, yes = 1;
        H5Tenum_insert(t, "FALSE", &no);
        H5Tenum_insert(t, "TRUE", &yes);
        return t;
    }
    hid_t base = H5T_IEEE_F64LE;
    switch (dtype) {
    case DType::U8:
        base = H5T_STD_U8LE;
        break;
    case DType::U16:
        base = H5T_STD_U16LE;
        break;
    case DType::U32:
        base = H5T_STD_U32LE;
        break;
    case DType::U64:
        base = H5T_STD_U64LE;
        break;
    case DType::I8:
        base = H5T_STD_I8LE;
        break;
    case DType::I16:
        base = H5T_STD_I16LE;
        break;
    case DType::I32:
        base = H5T_STD_I32LE;
        break;
    case DType::I64:
        base = H5T_STD_I64LE;
        break;
    case DType::F32:
        base = H5T_IEEE_F32LE;
        break;
    default:
        break;
    }
    return H5Tcopy(base);
}

void write_string_attribute(const std::string& path, hid_t file, const char* name,
                            const std::string& text) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    if (!type.ok() || H5Tset_size(type.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
        throw h5_error(path, std::string("string type for attribute '") + name + "'");
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
    const char* value = text.c_str();
    if (!space.ok() || !attr.ok() || H5Awrite(attr.get(), type.get(), &value) < 0)
        throw h5_error(path, std::string("attribute '") + name + "'");
}

std::string name_value_lines(const std::map<std::string, std::string>& entries) {
    std::string text;
    for (const auto& [name, value] : entries) {
        if (!text.empty()) text += '\n';
        text += name + "=" + value;
    }
    return text;
}

void write_dataset(const std::string& path, hid_t file, const Result& result) {
    std::vector<unsigned char> data = encode_values(result);
    std::vector<hsize_t> dims(result.shape.begin(), result.shape.end());
    Handle space(result.shape.empty()
                     ? H5Screate(H5S_SCALAR)
                     : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                 H5Sclose);
    Handle type(file_type(result.dtype), H5Tclose);
    if (!space.ok() || !type.ok())
        throw h5_error(path, "dataspace of result '" + result.name + "'");
    Handle ds(H5Dcreate2(file, result.name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
    if (!ds.ok()) throw h5_error(path, "dataset '" + result.name + "'");
    // encode_values gives little-endian bytes, the same layout as the file
    // type, so the file type doubles as the memory type.
    if (!data.empty() &&
        H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
        throw h5_error(path, "data of result '" + result.name + "'");
}

} // namespace

void write_h5(const std::string& path, const std::vector<Result>& results,
              const RunMetadata& meta) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    std::set<std::string> names;
    for (const Result& r : results) {
        if (r.name.empty() || r.name.find('/') != std::string::npos || r.name == ".")
            throw data_error(path,
                             "cannot store result '" + r.name + "' in HDF5: bad dataset name");
        if (!names.insert(r.name).second)
            throw data_error(path, "two results are named '" + r.name + "'");
    }
    Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.ok()) throw h5_error(path, "creating the file");
    for (const Result& r : results) write_dataset(path, file.get(), r);
    write_string_attribute(path, file.get(), "script", meta.script_text);
    write_string_attribute(path, file.get(), "params", name_value_lines(meta.params));
    write_string_attribute(path, file.get(), "inputs", name_value_lines(meta.inputs));
    write_string_attribute(path, file.get(), "tem_version", meta.tem_version);
    if (H5Fflush(file.get(), H5F_SCOPE_LOCAL) < 0) throw h5_error(path, "flushing the file");
}

} // namespace tem::rt
