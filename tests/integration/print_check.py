#!/usr/bin/env python3
"""print_check.py: read a minted print run's label files back with tools that
know nothing of packcode, and compare them with its codes.csv and batch.json.

  print_check.py pdf DIR   every PDF page rendered by pdftoppm at 300 dpi:
                           each label cell decoded alone by zbarimg gives the
                           URL of the code at that place in CSV order (so
                           order, page count and labels per page are those of
                           the grid), empty cells give nothing; the crop
                           marks are dark where batch.json's layout puts
                           them and the paper between them is white;
                           pdftotext finds each page's grouped codes (and
                           PINs) on it
  print_check.py zpl DIR   labels.zpl parsed: one ^XA..^XZ per code in CSV
                           order, each with one ^BQN,2,M,E field whose data
                           is E + "A," + the code's URL (after ^FH escapes),
                           the grouped code as a font-0 field, the PIN, the
                           label size of batch.json
  print_check.py qr PNG    a QR PNG as mint draws it (8 px a module, quiet
                           zone 4): prints its width in modules and the error
                           correction level read from its format information

Exit 0 with one line per file checked, or 1 naming the first difference.
"""
import csv
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

DPI = 300
PX = DPI / 25.4  # pixels per mm


def die(msg):
    print("print_check: " + msg, file=sys.stderr)
    sys.exit(1)


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def load(d):
    with open(os.path.join(d, "batch.json")) as f:
        batch = json.load(f)
    with open(os.path.join(d, "codes.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != batch["count"]:
        die(f"codes.csv has {len(rows)} rows, batch.json says {batch['count']}")
    return batch, rows


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m:
        die(f"{path} is not a binary PGM")
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():m.end() + w * h]


def write_pgm(path, w, h, pixels):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(pixels)


def crop(img, x0, y0, x1, y1):
    w, h, px = img
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(w, int(x1)), min(h, int(y1))
    out = bytearray()
    for y in range(y0, y1):
        out += px[y * w + x0:y * w + x1]
    return x1 - x0, y1 - y0, bytes(out)


def darkest(img, x_mm, y_mm):
    """The darkest pixel within 0.1 mm of a point (lines are thin)."""
    w, h, px = img
    cx, cy, r = int(round(x_mm * PX)), int(round(y_mm * PX)), 1
    return min(px[y * w + x] for y in range(cy - r, cy + r + 1) for x in range(cx - r, cx + r + 1)
               if 0 <= x < w and 0 <= y < h)


def mark(layout, col, row, side):
    """label.c's rule, restated: (offset, length) of a side's crop marks, or None."""
    cols, rows = layout["grid"]
    x0, y0 = layout["first_label_mm"]
    gx, gy = layout["gap_mm"]
    room = {"left": x0 if col == 0 else gx / 2, "right": x0 if col == cols - 1 else gx / 2,
            "top": y0 if row == 0 else gy / 2, "bottom": y0 if row == rows - 1 else gy / 2}[side]
    off, length = min(1.0, room / 4), min(3.0, room / 2)
    return (off, length) if length >= 0.5 else None


def check_marks(img, layout, col, row, where):
    lw, lh = layout["label_mm"]
    x0, y0 = layout["first_label_mm"]
    gx, gy = layout["gap_mm"]
    x, y = x0 + col * (lw + gx), y0 + row * (lh + gy)
    found = 0
    for side in ("left", "right", "top", "bottom"):
        m = mark(layout, col, row, side)
        if not m:
            continue
        off, length = m
        mid, beyond = off + length / 2, off + length + 0.3
        for edge in (0, 1):
            if side in ("left", "right"):
                sign = -1 if side == "left" else 1
                base = x if side == "left" else x + lw
                py = y + edge * lh
                on, past = (base + sign * mid, py), (base + sign * beyond, py)
                near = (base + sign * off / 3, py)
            else:
                sign = -1 if side == "top" else 1
                base = y if side == "top" else y + lh
                px = x + edge * lw
                on, past = (px, base + sign * mid), (px, base + sign * beyond)
                near = (px, base + sign * off / 3)
            if darkest(img, *on) > 100:
                die(f"{where}: no crop mark {side} of label ({col},{row}) at {on[0]:.1f},{on[1]:.1f} mm")
            if off >= 0.9 and darkest(img, *near) < 200:
                die(f"{where}: the crop mark {side} of label ({col},{row}) touches its corner")
            if length >= 2.9 and darkest(img, *past) < 200:
                die(f"{where}: the crop mark {side} of label ({col},{row}) is longer than {length} mm")
            found += 1
    return found


def check_pdf(d):
    batch, rows = load(d)
    layout = batch.get("pdf") or die("batch.json has no pdf layout")
    cols, nrows = layout["grid"]
    per_page = cols * nrows
    lw, lh = layout["label_mm"]
    x0, y0 = layout["first_label_mm"]
    gx, gy = layout["gap_mm"]
    sw, sh = layout["sheet_mm"]
    files = [f for f in batch["files"] if f.endswith(".pdf")]
    pages_total, seq, marks = 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            path = os.path.join(d, name)
            rc, info = run("pdfinfo", path)
            if rc != 0:
                die(f"pdfinfo cannot read {name}")
            pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
            w_pt, h_pt = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups())
            if abs(w_pt - sw * 72 / 25.4) > 0.5 or abs(h_pt - sh * 72 / 25.4) > 0.5:
                die(f"{name}: pages of {w_pt}x{h_pt} pt, not {sw}x{sh} mm")
            for page in range(1, pages + 1):
                where = f"{name} page {page}"
                prefix = os.path.join(tmp, "p")
                rc, _ = run("pdftoppm", "-r", str(DPI), "-gray", "-f", str(page), "-l", str(page),
                            "-singlefile", path, prefix)
                if rc != 0:
                    die(f"pdftoppm failed on {where}")
                img = read_pgm(prefix + ".pgm")
                want, crops = [], []
                for i in range(per_page):
                    col, row = i % cols, i // cols
                    x, y = x0 + col * (lw + gx), y0 + row * (lh + gy)
                    c = crop(img, x * PX, y * PX, (x + lw) * PX, (y + lh) * PX)
                    cp = os.path.join(tmp, f"cell{i:03d}.pgm")
                    write_pgm(cp, *c)
                    crops.append(cp)
                    if seq + i < len(rows):
                        want.append(rows[seq + i]["url"])
                        marks += check_marks(img, layout, col, row, where)
                    else:
                        want.append(None)
                _, xml = run("zbarimg", "-q", "--xml", *crops)
                got = {}
                for src in ET.fromstring(xml).iter("{http://zbar.sourceforge.net/2008/barcode}source"):
                    datas = [e.text for e in src.iter("{http://zbar.sourceforge.net/2008/barcode}data")]
                    got[os.path.basename(src.get("href"))] = datas
                for i, cp in enumerate(crops):
                    g = got.get(os.path.basename(cp), [])
                    if want[i] is None and g:
                        die(f"{where}: empty cell {i} decodes to {g}")
                    if want[i] is not None and g != [want[i]]:
                        die(f"{where}: label {i} (seq {seq + i + 1}) decodes to {g}, not {want[i]}")
                labels = sum(1 for u in want if u)
                if labels != min(per_page, len(rows) - seq):
                    die(f"{where}: {labels} labels")
                rc, text = run("pdftotext", "-f", str(page), "-l", str(page), path, "-")
                for r in rows[seq:seq + labels]:
                    if r["code_grouped"] not in text:
                        die(f"{where}: pdftotext does not find {r['code_grouped']}")
                    if r.get("pin") and r["pin"] not in text:
                        die(f"{where}: pdftotext does not find the PIN {r['pin']}")
                    if r.get("pin") and "PIN" not in text:
                        die(f"{where}: no PIN caption")
                seq += labels
                pages_total += 1
            print(f"print_check: {name}: {pages} pages, every label decoded in order")
    if seq != len(rows):
        die(f"the PDFs hold {seq} labels, the CSV {len(rows)} codes")
    if pages_total != layout["pages"] or pages_total != -(-len(rows) // per_page):
        die(f"{pages_total} pages; batch.json says {layout['pages']}")
    print(f"print_check: {seq} labels on {pages_total} pages of {cols}x{nrows}, {marks} crop marks")


def unhex(data):
    return re.sub(r"_([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), data)


def check_zpl(d):
    batch, rows = load(d)
    z = batch.get("zpl") or die("batch.json has no zpl section")
    ecc = batch.get("qr_ecc", "M")
    with open(os.path.join(d, "labels.zpl"), encoding="ascii") as f:
        text = f.read()
    labels = re.findall(r"\^XA(.*?)\^XZ", text, re.S)
    rest = re.sub(r"\^XA.*?\^XZ", "", text, flags=re.S)
    if rest.strip():
        die(f"labels.zpl has text outside ^XA..^XZ: {rest.strip()[:60]!r}")
    if len(labels) != len(rows):
        die(f"labels.zpl holds {len(labels)} labels for {len(rows)} codes")
    for n, (body, row) in enumerate(zip(labels, rows), 1):
        fields = re.findall(r"\^FO(\d+),(\d+)(.*?)\^FS", body, re.S)
        qr = [f for f in fields if f[2].startswith("^BQ")]
        if len(qr) != 1:
            die(f"label {n} has {len(qr)} ^BQ fields")
        m = re.fullmatch(r"\^BQN,2,(\d+),([LMQH])(\^FH_)?\^FD([LMQH])A,(.*)", qr[0][2], re.S)
        if not m or m.group(2) != ecc or m.group(4) != ecc or int(m.group(1)) != z["magnification"]:
            die(f"label {n}: ^BQ field {qr[0][2][:40]!r} is not model 2, ECC {ecc}, "
                f"magnification {z['magnification']} with data {ecc}A,")
        url = unhex(m.group(5)) if m.group(3) else m.group(5)
        if url != row["url"]:
            die(f"label {n}: the QR holds {url}, the CSV's row {n} {row['url']}")
        texts = [re.sub(r"^.*\^FD", "", f[2], flags=re.S) for f in fields if "^A0N" in f[2]]
        if row["code_grouped"] not in texts:
            die(f"label {n}: no field with the code {row['code_grouped']}: {texts}")
        if row.get("pin") and not ("PIN: " + row["pin"] in texts or
                                   (row["pin"] in texts and "PIN" in texts and "^GB" in body)):
            die(f"label {n}: the PIN is not printed: {texts}")
        if not row.get("pin") and any("PIN" in t for t in texts):
            die(f"label {n}: a PIN field in a batch without PINs")
        w, h = z["label_dots"]
        if f"^PW{w}" not in body or f"^LL{h}" not in body:
            die(f"label {n} is not {w}x{h} dots")
        for x, y, _ in fields:
            if int(x) >= w or int(y) >= h:
                die(f"label {n}: a field at {x},{y} outside the label")
    print(f"print_check: labels.zpl: {len(labels)} labels, each ^BQ holding its CSV URL, in order")


def read_png_1bit(path):
    """Width, height and rows (bytes, 1 bit a pixel, 1 = white) of a 1-bit gray PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        die(f"{path} is not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, color, interlace) != (1, 0, 0):
                die(f"{path} is not 1-bit gray, non-interlaced")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), (w + 7) // 8 + 1
    rows = [raw[y * stride:(y + 1) * stride] for y in range(h)]
    if any(r[0] != 0 for r in rows):
        die(f"{path}: row filters other than none")
    return w, h, [r[1:] for r in rows]


def check_qr(path, px=8, quiet=4):
    """ISO/IEC 18004 format information, read as a reader does (ZXing's order)."""
    w, _, rows = read_png_1bit(path)
    modules = w // px - 2 * quiet

    def dark(x, y):
        cx, cy = (quiet + x) * px + px // 2, (quiet + y) * px + px // 2
        return not (rows[cy][cx // 8] >> (7 - cx % 8)) & 1

    bits = 0
    for x, y in [(0, 8), (1, 8), (2, 8), (3, 8), (4, 8), (5, 8), (7, 8), (8, 8), (8, 7),
                 (8, 5), (8, 4), (8, 3), (8, 2), (8, 1), (8, 0)]:
        bits = bits << 1 | dark(x, y)
    level = "MLHQ"[(bits ^ 0x5412) >> 13]
    print(f"{modules} {level}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("pdf", "zpl", "qr"):
        die("usage: print_check.py pdf|zpl DIR, or print_check.py qr PNG")
    {"pdf": check_pdf, "zpl": check_zpl, "qr": check_qr}[sys.argv[1]](sys.argv[2])
