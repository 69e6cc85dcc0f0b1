#!/usr/bin/env python3
"""CPU seconds used so far by process trees, for CPU-per-render figures on a shared machine.

Usage: cpu_snapshot.py NAME=PID [NAME=PID ...]
Prints one line "NAME=SECONDS ..." where SECONDS is utime + stime + cutime + cstime summed over
PID and every live descendant (an exited child counts in its parent's cutime/cstime once it has
been reaped). A group named "helpers" is special: the descendants of the *first* root, which are
then left out of that root's own figure (the server vs. its render helper processes).
"""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    ppid = int(rest[1])
    ticks = sum(int(x) for x in rest[11:15])  # utime stime cutime cstime
    return ppid, ticks


def main():
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = stat(int(d))
            if st:
                procs[int(d)] = st
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid):
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    roots = [a.split("=", 1) for a in sys.argv[1:]]
    result = []
    first = int(roots[0][1]) if roots else 0
    for name, pid in roots:
        pid = int(pid)
        if name == "helpers":
            pids = [p for p in tree(first) if p != first]
        elif pid == first and any(n == "helpers" for n, _ in roots):
            pids = [first]
        else:
            pids = tree(pid)
        result.append("%s=%.2f" % (name, sum(procs[p][1] for p in pids if p in procs) / TICK))
    print(" ".join(result))


main()
