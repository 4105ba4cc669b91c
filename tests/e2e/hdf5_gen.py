#!/usr/bin/env python3
"""Writes small HDF5 files for the HDF5 reader's tests (with h5py and the
bitshuffle and LZ4 plugins of Debian's bitshuffle and hdf5-filter-plugin).

    hdf5_gen.py DIR          the good files below
    hdf5_gen.py DIR --bad    files that tem must refuse with a clear message (see bad())

Every NAME.h5 (or .emd) comes with NAME.npy holding the same values in tem's
order (nav axes, then sig axes), for check.py. The files:

  contiguous.h5   /data (5, 6, 9, 11) f32 contiguous (zero-copy) beside a small /small
  userblock.h5    /scan (4, 3, 8, 8) u16 contiguous after a 512-byte user block
  deflate.h5      /scan/data (7, 5, 9, 11) u16 chunks (3, 4, 5, 7): shuffle, deflate
                  and fletcher32; chunks divide neither the nav nor the sig axes
  bigendian.h5    /contiguous and /chunked (6, 4, 10, 12) >u2 (deflate chunks (1, 4, 10, 12))
  stack.h5        /frames (10, 16, 16) i8 chunks (4, 8, 16), no filter
  lz4.h5          /data (4, 4, 12, 12) f64 chunks (2, 2, 12, 12), LZ4 (32004) in 256-byte blocks
  bslz4.h5        /data (5, 4, 13, 7) u32 chunks (2, 3, 13, 7), bitshuffle+LZ4 (32008), values
                  up to 2**31 so that every bit plane is used; 546 elements per chunk
                  leave 2 plain trailing elements
  bsblocks.h5     /data (4, 4, 9, 9) i16 chunks (1, 1, 9, 9), bitshuffle+LZ4 in 16-element blocks
  bitshuffle.h5   /data (3, 3, 8, 8) u16 chunks (1, 3, 8, 8), bitshuffle without LZ4
  velox.emd       Data/Image/<uuid>/Data (9, 7, 5) i16 contiguous: (y, x, frame)
  velox_chunked.emd  the same, chunks (4, 4, 2), deflate
  emd.emd         an EMD group (emd_group_type 1) data (4, 4, 8, 8) u8 with dim1..dim4, and a
                  larger unrelated array elsewhere
  scaleoffset.h5  /data (4, 4, 6, 6) i32 with HDF5's scale-offset filter (read through HDF5)
  external.h5     /data (3, 4, 6, 6) f32 stored in the raw file external.raw
  master.h5       a Dectris-style master: /entry/data/data_000001 and data_000002 link to
                  master_data_000001.h5 (3 frames) and master_data_000002.h5 (2 frames) of
                  (8, 8) u16, bitshuffle+LZ4; /entry/instrument/detector/count_time
"""
import os
import sys

import h5py
import numpy as np

BSHUF = 32008
LZ4 = 32004


