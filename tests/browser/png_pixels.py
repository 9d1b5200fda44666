#!/usr/bin/env python3
"""Counts the pixels of a PNG screenshot that have exactly the given colour, or reads the
colour at given positions.

    png_pixels.py <file.png> <rrggbb>...      prints one count per colour, in order
    png_pixels.py <file.png> --at <x,y>...    prints the rrggbb at each position, in order

A reader for the 8-bit RGB and RGBA non-interlaced PNGs Chromium writes, standard library
only (zlib), so the browser tests need no imaging package.
"""
import struct
import sys
import zlib


def rows(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        yield [tuple(line[x * bpp:x * bpp + 3]) for x in range(width)]
        previous = line


def main():
    if sys.argv[2:3] == ["--at"]:
        points = [tuple(int(v) for v in p.split(",")) for p in sys.argv[3:]]
        found = {}
        for y, row in enumerate(rows(sys.argv[1])):
            for x, yy in points:
                if yy == y and x < len(row):
                    found[(x, y)] = "%02x%02x%02x" % row[x]
        print(" ".join(found.get(p, "outside") for p in points))
        return
    wanted = [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in sys.argv[2:]]
    counts = [0] * len(wanted)
    for row in rows(sys.argv[1]):
        for pixel in row:
            for i, colour in enumerate(wanted):
                if pixel == colour:
                    counts[i] += 1
    print(" ".join(str(n) for n in counts))


if __name__ == "__main__":
    main()
