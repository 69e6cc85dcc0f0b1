#!/usr/bin/env python3
"""PDF/A-2b/3b output of `craftkit render --pdfa`, checked with independent tools.

No PDF/A validator is packaged in Debian, so each rule of docs/einvoice.md's checklist is
checked here with qpdf (--check, --json), xmllint and poppler (pdffonts). Usage:
    check_pdfa.py CRAFTKIT_BIN GOLDEN_INVOICE_DIR OUT_DIR
"""
import base64
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

BIN, INV, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(OUT, exist_ok=True)
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "einvoice")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, **kw)


def render(name, *extra, layout=None, data=None):
    out = os.path.join(OUT, name)
    args = [BIN, "render", "--layout", layout or f"{INV}/layout.json", "--data", data or f"{INV}/data.json",
            "-o", out, "--creation-time", "1767225600", "--quiet", *extra]
    p = run(*args)
    check(p.returncode == 0, f"{name}: craftkit render {' '.join(extra)} ({p.stderr.decode()[:300]})")
    return out


def qpdf_json(path):
    p = run("qpdf", "--json=2", "--json-stream-data=inline", "--decode-level=generalized", path)
    check(p.returncode == 0, f"{path}: qpdf --json")
    d = json.loads(p.stdout)
    objs = d["qpdf"][1]
    return {k[4:]: v for k, v in objs.items() if k.startswith("obj:")}, objs["trailer"]["value"]


def deref(objs, ref):
    return objs[ref]


def text(v):
    """A qpdf JSON v2 string value as text."""
    if v.startswith("u:"):
        return v[2:]
    if v.startswith("b:"):
        b = bytes.fromhex(v[2:])
        return b[2:].decode("utf-16-be") if b[:2] == b"\xfe\xff" else b.decode("latin-1")
    return v


def stream_bytes(o):
    return base64.b64decode(o["stream"]["data"])


