#!/usr/bin/env python3
"""Checks that a PNG shows a drawing: its size, how much of it is not background, and that each
given colour covers at least some pixels (the plot's curves, as a browser or librsvg drew them).
Standard library only (zlib): the test machine need not have Pillow.

usage: check_png.py FILE [--width W] [--height H] [--min-ink FRACTION] [--colour RRGGBB:MIN_PIXELS ...]
                    [--like OTHER.png]
--like: FILE draws about as much as OTHER (within 15 %), e.g. the same plot rendered elsewhere
with its text (a machine without fonts draws the lines but no labels).
"""
import argparse
import struct
import sys
import zlib


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        sys.exit(f"{path}: only 8-bit RGB(A) non-interlaced PNGs are read here (got depth {depth}, type {colour_type})")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the row filter (PNG spec, section 9)
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def ink_share(pixels):
    """The share of pixels that are not (near) white."""
    return sum(1 for p in pixels if min(p) < 235) / len(pixels)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("png")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--min-ink", type=float, default=0.01, help="least share of non-white pixels")
    parser.add_argument("--colour", action="append", default=[], help="RRGGBB:MIN_PIXELS")
    parser.add_argument("--like", help="a PNG that should draw as much")
    args = parser.parse_args()
    width, height, rows = read_png(args.png)
    problems = []
    if args.width and width != args.width:
        problems.append(f"width {width}, expected {args.width}")
    if args.height and height != args.height:
        problems.append(f"height {height}, expected {args.height}")
    pixels = [p for row in rows for p in row]
    ink = ink_share(pixels)
    if ink < args.min_ink:
        problems.append(f"only {ink:.2%} of the image is drawn (expected at least {args.min_ink:.2%}): blank?")
    print(f"{args.png}: {width}x{height}, {ink:.1%} drawn")
    for spec in args.colour:
        hex_colour, least = spec.split(":")
        target = tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
        # Anti-aliased edges blend into the background: count pixels close to the colour.
        count = sum(1 for p in pixels if sum(abs(p[i] - target[i]) for i in range(3)) <= 30)
        print(f"  #{hex_colour}: {count} pixels")
        if count < int(least):
            problems.append(f"colour #{hex_colour} covers {count} pixels, expected at least {least}")
    if args.like:
        _, _, other_rows = read_png(args.like)
        other = ink_share([p for row in other_rows for p in row])
        if abs(ink - other) > 0.15 * other:
            problems.append(f"draws {ink:.2%} of the image, {args.like} {other:.2%}")
    for problem in problems:
        print(f"{args.png}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
