//===- runtime/tiff_writer.cpp - 32-bit float TIFF results ---------------===//
//
// This file implements write_tiff with libtiff: one 32-bit IEEE float page
// per 2-D slice (Fiji/ImageJ open it as a stack with the right shape), 1-D
// results as a single row, scalars refused.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include <tiffio.h>

#include <vector>

namespace tem::rt {

void write_tiff(const std::string& path, const Result& result) {
    if (result.shape.empty())
        throw data_error(path, "result '" + result.name + "' is a scalar; TIFF holds images (write .npy or .h5)");
    int64_t width = result.shape.back();
    int64_t height = result.shape.size() >= 2 ? result.shape[result.shape.size() - 2] : 1;
    int64_t pages = 1;
    for (size_t i = 0; i + 2 < result.shape.size(); ++i) pages *= result.shape[i];
    if (width <= 0 || height <= 0 || pages <= 0)
        throw data_error(path, "result '" + result.name + "' is empty; nothing to write");
    // Silence libtiff's own stderr messages: failures become DataError.
    TIFFSetWarningHandler(nullptr);
    TIFFSetErrorHandler(nullptr);
    TIFF* tif = TIFFOpen(path.c_str(), (width * height * pages * 4 > (int64_t(1) << 31)) ? "w8" : "w");
    if (!tif) throw data_error(path, "cannot write output: cannot create the TIFF file");
    std::vector<float> row(static_cast<size_t>(width));
    bool ok = true;
    for (int64_t page = 0; page < pages && ok; ++page) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(width));
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(height));
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 32);
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, static_cast<uint32_t>(height));
        if (pages > 1) {
            TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
            TIFFSetField(tif, TIFFTAG_PAGENUMBER, static_cast<uint16_t>(page), static_cast<uint16_t>(pages));
        }
        TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, ("tem result " + result.name).c_str());
        for (int64_t y = 0; y < height && ok; ++y) {
            const double* src = result.values.data() + (page * height + y) * width;
            for (int64_t x = 0; x < width; ++x) row[static_cast<size_t>(x)] = static_cast<float>(src[x]);
            ok = TIFFWriteScanline(tif, row.data(), static_cast<uint32_t>(y), 0) == 1;
        }
        ok = ok && TIFFWriteDirectory(tif) == 1;
    }
    TIFFClose(tif);
    if (!ok) throw data_error(path, "cannot write output: writing the TIFF file failed");
}

} // namespace tem::rt
