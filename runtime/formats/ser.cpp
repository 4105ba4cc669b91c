// Temporary: replaced by the SER reader.
#include "runtime/formats/formats.h"
namespace tem::rt {
std::unique_ptr<Dataset> open_ser(const std::string& path, const OpenOptions&) { throw data_error(path, "SER files are not supported yet"); }
bool looks_like_ser(std::string_view) { return false; }
}
