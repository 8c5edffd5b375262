#!/usr/bin/env python3
"""doc-coverage.py DIR... - lists every public symbol declared in this
repository without a /// comment, and fails (exit 1) if there is any. Reads the symbol graphs that `make docs`
(swift-docc-plugin) extracts, e.g. .build/<triple>/extracted-symbols/main/Chopin.
Symbols without a source location here (inherited from a protocol or the
standard library: map, ==, description's protocol...) are not ours to document."""
import glob
import json
import sys

missing, total = [], 0
for directory in sys.argv[1:]:
    for path in sorted(glob.glob(f"{directory}/*.symbols.json")):
        with open(path) as f:
            graph = json.load(f)
        for s in graph["symbols"]:
            uri = s.get("location", {}).get("uri", "")
            # Ours (not a dependency's extension on our types), public, and a
            # declaration: an `extension String` line needs no comment of its own.
            ours = any(f"/Sources/{t}/" in uri for t in ("Chopin", "ChopinJSON", "ChopinTesting", "ChopinOpenAPI"))
            if not ours or s.get("accessLevel") not in ("public", "open") or s["kind"]["identifier"] == "swift.extension":
                continue
            total += 1
            if not s.get("docComment", {}).get("lines"):
                where = uri.split("/Sources/", 1)[1]
                line = s["location"]["position"]["line"] + 1
                missing.append(f"Sources/{where}:{line}: {'.'.join(s['pathComponents'])}")
for m in sorted(missing):
    print(f"undocumented: {m}")
if missing:
    print(f"doc-coverage: {len(missing)} of {total} public symbols have no /// comment")
    sys.exit(1)
print(f"doc-coverage: all {total} public symbols have a /// comment")
