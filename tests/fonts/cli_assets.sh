#!/usr/bin/env bash
# cli_assets.sh CRAFTKIT OUTDIR — `craftkit render --assets DIR` uses every font file in DIR as
# an uploaded font (issue 18): Roboto renamed to the family "Brand" (Debian's python3 with
# fontTools and brotli, scripts/deps) as TTF and as WOFF2 renders with Roboto's glyphs, a
# bold text picks the Bold file, images of DIR still work as asset:NAME, a pdf-overlay layout's
# placements use them too, and without the directory "Brand" is an issue of the layout.
set -euo pipefail
craftkit="$1"; out="$2"
rm -rf "$out"; mkdir -p "$out/ttf" "$out/woff2"
roboto=/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF
/usr/bin/python3 - "$roboto" "$out" <<'PY'
import sys
from fontTools.ttLib import TTFont
src, out = sys.argv[1], sys.argv[2]
for face in ("Regular", "Bold"):
    f = TTFont(f"{src}/Roboto-{face}.ttf")
    for rec in f["name"].names:
        if rec.nameID in (1, 16):
            rec.string = "Brand"
    f.save(f"{out}/ttf/brand-{face}.ttf")
    f.flavor = "woff2"
    f.save(f"{out}/woff2/brand-{face}.woff2")
PY
/usr/bin/python3 -c "
import zlib, struct, sys
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(b'\0\0\0\0')) + chunk(b'IEND', b''))" "$out/ttf/logo.png"
cat > "$out/layout.json" <<'JSON'
{"body": [{"text": "Hello brand", "font": "Brand"}, {"text": "Bold brand", "font": "Brand", "bold": true}]}
JSON
cat > "$out/logo.json" <<'JSON'
{"body": [{"text": "Hello brand", "font": "Brand"}, {"type": "image", "src": "asset:logo.png", "width": 20}]}
JSON
for kind in ttf woff2; do
  "$craftkit" render --quiet --layout "$out/layout.json" --assets "$out/$kind" -o "$out/$kind.pdf"
  fonts="$(pdffonts "$out/$kind.pdf")"
  grep -q '+Roboto-Regular' <<<"$fonts" || { echo "$kind: no Roboto-Regular:"; echo "$fonts"; exit 1; }
  grep -q '+Roboto-Bold' <<<"$fonts" || { echo "$kind: no Roboto-Bold:"; echo "$fonts"; exit 1; }
  if grep -q 'DejaVu' <<<"$fonts"; then echo "$kind: fell back to DejaVu:"; echo "$fonts"; exit 1; fi
done
"$craftkit" render --quiet --layout "$out/logo.json" --assets "$out/ttf" -o "$out/logo.pdf"
[[ "$(pdfimages -list "$out/logo.pdf" | tail -n +3 | wc -l)" -eq 1 ]] || { echo "the image asset is missing"; exit 1; }
if "$craftkit" render --quiet --layout "$out/layout.json" -o "$out/none.pdf" 2>"$out/none.err"; then
  echo "rendered without the fonts"; exit 1
fi
grep -q 'body.0.font' "$out/none.err" || { cat "$out/none.err"; exit 1; }
# A pdf-overlay layout's placements may name the fonts of DIR too (they were refused offline).
echo '{"body": ["The base page"]}' > "$out/base.json"
"$craftkit" render --quiet --layout "$out/base.json" -o "$out/base.pdf"
cat > "$out/overlay.json" <<'JSON'
{"templateType": "pdf-overlay", "base": "asset:base",
 "fields": [{"type": "text", "page": 1, "x": 40, "y": 100, "text": "Hello brand", "font": "Brand"}]}
JSON
"$craftkit" render --quiet --layout "$out/overlay.json" --base "$out/base.pdf" --assets "$out/ttf" -o "$out/overlay.pdf"
grep -q '+Roboto-Regular' <<<"$(pdffonts "$out/overlay.pdf")" || { echo "overlay: no Roboto-Regular"; exit 1; }
if "$craftkit" render --quiet --layout "$out/overlay.json" --base "$out/base.pdf" -o "$out/none.pdf" 2>"$out/none.err"; then
  echo "rendered the overlay without the fonts"; exit 1
fi
grep -q 'fields.0.font' "$out/none.err" || { cat "$out/none.err"; exit 1; }
echo "cli_assets: ok"
