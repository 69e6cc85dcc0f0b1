#!/usr/bin/python3
"""cff_glyphs.py CRAFTKIT OUTDIR — every embedded CFF glyph of a CJK document has an outline.

cairo 1.16's CFF subsetter empties subroutines that some glyphs call (engine/cfffix.c repairs
them); viewers then draw such glyphs as blanks (poppler) or reject them (MuPDF). This renders
every GB2312 level-1 hanzi, JIS X 0208 level-1 kanji and KS X 1001 hangul syllable in the Noto
Sans and Serif CJK fonts, regular and bold, extracts each embedded font program with
`mutool extract` and draws every glyph with fontTools: each must draw without error and have
ink, and the same outline as the glyph in the installed font. Needs mupdf-tools and python3-fonttools (scripts/deps, test set).
"""
import glob
import io
import json
import os
import subprocess
import sys

from fontTools.cffLib import CFFFontSet
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont


def charset(codec, rows, last):
    """Characters of the EUC rows `rows` (0xB0 = row 16) up to the code `last`."""
    out = []
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            if (hi << 8 | lo) > last:
                break
            try:
                out.append(bytes([hi, lo]).decode(codec))
            except UnicodeDecodeError:
                pass
    return "".join(out)


SETS = {
    "issue15": ("如果您有任何问题，请与我们联系。", "SC", 16),
    "gb2312": (charset("gb2312", range(0xB0, 0xD8), 0xD7F9), "SC", 3755),
    "jis1": (charset("euc_jp", range(0xB0, 0xD0), 0xCFD3), "JP", 2965),
    "hangul": (charset("euc_kr", range(0xB0, 0xC9), 0xC8FE), "KR", 2350),
}


class Original:
    """The installed font a family resolves to: its charstrings by their bytes (cairo copies
    charstrings unchanged, so an embedded glyph finds its original that way)."""

    def __init__(self, family, bold):
        spec = subprocess.run(["fc-match", "--format", "%{file}:%{index}", "%s:weight=%d" % (family, 200 if bold else 80)],
                              check=True, capture_output=True, text=True).stdout
        path, index = spec.rsplit(":", 1)
        font = TTFont(path, fontNumber=int(index), lazy=True)
        cff = font["CFF "].cff
        self.top = cff[cff.fontNames[0]]
        index = self.top.CharStrings.charStringsIndex
        self.by_bytes = {}
        for gid in range(len(index)):
            self.by_bytes.setdefault(index[gid].bytecode, gid)

    def outline(self, code):
        gid = self.by_bytes.get(code)
        if gid is None:
            return None
        pen = RecordingPen()
        self.top.CharStrings[self.top.charset[gid]].draw(pen)
        return pen.value


def check_font(path, original):
    with open(path, "rb") as f:
        data = f.read()
    if data[:1] != b"\x01":
        return 0, ["%s is not a bare CFF font program" % os.path.basename(path)]
    fs = CFFFontSet()
    fs.decompile(io.BytesIO(data), None)
    top = fs[fs.fontNames[0]]
    bad = []
    for name in top.charset[1:]:  # .notdef aside
        cs = top.CharStrings[name]
        code = cs.bytecode  # before drawing, which decompiles it
        try:
            pen = RecordingPen()
            cs.draw(pen)
        except Exception as e:  # an emptied subroutine makes the charstring undrawable
            bad.append("%s (%s)" % (name, e))
            continue
        want = original.outline(code)
        if not pen.value:
            bad.append(name + " (no outline)")
        elif want is None:
            bad.append(name + " (not a glyph of the original font)")
        elif pen.value != want:
            bad.append(name + " (outline differs from the original)")
    return len(top.charset) - 1, bad


def render_and_check(craftkit, out, tag, text, family, bold, original):
    """Renders text in one document; returns (glyphs embedded, problems)."""
    layout = {"page": {"size": "A4", "margins": "10mm"},
              "body": [{"type": "text", "text": text, "font": family, "bold": bold, "fontSize": 9}]}
    lpath = os.path.join(out, tag + ".json")
    pdf = os.path.join(out, tag + ".pdf")
    with open(lpath, "w") as f:
        json.dump(layout, f, ensure_ascii=False)
    subprocess.run([craftkit, "render", "--layout", lpath, "-o", pdf, "--quiet"], check=True)
    xdir = os.path.join(out, tag + "-fonts")
    os.makedirs(xdir, exist_ok=True)
    for old in glob.glob(os.path.join(xdir, "*")):
        os.remove(old)
    subprocess.run(["mutool", "extract", os.path.abspath(pdf)], cwd=xdir, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total, bad = 0, []
    for fp in glob.glob(os.path.join(xdir, "font-*")):
        n, b = check_font(fp, original)
        total += n
        bad += b
    return total, bad


# cairo subsets each document's glyphs once; when one glyph of a large set confuses its scanner
# badly enough it keeps every subroutine, which hides the defect. Documents of CHUNK characters
# keep subsets as small as real documents.
CHUNK = int(os.environ.get("CFF_GLYPHS_CHUNK", "400"))


def main():
    craftkit, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    failed = False
    for key, (text, region, want) in SETS.items():
        if len(text) != want:
            print("%s: %d characters, expected %d" % (key, len(text), want))
            failed = True
        for family in ("Noto Sans CJK " + region, "Noto Serif CJK " + region):
            for bold in (False, True):
                name = "%s-%s%s" % (key, family.replace(" ", ""), "-bold" if bold else "")
                original = Original(family, bold)
                total, bad = 0, []
                for k in range(0, len(text), CHUNK):
                    n, b = render_and_check(craftkit, out, "%s-%d" % (name, k), text[k:k + CHUNK], family, bold,
                                            original)
                    total += n
                    bad += b
                print("%s: %d glyphs, %d without a usable outline" % (name, total, len(bad)))
                if bad:
                    print("  e.g. " + ", ".join(bad[:8]))
                    failed = True
                if total < want:
                    print("  expected at least %d glyphs" % want)
                    failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
