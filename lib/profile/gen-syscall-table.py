#!/usr/bin/env python3
# Turns syscall-names.tsv (data, with its sources in its header) into a sorted C array.
import sys

src, out = sys.argv[1], sys.argv[2]
rows = []
with open(src, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not all(c.isalnum() or c == "_" for c in parts[0]):
            sys.exit(f"{src}:{n}: expected 'name<TAB>libseccomp', got {line!r}")
        rows.append((parts[0], parts[1]))
names = [r[0] for r in rows]
if names != sorted(names) or len(set(names)) != len(names):
    sys.exit(f"{src}: names must be sorted (LC_ALL=C) and unique")
with open(out, "w", encoding="utf-8") as f:
    f.write("/* Generated from syscall-names.tsv by gen-syscall-table.py: do not edit. */\n")
    f.write('#include "syscalls.h"\n\nconst SyscallName syscall_names[] = {\n')
    for name, since in rows:
        f.write(f'        {{ "{name}", "{since}" }},\n')
    f.write("};\nconst size_t syscall_names_count = sizeof(syscall_names) / sizeof(syscall_names[0]);\n")
