// Temporary: replaced by the DM reader.
#include "runtime/formats/formats.h"
namespace tem::rt {
std::unique_ptr<Dataset> open_dm(const std::string& path, const OpenOptions&) { throw data_error(path, "DM files are not supported yet"); }
bool looks_like_dm(std::string_view) { return false; }
}
