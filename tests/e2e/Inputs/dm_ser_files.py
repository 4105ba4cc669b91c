"""dm_ser_files.py TESTDATA OUT: writes altered copies of the DM and SER sample
files into OUT for the dm_* and ser_* tests.

Broken files (each must give one error naming the file and a byte offset):
  dm:  cut.dm4 (ends inside the image data), tree.dm3 (ends inside the tag
       tree), version.dm3 (version 5), count.dm4 (root group claims 2**40
       entries), deep.dm3 (groups nested 100 deep), complex.dm3 (DataType 3,
       complex64), kind.dm3 (a tag entry of kind 7)
  ser: cut.ser (ends inside frame 3), magic.ser (series id 0x0198),
       version.ser (version 0x0230), offset.ser (element 2 past the end),
       complex.ser (element DataType 9)
Good files that must read like their originals:
  big_*.dm3/.dm4: the tag data and image rewritten big-endian (flag 0)
  uneven.ser: padding between the elements, so frames are not evenly spaced
"""
import os
import struct
import sys

src, out = sys.argv[1], sys.argv[2]


def read(name):
    return open(os.path.join(src, name), "rb").read()


def write(name, data):
    open(os.path.join(out, name), "wb").write(bytes(data))


SIMPLE = {2: 2, 3: 4, 4: 2, 5: 4, 6: 4, 7: 8, 8: 1, 9: 1, 10: 1, 11: 8, 12: 8}


def dm_to_big_endian(data):
    """Byte-swaps every tag value (element by element) and clears the flag."""
    d = bytearray(data)
    version = struct.unpack(">I", d[0:4])[0]
    w = 8 if version == 4 else 4
    word = lambda p: int.from_bytes(d[p:p + w], "big")
    flag_at = 4 + w
    assert struct.unpack(">I", d[flag_at:flag_at + 4])[0] == 1
    d[flag_at:flag_at + 4] = struct.pack(">I", 0)

    def swap(pos, size, count):
        for k in range(count):
            p = pos + k * size
            d[p:p + size] = d[p:p + size][::-1]

    def group(pos):
        pos += 2
        n = word(pos)
        pos += w
        for _ in range(n):
            kind = d[pos]
            name_length = struct.unpack(">H", d[pos + 1:pos + 3])[0]
            pos += 3 + name_length + (8 if version == 4 else 0)
            if kind == 20:
                pos = group(pos)
                continue
            pos += 4
            ninfo = word(pos)
            pos += w
            info = [word(pos + w * k) for k in range(ninfo)]
            pos += w * ninfo
            t = info[0]
            if t in SIMPLE:
                swap(pos, SIMPLE[t], 1)
                pos += SIMPLE[t]
            elif t == 18:
                pos += info[1]
            elif t == 15:
                fields = [info[4 + 2 * k] for k in range(info[2])]
                for f in fields:
                    swap(pos, SIMPLE[f], 1)
                    pos += SIMPLE[f]
            elif t == 20 and info[1] == 15:
                fields = [info[5 + 2 * k] for k in range(info[3])]
                for _ in range(info[-1]):
                    for f in fields:
                        swap(pos, SIMPLE[f], 1)
                        pos += SIMPLE[f]
            elif t == 20:
                size = SIMPLE[info[1]]
                swap(pos, size, info[2])
                pos += size * info[2]
            else:
                raise ValueError("unexpected tag type %d" % t)
        return pos

    group(flag_at + 4)
    return d


def dm_patch_data_type(data, code):
    """Sets ImageData.DataType of the last image (a DM3 file) to `code`."""
    d = bytearray(data)
    at = d.rfind(b"\x08DataType%%%%") + 1 + 8 + 4 + 4 + 4
    d[at:at + 4] = struct.pack("<i", code)
    return d


def dm3_nested(depth):
    """A DM3 file of `depth` nested groups, one entry each."""
    body = b""
    for _ in range(depth):
        body += b"\x14\x00\x01g" + b"\x00\x01" + struct.pack(">I", 1)
    root = b"\x00\x01" + struct.pack(">I", 1)
    return struct.pack(">III", 3, len(root + body), 1) + root + body + b"\x00" * 8


stack3 = read("dm/test_stackbuilder_imagestack.dm3")
cube4 = read("dm/dmTest_3D_int16_64,65,66.dm4")
write("cut.dm4", cube4[:400000])
write("tree.dm3", stack3[:3000])
write("version.dm3", struct.pack(">I", 5) + stack3[4:])
count = bytearray(cube4)
count[18:26] = struct.pack(">Q", 1 << 40)
write("count.dm4", count)
write("deep.dm3", dm3_nested(100))
write("complex.dm3", dm_patch_data_type(stack3, 3))
kind = bytearray(stack3)
kind[18] = 7
write("kind.dm3", kind)

write("big_stack.dm3", dm_to_big_endian(stack3))
write("big_cube.dm4", dm_to_big_endian(cube4))
write("big_si.dm4", dm_to_big_endian(read("dm/EELS_SI.dm4")))
write("big_pattern.dm3", dm_to_big_endian(read("dm/test_diffraction_pattern.dm3")))

ser = read("ser/128x128x5-diffraction_preview_1.ser")   # version 0x0220, 8-byte offsets at 72
write("cut.ser", ser[:200000])
write("magic.ser", ser[:2] + struct.pack("<H", 0x0198) + ser[4:])
write("version.ser", ser[:4] + struct.pack("<H", 0x0230) + ser[6:])
offset = bytearray(ser)
offset[72 + 16:72 + 24] = struct.pack("<q", len(ser) + 1000)
write("offset.ser", offset)
cplx = bytearray(ser)
cplx[152 + 40:152 + 42] = struct.pack("<H", 9)
write("complex.ser", cplx)

# uneven.ser: 64x64x5_TEM_preview_1.ser (version 0x0210, offset array at 68,
# 5 data offsets then 5 tag offsets) with 8 * i bytes before element i.
tem = read("ser/64x64x5_TEM_preview_1.ser")
data_offsets = struct.unpack("<5i", tem[68:88])
tag_offsets = struct.unpack("<5i", tem[88:108])
ends = list(data_offsets[1:]) + [len(tem)]
body, new_data, new_tags = bytearray(tem[:data_offsets[0]]), [], []
for i, (start, end) in enumerate(zip(data_offsets, ends)):
    body += b"\xee" * (8 * i)
    new_data.append(len(body))
    new_tags.append(len(body) + tag_offsets[i] - start)
    body += tem[start:end]
body[68:108] = struct.pack("<5i", *new_data) + struct.pack("<5i", *new_tags)
write("uneven.ser", body)
