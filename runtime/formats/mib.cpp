//===- runtime/formats/mib.cpp - Quantum Detectors Merlin .mib files -----===//
//
// This file implements the Merlin reader. A .mib file has no global header:
// every frame is an ASCII header ("MQ1,seq,header bytes,chips,width,height,
// type,layout,...") followed by its pixels, so the header becomes part of the
// frame stride and processed frames (U08/U16/U32, big-endian) are read in
// place. Raw frames (R64: 64-bit big-endian words, pixel k of a word in its
// k-th least significant bit group) are unpacked per tile. A .hdr companion
// gives the counter depth and the number of frames of the acquisition; given
// as the path, it stands for every .mib file of the acquisition.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

namespace tem::rt {

namespace {

struct MibHeader {
    int64_t header_bytes = 0;
    int64_t sequence = 0;
    int64_t chips = 0;
    int64_t width = 0, height = 0;
    std::string type;    ///< U08, U16, U32 or R64
    std::string layout;  ///< "1x1", "2x2", ...
    int bit_depth = 0;   ///< from the MQ1A extension, 0 when absent
    std::string exposure;
    std::string timestamp;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\0' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::optional<int64_t> to_int(std::string_view s) {
    s = trim(s);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> items;
    while (true) {
        size_t i = text.find(sep);
        items.push_back(text.substr(0, i));
        if (i == std::string_view::npos) break;
        text.remove_prefix(i + 1);
    }
    return items;
}

/// Parses the frame header at `offset` of a .mib file.
MibHeader parse_header(const ByteReader& r, uint64_t offset) {
    std::string where = " at byte " + std::to_string(offset);
    std::string_view magic = r.text(offset, 4, "a frame header");
    if (magic != "MQ1,")
        throw data_error(r.path(), "not a Merlin frame header" + where + " (expected 'MQ1,')");
    // The header size is field 2; read a generous prefix first.
    std::string_view head = r.text(offset, std::min<uint64_t>(r.size() - offset, 64), "a frame header");
    std::vector<std::string_view> f = split(head, ',');
    auto size = f.size() > 2 ? to_int(f[2]) : std::nullopt;
    if (!size || *size < 64 || *size > (1 << 20))
        throw data_error(r.path(), "bad header size in the frame header" + where + " (field 3)");
    MibHeader h;
    h.header_bytes = *size;
    f = split(r.text(offset, static_cast<uint64_t>(*size), "a frame header"), ',');
    if (f.size() < 11) throw data_error(r.path(), "frame header" + where + " has too few fields");
    auto field = [&](size_t i, const char* what) {
        auto v = to_int(f[i]);
        if (!v || *v <= 0)
            throw data_error(r.path(), "bad " + std::string(what) + " '" + std::string(trim(f[i])) +
                                           "' in the frame header" + where);
        return *v;
    };
    h.sequence = field(1, "frame number");
    h.chips = field(3, "number of chips");
    h.width = field(4, "width");
    h.height = field(5, "height");
    h.type = std::string(trim(f[6]));
    h.layout = std::string(trim(f[7]));
    h.timestamp = std::string(trim(f[9]));
    h.exposure = std::string(trim(f[10]));
    // Newer firmware: ...,MQ1A,<timestamp>,<exposure>ns,<bit depth>,
    for (size_t i = 0; i + 3 < f.size(); ++i)
        if (trim(f[i]) == "MQ1A") {
            if (auto d = to_int(f[i + 3])) h.bit_depth = static_cast<int>(*d);
        }
    return h;
}

/// The "key:\tvalue" lines of a .hdr file.
std::map<std::string, std::string> read_hdr(const std::string& path) {
    MappedFile file(path);
    std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
    if (text.substr(0, 3) != "HDR") throw data_error(path, "not a Merlin .hdr file (it does not start with 'HDR')");
    std::map<std::string, std::string> entries;
    for (std::string_view line : split(text, '\n')) {
        size_t colon = line.find(":\t");
        if (colon == std::string_view::npos) continue;
        entries[std::string(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 2)));
    }
    return entries;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

/// The .mib files an acquisition's .hdr stands for: the .mib files in its
/// directory whose names start with the .hdr's stem.
std::vector<std::string> acquisition_files(const std::string& hdr) {
    std::filesystem::path p(hdr);
    std::string stem = p.stem().string();
    std::filesystem::path dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind(stem, 0) == 0 && lower(entry.path().extension().string()) == ".mib")
            files.push_back(entry.path().string());
    }
    return files;
}