def pdfa_checks(path, part, with_link=False):  # noqa: C901
    p = run("qpdf", "--check", path)
    check(p.returncode == 0 and b"No syntax or stream encoding errors" in p.stdout, f"{path}: qpdf --check clean")
    raw = open(path, "rb").read()
    check(raw.startswith(b"%PDF-1.") and raw[8:9] == b"\n" and all(c > 127 for c in raw[10:14]),
          "header %PDF-1.n then a comment of 4 bytes > 127 (6.1.2)")
    check(raw.rstrip(b"\r\n").endswith(b"%%EOF"), "%%EOF ends the file (6.1.3)")
    objs, trailer = qpdf_json(path)
    check("/Encrypt" not in trailer, "no /Encrypt in the trailer (6.1.3)")
    ids = trailer.get("/ID", [])
    check(len(ids) == 2 and all(len(i) > 10 for i in ids), "trailer /ID with two strings (6.1.3)")
    cat = objs[trailer["/Root"]]["value"]
    info = objs[trailer["/Info"]]["value"]
    # OutputIntent: GTS_PDFA1 with an embedded RGB ICC profile
    ois = cat.get("/OutputIntents", [])
    check(len(ois) == 1, "one OutputIntent (6.2.3)")
    oi = objs[ois[0]]["value"] if ois else {}
    check(oi.get("/S") == "/GTS_PDFA1", "OutputIntent /S /GTS_PDFA1")
    prof = objs.get(oi.get("/DestOutputProfile", ""), {})
    icc = stream_bytes(prof) if prof else b""
    check(prof.get("stream", {}).get("dict", {}).get("/N") == 3 and icc[36:40] == b"acsp" and icc[16:20] == b"RGB ",
          "DestOutputProfile: an RGB ICC profile with /N 3")
    check(icc == open("/usr/share/color/icc/sRGB.icc", "rb").read(), "the profile is icc-profiles-free's sRGB")
    # XMP
    md = objs.get(cat.get("/Metadata", ""), {})
    mdict = md.get("stream", {}).get("dict", {})
    check(mdict.get("/Type") == "/Metadata" and mdict.get("/Subtype") == "/XML" and "/Filter" not in mdict,
          "catalog /Metadata: an unfiltered XML metadata stream (6.6.2.1)")
    xmp = stream_bytes(md) if md else b""
    xmp_path = path + ".xmp"
    open(xmp_path, "wb").write(xmp)
    p = run("xmllint", "--noout", "--nonet", xmp_path)
    check(p.returncode == 0, f"xmllint parses the XMP ({p.stderr.decode()[:200]})")
    check(xmp.startswith(b'<?xpacket begin="\xef\xbb\xbf"') and xmp.endswith(b'<?xpacket end="w"?>'),
          "the XMP is one xpacket (6.6.2.2)")
    root = ET.fromstring(xmp)

    def prop(path_):
        e = root.find(".//" + path_, NS)
        return e.text if e is not None else None

    check(prop("pdfaid:part") == str(part) and prop("pdfaid:conformance") == "B", f"pdfaid:part {part}, conformance B")
    pairs = [("/Title", "dc:title/rdf:Alt/rdf:li"), ("/Author", "dc:creator/rdf:Seq/rdf:li"),
             ("/Subject", "dc:description/rdf:Alt/rdf:li"), ("/Keywords", "pdf:Keywords"),
             ("/Creator", "xmp:CreatorTool"), ("/Producer", "pdf:Producer")]
    for k, x in pairs:
        iv = text(info[k]) if k in info else None
        check(iv == prop(x), f"Info {k} = XMP {x} ({iv!r} / {prop(x)!r}) (6.6.3)")
    check(text(info["/CreationDate"]) == "D:20260101000000+00'00'" and prop("xmp:CreateDate") == "2026-01-01T00:00:00+00:00",
          "CreationDate = xmp:CreateDate")
    check(text(info["/ModDate"]) == "D:20260101000000+00'00'" and prop("xmp:ModifyDate") == "2026-01-01T00:00:00+00:00",
          "ModDate = xmp:ModifyDate")
    # no JavaScript, no external content, no forbidden actions, image dicts without Interpolate
    for k, o in objs.items():
        v = o.get("value") or o.get("stream", {}).get("dict") or {}
        if not isinstance(v, dict):
            continue
        if v.get("/S") in ("/JavaScript", "/Launch", "/ImportData", "/ResetForm", "/SubmitForm", "/Sound", "/Movie"):
            check(False, f"object {k}: forbidden action {v.get('/S')} (6.5.1)")
        if v.get("/Subtype") == "/Image":
            check(v.get("/Interpolate") is not True, f"image {k}: no /Interpolate true (6.2.8)")
        if v.get("/Type") == "/Annot":
            check(isinstance(v.get("/F"), int) and v["/F"] & 4 and not v["/F"] & 3, f"annotation {k}: /F with Print (6.3.2)")
        for bad in ("/JS", "/AA", "/OpenAction", "/Encrypt", "/XFA", "/NeedsRendering"):
            if bad in v:
                check(False, f"object {k}: {bad} (6.1/6.5)")
    check(not re.search(rb"/JavaScript|/Launch\b", raw), "no /JavaScript or /Launch anywhere")
    if with_link:
        check(any(isinstance(o.get("value"), dict) and o["value"].get("/Type") == "/Annot" for o in objs.values()),
              "the link annotation is there")
    # fonts: all embedded
    p = run("pdffonts", path)
    lines = p.stdout.decode().splitlines()[2:]
    check(p.returncode == 0 and lines and all(l.split()[-5] == "yes" for l in lines), "pdffonts: every font embedded (6.2.11.4)")
    return objs, trailer, cat, root


