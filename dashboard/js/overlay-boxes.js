// overlay-boxes — where the placements of a pdf-overlay layout (docs/templates.md, "PDF
// overlays") go on a page, for the editor's picture of the base page: boxes in pt from the
// page's top-left as shown, as the server places them. Lengths are numbers (pt) or strings with
// pt, mm, cm, in or px (0.75 pt); a box whose size the placement leaves to its content gets a
// size that shows where it starts (a text: to the page's right edge, one line high).

const UNITS = { pt: 1, mm: 72 / 25.4, cm: 72 / 2.54, in: 72, px: 0.75 };

// A length in pt, or null when it is not one.
export function lengthPt(v) {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  const m = typeof v === "string" ? /^\s*(-?\d+(?:\.\d+)?)\s*(pt|mm|cm|in|px)?\s*$/.exec(v) : null;
  return m ? Number(m[1]) * UNITS[m[2] || "pt"] : null;
}

const onPage = (p, page) => p === "all" || (p ?? 1) === page;

// The boxes of the placements on page (1-based) of a page pageWidth pt wide:
// [{index, type, x, y, w, h}] in pt. Placements that are not objects or have no position are
// left out (the server reports them when the layout is saved or previewed).
export function overlayBoxes(layout, page, pageWidth) {
  const fields = Array.isArray(layout?.fields) ? layout.fields : [];
  const boxes = [];
  fields.forEach((f, index) => {
    if (!f || typeof f !== "object" || !onPage(f.page, page)) return;
    const x = lengthPt(f.x ?? 0), y = lengthPt(f.y ?? 0);
    if (x === null || y === null) return;
    const font = lengthPt(f.fontSize) ?? 10;
    let w = lengthPt(f.width), h = lengthPt(f.height);
    if (f.type === "qr") w = h = lengthPt(f.size) ?? 60;
    if (f.type === "line") h = Math.max(lengthPt(f.thickness) ?? 1, 1);
    if (f.type === "checkbox") { w = w ?? font; h = h ?? font * 1.2; }
    w = w ?? Math.max(pageWidth - x, 1);
    h = h ?? (f.type === "image" || f.type === "barcode" ? w : font * 1.2);
    boxes.push({ index, type: String(f.type ?? "text"), x, y, w, h });
  });
  return boxes;
}
