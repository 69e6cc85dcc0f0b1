#!/usr/bin/env python3
"""Writes data.json for the statement golden: 1,000 deterministic transactions."""
import json

MERCHANTS = ["Grocery Market", "Fuel Station 24", "Online Books", "City Transit", "Coffee Corner",
             "Hardware Depot", "Electric Utility", "Salary ACME GmbH", "Rent Payment", "Pharmacy Plus"]


def main():
    state = 7
    balance = 2500.00
    tx = []
    for i in range(1000):
        state = (state * 1103515245 + 12345) % 2**31
        m = MERCHANTS[state % len(MERCHANTS)]
        cents = (state // 10) % 20000 + 150
        amount = cents / 100 if m.startswith("Salary") else -cents / 100
        if m.startswith("Salary"):
            amount = 3200.00
        balance = round(balance + amount, 2)
        day = 1 + i * 365 // 1000
        month, d = 1, day
        for ml in [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]:
            if d <= ml:
                break
            d -= ml
            month += 1
        tx.append({"date": "2025-%02d-%02d" % (month, d), "description": m,
                   "reference": "TX%07d" % (state % 10000000), "amount": amount, "balance": balance})
    data = {"account": {"number": "DE89 3704 0044 0532 0130 00", "holder": "Jordan Example",
                        "address": "Lindenallee 7\n50667 Köln"},
            "period": {"from": "2025-01-01", "to": "2025-12-31"},
            "opening": 2500.00, "closing": balance, "transactions": tx}
    with open("data.json", "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