def embedded(path, objs, cat, files, part):
    """files: {name: (bytes, mime, relationship)}: the name tree, /AF, file specs, pdfdetach."""
    names = objs_val(objs, cat.get("/Names", {})).get("/EmbeddedFiles", {})
    names = objs_val(objs, names).get("/Names", [])
    keys = [text(k) for k in names[0::2]]
    check(keys == sorted(files, key=lambda n: n.encode("utf-16-be")) or keys == sorted(files),
          f"/EmbeddedFiles name tree lists {sorted(files)} in order ({keys})")
    af = cat.get("/AF")
    if part == 3:
        check(isinstance(af, list) and len(af) == len(files), "catalog /AF lists every embedded file (6.8)")
    else:
        check(af is None, "no /AF outside PDF/A-3")
    for k, ref in zip(keys, names[1::2]):
        spec = objs[ref]["value"]
        data, mime, rel = files[k]
        check(text(spec.get("/F", "")) == k and text(spec.get("/UF", "")) == k, f"{k}: /F and /UF (6.8)")
        if part == 3:
            check(spec.get("/AFRelationship") == "/" + rel, f"{k}: /AFRelationship /{rel} (6.8)")
            check(ref in af, f"{k}: in /AF")
        ef = objs[spec["/EF"]["/F"]]["stream"]["dict"]
        check(ef.get("/Subtype") == "/" + mime, f"{k}: /Subtype {mime} ({ef.get('/Subtype')}) (6.8)")
        check(ef.get("/Params", {}).get("/Size") == len(data) and "/ModDate" in ef.get("/Params", {}), f"{k}: /Params /Size /ModDate")
    p = run("pdfdetach", "-list", path)
    listed = [l.split(": ", 1)[1] for l in p.stdout.decode().splitlines()[1:]]
    check(sorted(listed) == sorted(files), f"pdfdetach -list: {listed}")
    for i, name in enumerate(listed, 1):
        dest = os.path.join(OUT, "detached-" + str(i))
        p = run("pdfdetach", "-save", str(i), "-o", dest, path)
        check(p.returncode == 0 and open(dest, "rb").read() == files[name][0], f"pdfdetach -save {name}: byte for byte")


def objs_val(objs, v):
    return objs[v]["value"] if isinstance(v, str) and v.endswith(" R") else v


# 1. the standard invoice as PDF/A-3b and -2b
for part in (3, 2):
    pdfa_checks(render(f"invoice-{part}b.pdf", "--pdfa", f"{part}b", "--compression", "standard"), part)
