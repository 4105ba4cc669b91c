//===- runtime/formats/formats.h - Readers of detector file formats ------===//
//
// This file declares one opener per file format. Each parses its header(s),
// checks them against the file size, and returns a Dataset: zero-copy over
// mmapped files where the layout allows, decoded tile by tile otherwise.
// open_dataset (runtime/dataset.cpp) chooses among them by content.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <memory>
#include <string>
#include <string_view>

namespace tem::rt {

/// Quantum Detectors Merlin: a .mib file (or its .hdr, for every .mib of
/// the acquisition); processed U08/U16/U32 frames mapped, raw 1-bit decoded.
std::unique_ptr<Dataset> open_mib(const std::string& path, const OpenOptions& options);
/// EMPAD: the .xml that names the .raw file; 130-row frames, 2 rows dropped.
std::unique_ptr<Dataset> open_empad(const std::string& path, const OpenOptions& options);
/// NanoMegas ASTAR blockfile (.blo).
std::unique_ptr<Dataset> open_blo(const std::string& path, const OpenOptions& options);
/// TVIPS (.tvips, with _001, _002, ... parts of a split series).
std::unique_ptr<Dataset> open_tvips(const std::string& path, const OpenOptions& options);
/// MRC / MRC2014 (.mrc, with DE scan info from *_info.txt when present).
std::unique_ptr<Dataset> open_mrc(const std::string& path, const OpenOptions& options);
/// FEI/TIA series (.ser).
std::unique_ptr<Dataset> open_ser(const std::string& path, const OpenOptions& options);
/// Gatan DigitalMicrograph (.dm3, .dm4).
std::unique_ptr<Dataset> open_dm(const std::string& path, const OpenOptions& options);
/// HDF5 (.h5, .emd, .hspy, .nxs, Dectris master files): `path` is the file,
/// `inner` the dataset path inside it ("" = find the detector data).
std::unique_ptr<Dataset> open_hdf5(const std::string& path, const std::string& inner, const OpenOptions& options);

/// Content checks used by format detection; `head` is the first 4 KiB.
bool has_hdf5_signature(std::string_view head);
bool looks_like_mib(std::string_view head);
bool looks_like_dm(std::string_view head);
bool looks_like_ser(std::string_view head);
bool looks_like_mrc(std::string_view head);
bool looks_like_blo(std::string_view head);
bool looks_like_tvips(std::string_view head);
bool looks_like_empad(std::string_view head);

} // namespace tem::rt