def main(out):
    for fid, name in [(BSHUF, "bitshuffle"), (LZ4, "lz4")]:
        if not h5py.h5z.filter_avail(fid):
            sys.exit(f"hdf5_gen.py: the HDF5 {name} plugin ({fid}) is missing: "
                     "install Debian's bitshuffle and hdf5-filter-plugin (scripts/setup.sh)")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20)
    p = lambda name: os.path.join(out, name)
    twin = lambda name, a: np.save(p(name + ".npy"), a)

    a = rng.uniform(0, 100, (5, 6, 9, 11)).astype(np.float32)
    with h5py.File(p("contiguous.h5"), "w") as f:
        f.create_dataset("data", data=a)
        f.create_dataset("small", data=np.ones((3, 3), np.float32))
    twin("contiguous", a)

    a = rng.integers(0, 60000, (4, 3, 8, 8)).astype(np.uint16)
    with h5py.File(p("userblock.h5"), "w", userblock_size=512) as f:
        f["scan"] = a
    with open(p("userblock.h5"), "r+b") as f:
        f.write(b"a user block that is not HDF5")
    twin("userblock", a)

    a = rng.integers(0, 60000, (7, 5, 9, 11)).astype(np.uint16)
    with h5py.File(p("deflate.h5"), "w") as f:
        f.create_dataset("scan/data", data=a, chunks=(3, 4, 5, 7), compression="gzip", compression_opts=4,
                         shuffle=True, fletcher32=True)
    twin("deflate", a)

    a = rng.integers(0, 60000, (6, 4, 10, 12)).astype(">u2")
    with h5py.File(p("bigendian.h5"), "w") as f:
        f.create_dataset("contiguous", data=a)
        f.create_dataset("chunked", data=a, chunks=(1, 4, 10, 12), compression="gzip")
    twin("bigendian", a.astype(np.uint16))

    # Unfiltered chunks of whole frames that divide neither nav axis: mapped
    # in place, one run per chunk row (edge chunks are stored full size).
    a = rng.integers(0, 60000, (7, 5, 9, 11)).astype(np.uint16)
    with h5py.File(p("plainchunks.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(2, 3, 9, 11))
    twin("plainchunks", a)

    a = rng.integers(-128, 128, (10, 16, 16)).astype(np.int8)
    with h5py.File(p("stack.h5"), "w") as f:
        f.create_dataset("frames", data=a, chunks=(4, 8, 16))
    twin("stack", a)

    a = rng.uniform(-1e3, 1e3, (4, 4, 12, 12))
    with h5py.File(p("lz4.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(2, 2, 12, 12), compression=LZ4, compression_opts=(256,))
    twin("lz4", a)

    a = rng.integers(0, 2**31, (5, 4, 13, 7)).astype(np.uint32)
    with h5py.File(p("bslz4.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(2, 3, 13, 7), compression=BSHUF, compression_opts=(0, 2))
    twin("bslz4", a)

    a = rng.integers(-30000, 30000, (4, 4, 9, 9)).astype(np.int16)
    with h5py.File(p("bsblocks.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(1, 1, 9, 9), compression=BSHUF, compression_opts=(16, 2))
    twin("bsblocks", a)

    a = rng.integers(0, 65536, (3, 3, 8, 8)).astype(np.uint16)
    with h5py.File(p("bitshuffle.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(1, 3, 8, 8), compression=BSHUF, compression_opts=(0, 0))
    twin("bitshuffle", a)

    a = rng.integers(-1000, 1000, (9, 7, 5)).astype(np.int16)  # (y, x, frame)
    for name, opts in [("velox", {}), ("velox_chunked", {"chunks": (4, 4, 2), "compression": "gzip"})]:
        with h5py.File(p(name + ".emd"), "w") as f:
            f.create_dataset("Data/Image/0123456789abcdef/Data", data=a, **opts)
            f.create_dataset("Data/Image/0123456789abcdef/Metadata", data=np.zeros((100, 5), np.uint8))
        twin(name, np.moveaxis(a, 2, 0))

    a = rng.integers(0, 256, (4, 4, 8, 8)).astype(np.uint8)
    with h5py.File(p("emd.emd"), "w") as f:
        g = f.create_group("data/scan")
        g.attrs["emd_group_type"] = 1
        g.create_dataset("data", data=a, chunks=(1, 1, 8, 8))
        for k, (n, name, units) in enumerate([(4, "R_y", "nm"), (4, "R_x", "nm"), (8, "Q_y", "1/nm"),
                                              (8, "Q_x", "1/nm")]):
            d = g.create_dataset(f"dim{k + 1}", data=np.arange(n) * 0.25)
            d.attrs["name"] = name
            d.attrs["units"] = units
        f.create_dataset("other/big", data=np.zeros((50, 50, 3), np.float32))
    twin("emd", a)

    a = rng.integers(0, 5000, (4, 4, 6, 6)).astype(np.int32)
    with h5py.File(p("scaleoffset.h5"), "w") as f:
        f.create_dataset("data", data=a, chunks=(1, 1, 6, 6), scaleoffset=0)
    twin("scaleoffset", a)

    a = rng.uniform(0, 1, (3, 4, 6, 6)).astype(np.float32)
    with h5py.File(p("external.h5"), "w") as f:
        f.create_dataset("data", shape=a.shape, dtype=a.dtype, external=[("external.raw", 0, a.nbytes)])
    a.tofile(p("external.raw"))
    twin("external", a)

    parts = [rng.integers(0, 4000, (n, 8, 8)).astype(np.uint16) for n in (3, 2)]
    for i, part in enumerate(parts):
        with h5py.File(p(f"master_data_{i + 1:06d}.h5"), "w") as f:
            f.create_dataset("entry/data/data", data=part, chunks=(1, 8, 8), compression=BSHUF,
                             compression_opts=(0, 2))
    with h5py.File(p("master.h5"), "w") as f:
        g = f.create_group("entry/data")
        g.attrs["NX_class"] = "NXdata"
        for i in range(len(parts)):
            g[f"data_{i + 1:06d}"] = h5py.ExternalLink(f"master_data_{i + 1:06d}.h5", "/entry/data/data")
        t = f.create_dataset("entry/instrument/detector/count_time", data=0.001)
        t.attrs["units"] = "s"
    twin("master", np.concatenate(parts))


def corrupt_chunk(path, dataset, index):
    """Overwrites the middle of stored chunk `index` of `dataset` with garbage."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(index)
    with open(path, "r+b") as f:
        f.seek(info.byte_offset + 16)
        f.write(bytes(range(7, 7 + min(64, info.size - 20))))


def bad(out):
    """not_hdf5.h5 (text), truncated.h5 (half of a file), shapes.h5 (/vec 1-D,
    /names strings, /cplx complex, /one scalar, /image 2-D), only_1d.h5, master
    whose data file is missing, corrupt deflate and bitshuffle+LZ4 chunks, and
    a chunked dataset with filter 305 that no plugin decodes."""
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    with open(p("not_hdf5.h5"), "w") as f:
        f.write("this is not an HDF5 file\n" * 10)
    with h5py.File(p("whole.h5"), "w") as f:
        f["data"] = np.arange(4 * 4 * 16 * 16, dtype=np.uint16).reshape(4, 4, 16, 16)
    blob = open(p("whole.h5"), "rb").read()
    open(p("truncated.h5"), "wb").write(blob[: len(blob) // 2])
    with h5py.File(p("shapes.h5"), "w") as f:
        f["vec"] = np.arange(16, dtype=np.float32)
        f["names"] = np.array([b"a", b"b", b"c"] * 4).reshape(3, 4)
        f["cplx"] = np.ones((3, 4, 4), np.complex64)
        f["one"] = 3.0
        f["image"] = np.ones((5, 5), np.uint8)
    with h5py.File(p("only_1d.h5"), "w") as f:
        f["vec"] = np.arange(16, dtype=np.float32)
        f["names"] = np.array([b"a", b"b"])
    with h5py.File(p("master.h5"), "w") as f:
        f["entry/data/data_000001"] = h5py.ExternalLink("gone_data_000001.h5", "/entry/data/data")
    with h5py.File(p("corrupt_deflate.h5"), "w") as f:
        f.create_dataset("data", data=np.random.default_rng(1).integers(0, 1000, (4, 4, 16, 16)).astype(np.uint16),
                         chunks=(2, 2, 16, 16), compression="gzip")
    corrupt_chunk(p("corrupt_deflate.h5"), "data", 3)
    with h5py.File(p("corrupt_bslz4.h5"), "w") as f:
        f.create_dataset("data", data=np.random.default_rng(2).integers(0, 1000, (3, 32, 32)).astype(np.uint32),
                         chunks=(1, 32, 32), compression=BSHUF, compression_opts=(0, 2))
    corrupt_chunk(p("corrupt_bslz4.h5"), "data", 1)
    with h5py.File(p("unknown_filter.h5"), "w") as f:
        d = f.create_dataset("data", shape=(2, 4, 4), dtype=np.uint16, chunks=(1, 4, 4), compression=305,
                             compression_opts=(1,), allow_unknown_filter=True)
        d.id.write_direct_chunk((0, 0, 0), bytes(32))


if __name__ == "__main__":
    if sys.argv[2:] == ["--bad"]:
        bad(sys.argv[1])
    else:
        main(sys.argv[1])
