#!/usr/bin/env python3
"""docs.settings: the settings table of docs/operations.md says what src/core/config.c does.

settings[] in src/core/config.c is the one home of every setting, its default and its range.
This checks, without building or starting anything:
- every setting of settings[] has a row in the table of the "## Settings" section;
- every variable named in the table's first column is a setting (no documented setting that
  the server does not read);
- the Default column shows the table's default (flags: `0`/`false`, `1`/`true`); for a setting
  without one (unset, or derived at start-up) the column says in words what happens, unchecked;
- the Range column shows what config_load accepts, as its error messages say it: "lo – hi" for
  numbers (bytes for sizes), "≥ N characters" for a string with a minimum length, "flag",
  "`a` or `b`" for a choice, "–" when any value is accepted.

Usage: check_settings.py [ROOT]   (run by CTest as docs.settings)
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def c_number(expr, consts):
    """A bound of settings[] ("1024 * MIB", "1e-6", "65536") as a number."""
    if not re.fullmatch(r"[0-9A-Za-z_.+\-* ()]+", expr):
        raise ValueError(expr)
    return eval(expr, {"__builtins__": {}}, consts)  # only digits, names of consts and * + - ( )


def settings_table():
    """[{name, kind, default, min, max, flags, choices}] from settings[] in src/core/config.c."""
    src = read("src/core/config.c")
    body = re.search(r"static const setting_t settings\[\] = \{(.*?)\n\};", src, re.S)
    if not body:
        fail("src/core/config.c: settings[] not found")
        return []
    consts = {"MIB": 1024.0 * 1024.0}
    rows = []
    text = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    for m in re.finditer(r"\{\s*\"([A-Z0-9_]+)\",(.*?)\}", text, re.S):
        fields = [f.strip() for f in m.group(2).split(",")]
        if len(fields) != 7:
            fail("src/core/config.c: cannot read the settings[] row of %s" % m.group(1))
            continue
        kind, default, lo, hi, _field, flags, choices = fields
        rows.append({
            "name": m.group(1),
            "kind": kind,
            "default": None if default == "NULL" else default.strip('"'),
            "min": c_number(lo, consts),
            "max": c_number(hi, consts),
            "flags": set(re.findall(r"SET_[A-Z_]+", flags)),
            "choices": None if choices == "NULL" else choices.strip('"'),
        })
    return rows


def plain_number(d):
    """A bound as config.c's plain_number() writes it: 0.000001, 1000000."""
    s = "%.6f" % d
    return s.rstrip("0").rstrip(".") if "." in s else s


def expected_range(s):
    instance_max = int(re.search(r"#define CONFIG_INSTANCE_ID_MAX (\d+)", read("src/core/config.h")).group(1))
    if s["kind"] in ("SET_INT", "SET_SIZE"):
        return "%d – %d" % (s["min"], s["max"])
    if s["kind"] == "SET_NUM":
        return "%s – %s" % (plain_number(s["min"]), plain_number(s["max"]))
    if s["kind"] == "SET_BOOL":
        return "flag"
    if s["kind"] == "SET_CHOICE":
        return " or ".join("`%s`" % c for c in s["choices"].split("|"))
    if "SET_INSTANCE" in s["flags"]:
        return "1 – %d characters" % instance_max
    if s["min"] > 1:
        return "≥ %d characters" % s["min"]
    return "–"


def doc_rows():
    """[(names, default, range)] of the table under "## Settings" in docs/operations.md."""
    doc = read("docs/operations.md")
    section = re.search(r"^## Settings\n(.*?)(?=^## )", doc, re.S | re.M)
    if not section:
        fail("docs/operations.md: no \"## Settings\" section")
        return []
    lines = [l for l in section.group(1).splitlines() if l.startswith("|")]
    if len(lines) < 3 or [c.strip() for c in lines[0].strip("|").split("|")] != [
            "Variable", "Default", "Range", "Meaning"]:
        fail("docs/operations.md: the settings table must have the columns Variable | Default | Range | Meaning")
        return []
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            fail("docs/operations.md: settings row with %d cells: %s" % (len(cells), line))
            continue
        names = re.findall(r"`([A-Z0-9_]+)`", cells[0])
        if not names:
            fail("docs/operations.md: settings row without a variable: %s" % line)
        rows.append((names, cells[1], cells[2]))
    return rows


def main():
    settings = settings_table()
    if len(settings) < 40:
        fail("src/core/config.c: only %d settings read from settings[]" % len(settings))
    by_name = {s["name"]: s for s in settings}
    documented = {}
    for names, default, rng in doc_rows():
        for name in names:
            if name not in by_name:
                fail("docs/operations.md documents %s, which the server does not read" % name)
            elif name in documented:
                fail("docs/operations.md documents %s twice" % name)
            else:
                documented[name] = (default, rng)
    same = {"false": {"`false`", "`0`"}, "true": {"`true`", "`1`"}}
    for s in settings:
        name = s["name"]
        if name not in documented:
            fail("docs/operations.md does not document %s" % name)
            continue
        default, rng = documented[name]
        if s["default"] is not None and default not in same.get(s["default"], {"`%s`" % s["default"]}):
            fail("docs/operations.md: %s defaults to %s, the page says %s" % (name, s["default"], default))
        want = expected_range(s)
        if rng != want:
            fail("docs/operations.md: %s accepts %s, the page says %s" % (name, want, rng))
    if failures:
        print("%d problem(s)" % len(failures))
        return 1
    print("operations.md: %d settings, every one documented with its default and range as in "
          "src/core/config.c" % len(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