/// Unpacks one raw (R64) frame: 64-bit big-endian words, pixel k of a word
/// in bits [k * bits, (k + 1) * bits). Output elements are OutT.
template <typename OutT> void unpack_raw(const std::byte* in, std::byte* out_bytes, int64_t pixels, int bits) {
    OutT* out = reinterpret_cast<OutT*>(out_bytes);
    const int per_word = 64 / bits;
    const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    for (int64_t w = 0; w < pixels / per_word; ++w) {
        uint64_t word = 0;
        for (int b = 0; b < 8; ++b) word = (word << 8) | static_cast<uint8_t>(in[w * 8 + b]);
        for (int k = 0; k < per_word; ++k) out[w * per_word + k] = static_cast<OutT>((word >> (k * bits)) & mask);
    }
}

} // namespace

bool looks_like_mib(std::string_view head) { return head.substr(0, 4) == "MQ1," || head.substr(0, 4) == "HDR,"; }

/// Opens a Merlin acquisition:
///   1. the .mib files (all of the acquisition when the path is its .hdr),
///      ordered by the sequence number of their first frame;
///   2. the first frame header gives the geometry and type; every file must
///      hold whole frames of that stride;
///   3. the .hdr (when present) gives the counter depth, the frame count to
///      check against, and the scan width when triggered per line.
std::unique_ptr<Dataset> open_mib(const std::string& path, const OpenOptions& options) {
    std::vector<std::string> paths;
    std::string hdr_path;
    if (lower(std::filesystem::path(path).extension().string()) == ".hdr") {
        hdr_path = path;
        paths = acquisition_files(path);
        if (paths.empty())
            throw data_error(path, "no .mib files of this acquisition (named " +
                                       std::filesystem::path(path).stem().string() + "*.mib) next to it");
    } else {
        paths.push_back(path);
        std::string candidate = std::filesystem::path(path).replace_extension(".hdr").string();
        if (file_exists(candidate)) hdr_path = candidate;
    }
    std::map<std::string, std::string> hdr;
    if (!hdr_path.empty()) hdr = read_hdr(hdr_path);

    std::vector<MappedFile> files;
    std::vector<MibHeader> firsts;
    for (const std::string& p : paths) {
        files.emplace_back(p);
        firsts.push_back(parse_header(ByteReader(files.back()), 0));
    }
    // Order the files of an acquisition by their first frame number.
    std::vector<size_t> order(files.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return firsts[a].sequence < firsts[b].sequence; });

    const MibHeader& h = firsts[order.front()];
    bool raw = h.type == "R64";
    int depth = h.bit_depth;
    if (depth == 0 && hdr.count("Counter Depth (number)")) depth = static_cast<int>(to_int(hdr["Counter Depth (number)"]).value_or(0));
    int64_t pixels = h.width * h.height;
    DType dtype;
    int64_t payload = 0;
    int raw_bits = 0;
    if (h.type == "U08") {
        dtype = DType::U8, payload = pixels;
    } else if (h.type == "U16") {
        dtype = DType::U16, payload = 2 * pixels;
    } else if (h.type == "U32") {
        dtype = DType::U32, payload = 4 * pixels;
    } else if (raw) {
        if (depth == 0)
            throw data_error(path, "raw (R64) frames need the counter depth, but neither the frame header nor a "
                                   ".hdr file gives it");
        if (h.layout != "1x1")
            throw data_error(path, "raw (R64) frames of a " + h.layout +
                                       " chip layout are not supported; record quad data in processed mode (U08/U16/U32)");
        if (depth == 1) raw_bits = 1, dtype = DType::U8;
        else if (depth == 6) raw_bits = 8, dtype = DType::U8;
        else if (depth == 12) raw_bits = 16, dtype = DType::U16;
        else
            throw data_error(path, "raw (R64) frames of counter depth " + std::to_string(depth) +
                                       " are not supported (1, 6 and 12 are)");
        if (pixels % 64 != 0) throw data_error(path, "raw frame of " + std::to_string(pixels) + " pixels is not whole 64-bit words");
        payload = pixels * raw_bits / 8;
    } else {
        throw data_error(path, "unknown pixel type '" + h.type + "' in the frame header at byte 0 (expected U08, U16, U32 or R64)");
    }
    const int64_t stride = h.header_bytes + payload;

    MappedLayout layout;
    layout.format = "mib";
    layout.sig = {h.height, h.width};
    layout.dtype = dtype;
    layout.big_endian = !raw;
    layout.frame_header = h.header_bytes;
    int64_t frames = 0;
    for (size_t i : order) {
        const MappedFile& file = files[i];
        const MibHeader& fh = firsts[i];
        if (fh.header_bytes != h.header_bytes || fh.width != h.width || fh.height != h.height || fh.type != h.type)
            throw data_error(file.path(), "frames differ from those of " + files[order.front()].path() +
                                              " (header size, shape or pixel type)");
        int64_t size = static_cast<int64_t>(file.size());
        int64_t count = size / stride;
        if (size % stride != 0)
            throw data_error(file.path(), "truncated: the file ends inside frame " + std::to_string(frames + count) +
                                              " (at byte " + std::to_string(size) + "; frames are " +
                                              std::to_string(stride) + " bytes, header included)");
        // A wrong stride shows up at the last frame's header.
        ByteReader r(file);
        if (r.text(static_cast<uint64_t>((count - 1) * stride), 4, "a frame header") != "MQ1,")
            throw data_error(file.path(), "no frame header at byte " + std::to_string((count - 1) * stride) +
                                              " where frame " + std::to_string(frames + count - 1) +
                                              " should start; frame sizes vary within the file");
        layout.runs.push_back(FrameRun{frames, count, i, h.header_bytes, stride});
        frames += count;
    }

    int64_t in_acquisition = hdr.count("Frames in Acquisition (Number)")
                                 ? to_int(hdr["Frames in Acquisition (Number)"]).value_or(0)
                                 : 0;
    if (in_acquisition > frames)
        throw data_error(hdr_path, "the acquisition has " + std::to_string(in_acquisition) + " frames, but " +
                                       (files.size() > 1 ? "the .mib files hold " : "the .mib file holds ") +
                                       std::to_string(frames) + " (truncated?)");
    std::vector<int64_t> stored{frames};
    int64_t per_trigger = hdr.count("Frames per Trigger (Number)") ? to_int(hdr["Frames per Trigger (Number)"]).value_or(1) : 1;
    if (per_trigger > 1 && frames > per_trigger && frames % per_trigger == 0) stored = {frames / per_trigger, per_trigger};
    check_stored_geometry(path, options, "mib", layout.sig, dtype);
    layout.nav = choose_nav(path, options, frames, stored);

    layout.info = {{"pixel type", h.type + (depth ? " (counter depth " + std::to_string(depth) + ")" : "")},
                   {"chips", std::to_string(h.chips) + " (" + h.layout + ")"},
                   {"exposure", h.exposure + " s"},
                   {"first frame time", h.timestamp}};
    if (!hdr_path.empty()) {
        layout.info.emplace_back("hdr file", hdr_path);
        if (in_acquisition) layout.info.emplace_back("frames in acquisition", std::to_string(in_acquisition));
        layout.info.emplace_back("frames per trigger", std::to_string(per_trigger));
    }
    if (!raw) return make_mapped(std::move(files), std::move(layout));
    const int bits = raw_bits;
    FrameDecoder decode = [pixels, bits, dtype](const std::byte* in, std::byte* out) {
        if (dtype == DType::U16) unpack_raw<uint16_t>(in, out, pixels, bits);
        else unpack_raw<uint8_t>(in, out, pixels, bits);
    };
    return make_decoded(std::move(files), std::move(layout), payload, std::move(decode),
                        std::to_string(depth) + "-bit raw");
}

} // namespace tem::rt
