#!/usr/bin/env python3
"""Checks docker/Dockerfile and docker/compose.yaml as far as that is possible without a Docker
engine, against the real build:

- the Dockerfile has the shape docs/operations.md describes (two debian:12-slim stages, the
  build stage using scripts/deps + scripts/build, a non-root runtime with a health check);
- the "runtime" + "fonts" package sets of scripts/deps (what the runtime stage installs), with
  their dependencies and the packages every Debian image has, own every shared library the
  craftkit binary links;
- the "build" set provides every pkg-config module CMakeLists.txt asks for, libzint and libhyphen;
- the "runtime" set installs the hyphenation dictionaries src/engine/hyph.c names;
- compose.yaml parses and has the services of the stack, and every environment variable it
  gives craftkit is one the server reads (src/core/config.c).
docs/operations.md's settings table is checked by docs.settings (tests/docs/check_settings.py).

Usage: check.py --binary PATH/TO/craftkit   (run by CTest as docker.files)
"""
import argparse
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def package_set(*names):
    return run(os.path.join(ROOT, "scripts/deps"), "--print", *names).split()


# ---- Debian package helpers (installed packages only; the checks run where craftkit was built) ----

_db = None


def package_db():
    """{package: set of installed packages it depends on} for every installed package, from one
    dpkg-query call (Depends and Pre-Depends, every installed alternative)."""
    global _db
    if _db is None:
        out = run("dpkg-query", "-W", "-f=${Package}\t${Status}\t${Depends}, ${Pre-Depends}\n")
        rows = [l.split("\t") for l in out.splitlines()]
        names = {r[0] for r in rows if r[1].endswith("install ok installed")}
        _db = {}
        for name, status, deps in rows:
            if name not in names:
                continue
            found = set()
            for clause in deps.split(","):
                for alt in clause.split("|"):
                    dep = alt.strip().split(" ")[0].split(":")[0]
                    if dep in names:
                        found.add(dep)
            _db[name] = found
    return _db


def installed(pkg):
    return pkg in package_db()


def depends_of(pkg):
    return package_db().get(pkg, set())


def closure(pkgs):
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(depends_of(p) - seen)
    return seen


def base_image_packages():
    """What every Debian image has: Essential and Priority "required" packages."""
    out = run("dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\n")
    return {l.split()[0] for l in out.splitlines() if " yes " in l + " " or l.endswith(" required")}


def owners(paths):
    """{path: owning package or None}, with one dpkg -S call (paths resolved through links)."""
    real = {p: os.path.realpath(p) for p in paths}
    out = subprocess.run(["dpkg", "-S"] + sorted(set(real.values()) | set(paths)), capture_output=True, text=True)
    by_file = {}
    for line in out.stdout.splitlines():
        pkg, _, f = line.partition(": ")
        by_file[f.strip()] = pkg.split(",")[0].split(":")[0].strip()
    return {p: by_file.get(real[p]) or by_file.get(p) for p in paths}


def owner(path):
    return owners([path])[path]


# ---- the checks ----

def stages(dockerfile):
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    result = []
    for l in lines:
        word, _, rest = l.partition(" ")
        if word.upper() == "FROM":
            result.append({"from": rest, "lines": []})
        elif result:
            result[-1]["lines"].append((word.upper(), rest))
    return result


def check_dockerfile():
    path = os.path.join(ROOT, "docker/Dockerfile")
    st = stages(path)
    if len(st) != 2:
        fail("Dockerfile: expected 2 stages, found %d" % len(st))
        return
    build, runtime = st
    if not re.match(r"debian:12-slim\s+AS\s+build$", build["from"], re.I):
        fail("Dockerfile: the first stage must be 'FROM debian:12-slim AS build' (is %r)" % build["from"])
    if runtime["from"].strip() != "debian:12-slim":
        fail("Dockerfile: the runtime stage must be 'FROM debian:12-slim' (is %r)" % runtime["from"])
    runs = lambda s: " ".join(rest for w, rest in s["lines"] if w == "RUN")
    if "scripts/deps --install build" not in runs(build):
        fail("Dockerfile: the build stage must install 'scripts/deps --install build'")
    if "scripts/build" not in runs(build):
        fail("Dockerfile: the build stage must build with scripts/build (the one build script)")
    if not re.search(r"deps --install runtime fonts", runs(runtime)):
        fail("Dockerfile: the runtime stage must install the 'runtime fonts' sets of scripts/deps")
    if any(w == "RUN" and "-dev" in rest for w, rest in runtime["lines"]):
        fail("Dockerfile: the runtime stage installs -dev packages")
    users = [rest for w, rest in runtime["lines"] if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        fail("Dockerfile: the runtime stage must run as a non-root USER")
    health = [rest for w, rest in runtime["lines"] if w == "HEALTHCHECK"]
    if not health or "craftkit" not in health[0] or "healthcheck" not in health[0]:
        fail("Dockerfile: HEALTHCHECK must run 'craftkit healthcheck' (GET /health)")
    entry = [rest for w, rest in runtime["lines"] if w == "ENTRYPOINT"]
    cmd = [rest for w, rest in runtime["lines"] if w == "CMD"]
    if not entry or '"craftkit"' not in entry[-1] or not cmd or '"serve"' not in cmd[-1]:
        fail("Dockerfile: ENTRYPOINT craftkit with CMD serve expected")
    if not any(w == "COPY" and "--from=build" in rest and "craftkit" in rest for w, rest in runtime["lines"]):
        fail("Dockerfile: the runtime stage must COPY the binary --from=build")
    for w, rest in build["lines"] + runtime["lines"]:
        if w == "COPY" and "--from" not in rest:
            for src in rest.split()[:-1]:
                if src != "." and not os.path.exists(os.path.join(ROOT, src)):
                    fail("Dockerfile: COPY source %s does not exist" % src)


def check_runtime_packages(binary):
    runtime = package_set("runtime", "fonts")
    for p in runtime:
        if not installed(p):
            fail("scripts/deps runtime/fonts package %s is not a Debian 12 package installed here" % p)
    have = closure(runtime) | closure(base_image_packages())
    libs = re.findall(r"=> (/\S+)", run("ldd", binary))
    if not libs:
        fail("ldd found no libraries in %s" % binary)
    missing = {}
    owned = owners(libs)
    for lib in libs:
        pkg = owned[lib]
        if pkg is None:
            fail("no Debian package owns %s (linked by craftkit)" % lib)
        elif pkg not in have:
            missing.setdefault(pkg, lib)
    for pkg, lib in sorted(missing.items()):
        fail("%s (package %s) is linked but not installed by the runtime stage" % (lib, pkg))
    print("runtime: %d libraries linked, all owned by the %d packages the runtime stage gets" % (len(libs), len(have)))


def check_build_packages():
    build = set(package_set("build"))
    have = closure(build)
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    m = re.search(r"pkg_check_modules\(DEPS REQUIRED IMPORTED_TARGET\s+([^)]*)\)", cmake)
    if not m:
        fail("CMakeLists.txt: pkg_check_modules(DEPS ...) not found")
        return
    modules = m.group(1).split()
    for mod in modules:
        out = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], capture_output=True, text=True)
        pc = os.path.join(out.stdout.strip(), mod + ".pc")
        pkg = owner(pc) if out.returncode == 0 else None
        if pkg is None or pkg not in have:
            fail("pkg-config module %s (%s) is not provided by the build set" % (mod, pkg))
    for header in ("/usr/include/zint.h", "/usr/include/hyphen.h"):
        pkg = owner(header)
        if pkg not in have:
            fail("%s (package %s) is not provided by the build set" % (header, pkg))
    print("build: %d pkg-config modules, zint and hyphen provided by the build set" % len(modules))


