"""corrupt_formats.py TESTDATA OUT: writes broken copies of sample detector
files into OUT for detector_formats_bad_files_are_reported.test."""
import os
import shutil
import sys

src, out = sys.argv[1], sys.argv[2]


def read(name):
    return open(os.path.join(src, name), "rb").read()


def write(name, data):
    open(os.path.join(out, name), "wb").write(data)


mib = read("mib/001_4x2_6bit.mib")
write("cut.mib", mib[:500000])                 # ends inside frame 7
write("magic.mib", b"XQ1" + mib[3:])           # no frame header
write("short.mib", mib[:5 * 65920])            # whole frames, fewer than the .hdr says
shutil.copy(os.path.join(src, "mib/001_4x2_6bit.hdr"), os.path.join(out, "short.hdr"))
raw = read("mib/Single_9_Frame_CounterDepth_1_Rows_256RAW.mib")
write("r24.mib", raw.replace(b"ns,1,\x00", b"ns,24,", 1))  # MQ1A depth field says 24
shutil.copy(os.path.join(src, "mib/001_4x2_6bit.hdr"), os.path.join(out, "lonely.hdr"))

xml = read("empad/map4x4.xml")
write("noraw.xml", xml.replace(b"scan_x4_y4.raw", b"missing_x4_y4.raw"))
write("longname.xml", xml.replace(b"scan_x4_y4.raw", b"x" * 5000 + b".raw"))  # too long for the file system
write("cutraw.xml", xml.replace(b"scan_x4_y4.raw", b"cut_x4_y4.raw"))
write("cut_x4_y4.raw", read("empad/scan_x4_y4.raw")[:1000000])

blo = read("blo/test1.blo")
write("cut.blo", blo[:120000])
write("magic.blo", b"IMGBLX" + blo[6:])

write("series_000.tvips", read("tvips/test_tvips_2345_split_000.tvips"))
write("series_001.tvips", read("tvips/test_tvips_2345_split_001.tvips")[:250])

mrc = bytearray(read("mrc/temp.mrc"))
write("cut.mrc", bytes(mrc[:150000]))
write("header.mrc", bytes(mrc[:500]))
mrc[12:16] = (4).to_bytes(4, "little")
write("mode.mrc", bytes(mrc))