# 2. identical bytes for identical input (the ID is a digest, the date is pinned)
a = open(render("same-1.pdf", "--pdfa", "3b"), "rb").read()
b = open(render("same-2.pdf", "--pdfa", "3b"), "rb").read()
check(a == b, "the same input gives identical PDF/A bytes")
# 3. a link (annotation flags), an image (Interpolate), outline headings, non-ASCII metadata
def make_png(w, h):
    import struct
    import zlib

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    rows = b"".join(b"\0" + bytes((x * 40 % 256, y * 40 % 256, 128) * 1)[:3] * 1 for y in range(h) for x in range(1))
    rows = b"".join(b"\0" + b"".join(bytes((x * 40 % 256, y * 40 % 256, 128)) for x in range(w)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


png = base64.b64encode(make_png(4, 4)).decode()
layout = {
    "metadata": {"title": "Grüße (Archiv) \\ ü", "author": "Zoë & <Co>", "subject": "PDF/A", "keywords": "a, b"},
    "body": [
        {"type": "heading", "text": "Heading one"},
        {"text": "example.com/terms", "link": "https://example.com/terms"},
        {"type": "image", "src": "data:image/png;base64," + png, "width": 100, "height": 100},
        {"type": "pageBreak"},
        {"text": "second page"},
    ],
}
lp = os.path.join(OUT, "link-layout.json")
json.dump(layout, open(lp, "w"))
ep = os.path.join(OUT, "empty.json")
open(ep, "w").write("{}")
pdfa_checks(render("link.pdf", "--pdfa", "3b", layout=lp, data=ep), 3, with_link=True)
# 4. pageConfig.pdfa is the default; a bad value is a usage error
pc = os.path.join(OUT, "pc.json")
json.dump({"pdfa": "2b"}, open(pc, "w"))
pdfa_checks(render("pc.pdf", "--page-config", pc), 2)
p = run(BIN, "render", "--layout", f"{INV}/layout.json", "-o", os.path.join(OUT, "x.pdf"), "--pdfa", "1a")
check(p.returncode == 2 and b"bad value for --pdfa" in p.stderr, "--pdfa 1a is refused")
# 5. a plain render is unchanged: no update appended
plain = open(render("plain.pdf"), "rb").read()
check(plain.count(b"startxref") == 1 and b"GTS_PDFA1" not in plain, "without --pdfa the PDF is cairo's alone")

# 6. Factur-X (EN 16931 → Alternative) with an attachment, and MINIMUM (→ Data)
xml = open(os.path.join(DATA, "factur-x.xml"), "rb").read()
att = open(f"{INV}/data.json", "rb").read()
# The XML's guideline id (BT-24) must be the profile's: each profile gets its own copy.
GUIDELINES = {"EN 16931": b"urn:cen.eu:en16931:2017", "MINIMUM": b"urn:factur-x.eu:1p0:minimum",
              "XRECHNUNG": b"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"}
for profile, rel in (("EN 16931", "Alternative"), ("MINIMUM", "Data"), ("XRECHNUNG", "Alternative")):
    fname = "xrechnung.xml" if profile == "XRECHNUNG" else "factur-x.xml"
    pxml = xml.replace(b"urn:cen.eu:en16931:2017</", GUIDELINES[profile] + b"</", 1)
    pxml_path = os.path.join(OUT, f"fx-{profile.replace(' ', '')}.xml")
    open(pxml_path, "wb").write(pxml)
    path = render(f"fx-{profile.replace(' ', '')}.pdf", "--facturx", pxml_path,
                  "--facturx-profile", profile, "--attach", f"{INV}/data.json:application/json")
    objs, trailer, cat, root = pdfa_checks(path, 3)
    embedded(path, objs, cat, {fname: (pxml, "text/xml", rel), "data.json": (att, "application/json", "Unspecified")}, 3)
    fx = {k: (root.find(".//fx:" + k, NS).text if root.find(".//fx:" + k, NS) is not None else None)
          for k in ("DocumentType", "DocumentFileName", "Version", "ConformanceLevel")}
    check(fx == {"DocumentType": "INVOICE", "DocumentFileName": fname, "Version": "1.0", "ConformanceLevel": profile},
          f"XMP fx: properties for {profile} ({fx})")
    schema = root.find(".//pdfaExtension:schemas//pdfaSchema:namespaceURI", NS)
    props = [e.text for e in root.findall(".//pdfaSchema:property//pdfaProperty:name", NS)]
    check(schema is not None and schema.text == NS["fx"] and root.find(".//pdfaSchema:prefix", NS).text == "fx" and
          sorted(props) == ["ConformanceLevel", "DocumentFileName", "DocumentType", "Version"],
          "the PDF/A extension schema describes every fx: property (6.6.2.3)")
# 7. attachments without PDF/A: plain embedded files, no /AF
path = render("attach-plain.pdf", "--attach", f"{INV}/data.json:application/json")
objs, trailer = qpdf_json(path)
embedded(path, objs, objs[trailer["/Root"]]["value"], {"data.json": (att, "application/json", "Unspecified")}, 0)
# 8. refusals: Factur-X on 2b, a DOCTYPE, an unknown profile, a path-trick name
bad_xml = os.path.join(OUT, "xxe.xml")
open(bad_xml, "w").write('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
for args, msg in (((("--pdfa", "2b", "--facturx", os.path.join(DATA, "factur-x.xml"))), b"Factur-X needs PDF/A-3b"),
                  (("--facturx", bad_xml), b"DOCTYPE"),
                  (("--facturx", os.path.join(DATA, "factur-x.xml"), "--facturx-profile", "COMFORT"), b"--facturx-profile"),
                  (("--facturx", os.path.join(DATA, "factur-x.xml"), "--facturx-profile", "MINIMUM"), b"(BT-24, EN 16931)"),
                  (("--attach", "/etc/..:text/plain"), b"must not start with a dot")):
    p = run(BIN, "render", "--layout", f"{INV}/layout.json", "--data", f"{INV}/data.json", "-o",
            os.path.join(OUT, "refused.pdf"), *args)
    check(p.returncode == 1 and msg in p.stderr, f"refused: {' '.join(args)} ({p.stderr.decode()[:200]})")

# 9. generated e-invoice: the standard invoice with docs/einvoice.md's mapping
mapping = json.load(open(os.path.join(DATA, "mapping.json")))
doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "einvoice.md")).read()
block = re.search(r"```json einvoice\n(.*?)```", doc, re.S)
check(block is not None and json.loads(block.group(1)) == mapping, "docs/einvoice.md's mapping is the tested one")
lay = json.load(open(f"{INV}/layout.json"))
lay["einvoice"] = mapping
lp = os.path.join(OUT, "einvoice-layout.json")
json.dump(lay, open(lp, "w"))
p = run(BIN, "render", "--layout", lp, "--manifest", f"{INV}/manifest.json", "--data", f"{INV}/data.json", "-o",
        os.path.join(OUT, "einvoice.pdf"), "--creation-time", "1767225600")
check(p.returncode == 0, f"the standard invoice renders as a generated e-invoice ({p.stderr.decode()[:300]})")
objs, trailer, cat, root = pdfa_checks(os.path.join(OUT, "einvoice.pdf"), 3)
check(root.find(".//fx:ConformanceLevel", NS).text == "EN 16931", "generated: fx:ConformanceLevel EN 16931")
gen = os.path.join(OUT, "generated.xml")
p = run("pdfdetach", "-save", "1", "-o", gen, os.path.join(OUT, "einvoice.pdf"))
check(p.returncode == 0 and run("xmllint", "--noout", "--nonet", gen).returncode == 0, "the generated XML parses")
x = ET.parse(gen).getroot()
R = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
inv = json.load(open(f"{INV}/data.json"))
summ = x.find(f".//{R}SpecifiedTradeSettlementHeaderMonetarySummation")
got = {t: summ.find(R + t).text for t in ("LineTotalAmount", "TaxTotalAmount", "GrandTotalAmount", "DuePayableAmount")}
check(got == {"LineTotalAmount": f"{inv['subtotal']:.2f}", "TaxTotalAmount": f"{inv['vat']:.2f}",
              "GrandTotalAmount": f"{inv['total']:.2f}", "DuePayableAmount": f"{inv['total']:.2f}"},
      f"generated totals match the invoice ({got})")
check(len(x.findall(f".//{R}IncludedSupplyChainTradeLineItem")) == len(inv["items"]), "one CII line per item")
check(x.find(f".//{R}SellerTradeParty/{R}Name").text == inv["company"]["name"] and
      x.find(f".//{R}IBANID").text == "DE89370400440532013000", "seller and IBAN from the mapping")
# the arithmetic checks, at the data's paths
bad = json.loads(json.dumps(inv))
bad["items"][2]["total"] += 1
bad["vat"] = 1.0
bad["subtotal"] += 5
bp = os.path.join(OUT, "bad-einvoice.json")
json.dump(bad, open(bp, "w"))
p = run(BIN, "render", "--layout", lp, "--manifest", f"{INV}/manifest.json", "--data", bp, "-o", os.path.join(OUT, "x.pdf"))
err = p.stderr.decode()
check(p.returncode == 1 and "data.items.2.total: The line total" in err and "BR-LIN-04" in err and
      "data.vat: vat is 1.00" in err and "BR-CO-14" in err and "data.subtotal" in err and "BR-CO-10" in err,
      f"line, VAT and net totals that do not add up are refused at their paths ({err[:400]})")
# a mapping with problems fails at publish time, at its paths
lay["einvoice"] = {"mapping": {"number": "invoice.number", "seller": {"name": 3}, "colour": "x"}}
json.dump(lay, open(lp, "w"))
p = run(BIN, "render", "--layout", lp, "-o", os.path.join(OUT, "x.pdf"))
err = p.stderr.decode()
check(p.returncode == 1 and "layout.einvoice.mapping.colour: Unknown e-invoice term" in err and
      "layout.einvoice.mapping.seller.name: Expected a data path" in err and
      "layout.einvoice.mapping.issueDate: Required" in err, f"bad mappings are refused ({err[:400]})")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