def check_hyphen_dictionaries():
    """Every dictionary file engine/hyph.c names is owned by a package of the runtime set."""
    src = open(os.path.join(ROOT, "src/engine/hyph.c")).read()
    files = re.findall(r'"(hyph_[A-Za-z_]+\.dic)"', src)
    if len(files) < 6:
        fail("src/engine/hyph.c: expected the table of dictionary files, found %s" % files)
    runtime = set(package_set("runtime"))
    for f in files:
        pkg = owner(os.path.realpath("/usr/share/hyphen/" + f))
        if pkg is None or pkg not in runtime:
            fail("/usr/share/hyphen/%s (package %s) is not installed by the runtime stage" % (f, pkg))
    print("runtime: %d hyphenation dictionaries installed by the runtime set" % len(files))


def server_settings():
    src = open(os.path.join(ROOT, "src/core/config.c")).read()
    return set(re.findall(r'"((?:CRAFTKIT|S3)_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)"', src))


def check_compose():
    doc = yaml.safe_load(open(os.path.join(ROOT, "docker/compose.yaml")))
    services = doc.get("services", {})
    for name in ("postgres", "redis", "minio", "minio-init", "migrate", "craftkit", "craftkit-worker"):
        if name not in services:
            fail("compose.yaml: service %s missing" % name)
    if not str(services.get("postgres", {}).get("image", "")).startswith("postgres:15"):
        fail("compose.yaml: postgres must be postgres:15")
    if not str(services.get("redis", {}).get("image", "")).startswith("redis:7"):
        fail("compose.yaml: redis must be redis:7")
    if not str(services.get("minio", {}).get("image", "")).startswith("minio/minio"):
        fail("compose.yaml: minio must be a minio/minio image")
    init = " ".join(map(str, services.get("minio-init", {}).get("command", [])))
    if "mc mb" not in init:
        fail("compose.yaml: minio-init must create the bucket (mc mb)")
    if services.get("migrate", {}).get("command") != ["migrate"]:
        fail("compose.yaml: migrate must run 'craftkit migrate'")
    if "8080:8080" not in [str(p) for p in services.get("craftkit", {}).get("ports", [])]:
        fail("compose.yaml: craftkit must publish 8080")
    if services.get("craftkit-worker", {}).get("ports"):
        fail("compose.yaml: craftkit-worker must publish no port (so that --scale works)")
    known = server_settings()
    for name in ("migrate", "craftkit", "craftkit-worker"):
        svc = services.get(name, {})
        build = svc.get("build", {})
        if build.get("dockerfile") != "docker/Dockerfile" or not os.path.isdir(
                os.path.join(ROOT, "docker", build.get("context", "?"))):
            fail("compose.yaml: %s must build docker/Dockerfile from the repo root" % name)
        env = svc.get("environment", {})
        for var in env:
            if var not in known:
                fail("compose.yaml: %s sets %s, which the server does not read" % (name, var))
        if env.get("CRAFTKIT_STORAGE") == "s3":
            for var in ("S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
                if var not in env:
                    fail("compose.yaml: %s uses S3 storage without %s" % (name, var))
        deps = svc.get("depends_on", {})
        if name != "migrate" and deps.get("migrate", {}).get("condition") != "service_completed_successfully":
            fail("compose.yaml: %s must wait for migrate to complete" % name)
    print("compose: %d services; craftkit reads every variable it is given" % len(services))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    check_dockerfile()
    check_runtime_packages(args.binary)
    check_build_packages()
    check_hyphen_dictionaries()
    check_compose()
    if failures:
        print("%d problem(s)" % len(failures))
        return 1
    print("docker files: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
