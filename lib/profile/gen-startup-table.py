#!/usr/bin/env python3
# Turns startup-runc.tsv (measured by tests/startup/measure) into the C table of startup.h.
import sys

src, out = sys.argv[1], sys.argv[2]
measured = None
rows = []


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def denial(v):
    return v in ("-", "fails", "hangs") or (v.count("/") == 1 and all(x.isdigit() for x in v.split("/")))


with open(src, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        line = line.rstrip("\n")
        if line.startswith("# measured: "):
            measured = line[len("# measured: "):].split("\t")
            continue
        if not line or line.startswith("#"):
            continue
        p = line.split("\t")
        if len(p) != 9 or p[1] not in ("no-nnp", "nnp") or p[2] not in ("runc", "libc") or \
                not denial(p[3]) or not denial(p[4]) or \
                p[6] not in ("-", "hangs"):
            sys.exit(f"{src}:{n}: expected name, mode, who, errno, blocked, kill, notify, message, fallback; "
                     f"got {line!r}")
        if p[5] == "-":
            killed, runs = 0, 1
        elif p[5] == "always":
            killed, runs = 1, 1
        elif p[5] == "seen":
            killed, runs = 1, 0
        else:
            killed, runs = (int(x) for x in p[5].split("/"))
        rows.append((p[0], p[1] == "nnp", p[2] == "libc", p[3], p[4], killed, runs, p[6] == "hangs",
                     p[7].replace('\\"', '"'), [] if p[8] == "-" else p[8].split(",")))
keys = [(r[0], r[1]) for r in rows]
if keys != sorted(keys) or len(set(keys)) != len(keys):
    sys.exit(f"{src}: rows must be sorted by name (LC_ALL=C), the no-nnp row before the nnp one, each once")
if not measured or len(measured) != 3:
    sys.exit(f"{src}: no '# measured: RUNC-VERSION<TAB>ARCH<TAB>KERNEL' line")
def denial_value(v):
    return {"-": "STARTUP_DENIAL_SURVIVES", "fails": "STARTUP_DENIAL_FAILS",
            "hangs": "STARTUP_DENIAL_HANGS"}.get(v, "STARTUP_DENIAL_SOMETIMES")
with open(out, "w", encoding="utf-8") as f:
    f.write("/* Generated from startup-runc.tsv by gen-startup-table.py: do not edit. */\n")
    f.write('#include "baseline.h"\n#include "startup.h"\n\n')
    f.write(f"const char startup_runc_version[] = {c_string(measured[0])};\n")
    f.write(f"const char startup_runc_arch[] = {c_string(measured[1])};\n\n")
    for i, r in enumerate(rows):
        if r[9]:
            f.write(f"static const char *const fallbacks_{i}[] = {{{', '.join(map(c_string, r[9]))}, NULL}};\n")
    f.write("\nconst StartupNeed startup_runc[] = {\n")
    for i, (name, nnp, libc, errno, blocked, killed, runs, notify, msg, fallbacks) in enumerate(rows):
        f.write(f"        {{{c_string(name)}, {'true' if nnp else 'false'}, {'true' if libc else 'false'}, "
                f"{denial_value(errno)}, {denial_value(blocked)}, {f'fallbacks_{i}' if fallbacks else 'NULL'}, "
                f"{killed}, {runs}, {'true' if notify else 'false'}, {c_string(msg)}}},\n")
    f.write("};\nconst size_t startup_runc_count = sizeof(startup_runc) / sizeof(startup_runc[0]);\n\n")
    f.write("const char *const baseline_runc[] = {\n")
    for name in sorted({r[0] for r in rows}):
        f.write(f"        {c_string(name)},\n")
    f.write("};\nconst size_t baseline_runc_count = sizeof(baseline_runc) / sizeof(baseline_runc[0]);\n")
