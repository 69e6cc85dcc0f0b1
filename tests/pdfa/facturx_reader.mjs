// An independent Factur-X reader (npm factur-x-kit, test-only: tests/package.json) reads back
// the invoices craftkit writes (issue 21): the options.facturx path (`--facturx`, the XML given
// by the user: the reader must find the same invoice in the PDF as in the XML file) and the
// generated path (a template with docs/einvoice.md's mapping: the reader must find the
// invoice's number, parties, lines and totals from the data).
// Usage: node facturx_reader.mjs CRAFTKIT_BIN SOURCE_DIR OUT_DIR
// Exit 0 when both read back, 1 otherwise, 77 (skipped) when factur-x-kit is not installed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [bin, root, out] = process.argv.slice(2);
if (!bin || !root || !out) {
  console.error("usage: node facturx_reader.mjs CRAFTKIT_BIN SOURCE_DIR OUT_DIR");
  process.exit(2);
}
let FacturX;
try {
  ({ FacturX } = await import("factur-x-kit"));
} catch (e) {
  console.log(`SKIP: factur-x-kit is not installed (run scripts/test-node-deps): ${e.message}`);
  process.exit(77);
}
mkdirSync(out, { recursive: true });
const inv = path.join(root, "tests/golden/invoice");
const xmlPath = path.join(root, "tests/data/einvoice/factur-x.xml");
let failed = 0;

function render(name, ...args) {
  const pdf = path.join(out, name);
  execFileSync(bin, ["render", "--manifest", path.join(inv, "manifest.json"), "--data", path.join(inv, "data.json"),
    "-o", pdf, "--creation-time", "1767225600", "--quiet", ...args], { stdio: "inherit" });
  return readFileSync(pdf);
}

async function check(what, fn) {
  try {
    await fn();
    console.log(`ok   ${what}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${what}\n${e.stack || e}`);
  }
}

// 1. options.facturx: the invoice in the PDF is the XML's, field for field
await check("factur-x-kit reads the --facturx invoice back as the XML it was given", async () => {
  const pdf = render("fx-reader.pdf", "--layout", path.join(inv, "layout.json"), "--facturx", xmlPath,
    "--facturx-profile", "EN 16931");
  const fromPdf = await FacturX.fromPDF(pdf);
  const fromXml = await FacturX.fromXML(readFileSync(xmlPath));
  assert.deepEqual(fromPdf.object, fromXml.object);
  assert.equal(fromPdf.object.profile, "urn:cen.eu:en16931:2017");
  assert.ok(fromPdf.object.document.id, "a document number");
});

// 2. the generated e-invoice: number, parties, lines and totals come from the data
await check("factur-x-kit reads the generated e-invoice (docs/einvoice.md's mapping)", async () => {
  const layout = JSON.parse(readFileSync(path.join(inv, "layout.json"), "utf8"));
  layout.einvoice = JSON.parse(readFileSync(path.join(root, "tests/data/einvoice/mapping.json"), "utf8"));
  const lp = path.join(out, "fx-reader-layout.json");
  writeFileSync(lp, JSON.stringify(layout));
  const o = (await FacturX.fromPDF(render("fx-reader-generated.pdf", "--layout", lp))).object;
  const data = JSON.parse(readFileSync(path.join(inv, "data.json"), "utf8"));
  assert.equal(o.profile, "urn:cen.eu:en16931:2017");
  assert.equal(o.document.id, data.invoice.number);
  assert.equal(o.document.currency, "EUR");
  assert.equal(o.seller.name, data.company.name);
  assert.equal(o.buyer.name, data.customer.name);
  assert.equal(o.invoiceLines.length, data.items.length);
  assert.equal(o.totals.netTotal, data.subtotal);
  assert.equal(o.totals.taxTotal[0].amount, data.vat);
  assert.equal(o.totals.grossTotal, data.total);
  assert.equal(o.totals.openAmount, data.total);
});

process.exit(failed ? 1 : 0);
