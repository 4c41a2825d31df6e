#!/usr/bin/env python3
"""Lists which folder of Sources/Hammer refers to which, and fails on an arrow that points up or sideways.

The library is one Swift module, so a folder's "imports" are the types and functions it names that another
folder declares. Each folder may name only the folders listed under it in LAYERS; anything else is reported.
The frameworks of one front end or of the database are imported only where FRAMEWORKS allows them.

    scripts/check-layers.py            # the graph, then the arrows that break the layers (exit 1 if any)
    scripts/check-layers.py --graph    # the graph only, never fails
"""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Hammer")

# Each folder and the folders it may use. Lower layers first.
FOUNDATION = ["Support", "Model", "Observability"]
LAYERS = {
    "Support": [],
    "Model": ["Support"],
    "Observability": ["Support", "Model"],
    "Storage": FOUNDATION,
    "Sending": FOUNDATION,
    "Operations": FOUNDATION + ["Storage", "Sending"],
    "API": FOUNDATION + ["Operations"],
    "GRPC": FOUNDATION + ["Operations"],
    "Console": FOUNDATION + ["Operations"],
    "Delivery": FOUNDATION + ["Storage", "Sending"],
    "App": FOUNDATION + ["Storage", "Sending", "Operations", "API", "GRPC", "Console", "Delivery"],
}

# Module imports that belong to one front end or to the database, and the folders that may import them.
FRAMEWORKS = {
    "Hummingbird": ["API", "Console", "App"],
    "HummingbirdRouter": ["API", "Console", "App"],
    "HummingbirdCore": ["API", "App"],
    "Mustache": ["Console"],
    "GRPCCore": ["GRPC"],
    "GRPCNIOTransportHTTP2": ["GRPC"],
    "GRPCNIOTransportCore": ["GRPC"],
    "GRPCHealthService": ["GRPC"],
    "GRPCProtobuf": ["GRPC"],
    "SwiftProtobuf": ["GRPC"],
    "PostgresNIO": ["Storage", "App"],
    "PostgresKit": ["Storage", "App"],
    "Prometheus": ["Observability"],
}

DECLARATION = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|package|fileprivate|private|final|nonisolated|indirect)\s+)*"
    r"(?:struct|enum|class|actor|protocol|typealias|func)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def folder_of(path):
    relative = os.path.relpath(path, ROOT)
    return relative.split(os.sep)[0] if os.sep in relative else "(root)"


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r'"""(?:.|\n)*?"""', '""', text)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


def swift_files():
    for directory, _, names in os.walk(ROOT):
        for name in sorted(names):
            if name.endswith(".swift"):
                yield os.path.join(directory, name)


def main():
    graph_only = "--graph" in sys.argv
    sources = {path: strip_comments_and_strings(open(path, encoding="utf-8").read()) for path in swift_files()}
    declared = {}
    for path, text in sources.items():
        for line in text.splitlines():
            match = DECLARATION.match(line)  # top level only: declarations at column 0
            if match and match.group(1) not in declared:
                declared[match.group(1)] = folder_of(path)
    edges = defaultdict(lambda: defaultdict(set))
    for path, text in sources.items():
        source = folder_of(path)
        for name in set(IDENTIFIER.findall(text)):
            target = declared.get(name)
            if target and target != source:
                edges[source][target].add(name)
    folders = sorted({folder_of(path) for path in sources})
    print("folder -> folders it names (types named)")
    for source in folders:
        targets = edges.get(source, {})
        summary = ", ".join(f"{t} ({len(names)})" for t, names in sorted(targets.items())) or "nothing"
        print(f"  {source:<14} -> {summary}")
    if graph_only:
        return 0
    broken = []
    for path in sources:
        imports = r"^(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?(\w+)"
        for module in re.findall(imports, open(path, encoding="utf-8").read(), flags=re.M):
            allowed = FRAMEWORKS.get(module)
            if allowed is not None and folder_of(path) not in allowed:
                broken.append(f"  {os.path.relpath(path, ROOT)} imports {module}, which only {', '.join(allowed)} may")
    for source in folders:
        allowed = LAYERS.get(source)
        for target, names in sorted(edges.get(source, {}).items()):
            if allowed is None or target not in allowed:
                broken.append(f"  {source} -> {target}: {', '.join(sorted(names)[:8])}{' …' if len(names) > 8 else ''}")
    if broken:
        print("arrows that break the layers (a folder missing from the layers breaks every one):")
        print("\n".join(broken))
        return 1
    print("every arrow points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
