#!/usr/bin/env python3
"""Checks that proto/hammer/v1/hammer.proto is wire-compatible with another hammer.proto (allisson/hammer's
api/v1/hammer.proto, v0.9.1): every message, field (name, number, type, label) and RPC of the other is in ours.

    python3 scripts/proto-compat.py [PATH/TO/their/hammer.proto]   (default: Tests/Fixtures/hammer-v0.9.1.proto)
Needs grpcio-tools (pip install grpcio-tools), whose protoc carries the well-known types.
"""
import os, re, sys, tempfile

import grpc_tools
from grpc_tools import protoc
from google.protobuf import descriptor_pb2


def descriptor(include, path):
    out = tempfile.mktemp(suffix=".pb")
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    if protoc.main(["protoc", "-I", include, "-I", well_known, "--include_imports", f"--descriptor_set_out={out}", path]) != 0:
        sys.exit(f"protoc failed on {path}")
    files = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        files.ParseFromString(f.read())
    return next(f for f in files.file if f.package == "hammer.v1")


root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
theirs_text = open(sys.argv[1] if len(sys.argv) > 1 else f"{root}/Tests/Fixtures/hammer-v0.9.1.proto").read()
# Their HTTP annotations need googleapis, which do not matter on the wire.
theirs_text = theirs_text.replace('import "google/api/annotations.proto";', "")
theirs_text = re.sub(r"option \(google\.api\.http\) = \{.*?\};", "", theirs_text, flags=re.S)
workdir = tempfile.mkdtemp()
os.makedirs(f"{workdir}/hammer/v1")
with open(f"{workdir}/hammer/v1/hammer.proto", "w") as f:
    f.write(theirs_text)
theirs = descriptor(workdir, f"{workdir}/hammer/v1/hammer.proto")
ours = descriptor(f"{root}/proto", f"{root}/proto/hammer/v1/hammer.proto")

problems = []
our_messages = {m.name: m for m in ours.message_type}
for message in theirs.message_type:
    mine = our_messages.get(message.name)
    if mine is None:
        problems.append(f"message {message.name} is missing")
        continue
    fields = {f.number: f for f in mine.field}
    for field in message.field:
        other = fields.get(field.number)
        if other is None or (other.name, other.type, other.type_name, other.label) != (field.name, field.type, field.type_name, field.label):
            problems.append(f"{message.name}.{field.name} = {field.number} differs")
our_methods = {m.name: m for m in ours.service[0].method}
for method in theirs.service[0].method:
    mine = our_methods.get(method.name)
    if mine is None or (mine.input_type, mine.output_type) != (method.input_type, method.output_type):
        problems.append(f"rpc {method.name} differs")
for problem in problems:
    print(problem)
print(f"{len(theirs.service[0].method)} RPCs and {len(theirs.message_type)} messages compared: {len(problems)} problems")
sys.exit(1 if problems else 0)
