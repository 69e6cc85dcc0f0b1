#!/usr/bin/env python3
"""Data of the grouped_invoice golden: 3 categories x 25 lines (sorted by category, as groupBy
expects), prices with cents that a binary floating-point sum would drift on. Prints data.json and,
on stderr, the exact sums expect.json checks (python3 make_data.py > data.json)."""
import json, sys
from decimal import Decimal

cats = ["Bearings", "Fasteners", "Seals"]
items = []
for c, cat in enumerate(cats):
    for i in range(25):
        n = c * 25 + i
        price = Decimal(1 + (n * 37) % 90) + Decimal((n * 13) % 100) / 100
        qty = 1 + (n * 7) % 5
        items.append({"category": cat, "name": f"{cat[:-1]} part {n + 1:03d}", "qty": qty,
                      "price": float(price), "total": float(price * qty), "vatRate": 20 if n % 3 else 10})
data = {"invoice": {"number": "INV-2026-0419", "currency": "EUR"}, "items": items}
json.dump(data, sys.stdout, indent=1)
print()
def d(x):
    return Decimal(repr(x))
for cat in cats:
    print(cat, sum(d(it["total"]) for it in items if it["category"] == cat), file=sys.stderr)
print("all", sum(d(it["total"]) for it in items), file=sys.stderr)
print("vat20", sum(d(it["total"]) for it in items if it["vatRate"] == 20), file=sys.stderr)
print("float sum", sum(it["total"] for it in items), file=sys.stderr)
