#!/usr/bin/env python3
"""A name server stub for the chaos suite's DNS-outage scenario, on UDP port 53 of one loopback address.

  dns-stub.py ADDRESS OUTAGE_FILE

`good.hammer.test` answers A 127.0.0.1 (and AAAA with no address); names under `dropped.hammer.test` are never
answered, as a zone whose server drops queries; other names are NXDOMAIN. While OUTAGE_FILE exists, no query is
answered at all. Prints one line per query: `answered NAME`, `dropped NAME` or `nxdomain NAME`.
"""
import os
import socket
import struct
import sys

address, outage_file = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, 53))
print("listening", flush=True)


def question(packet):
    labels, offset = [], 12
    while packet[offset] != 0:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype, _ = struct.unpack("!HH", packet[offset + 1 : offset + 5])
    return ".".join(labels).lower(), qtype, packet[12 : offset + 5]


while True:
    packet, peer = sock.recvfrom(512)
    if len(packet) < 17:
        continue
    try:
        name, qtype, raw_question = question(packet)
    except (IndexError, struct.error):
        continue
    if os.path.exists(outage_file) or name.endswith("dropped.hammer.test"):
        print("dropped", name, flush=True)
        continue
    ident = packet[:2]
    if name == "good.hammer.test":
        answers = b""
        count = 0
        if qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
            count = 1
        header = ident + struct.pack("!HHHHH", 0x8580, 1, count, 0, 0)
        sock.sendto(header + raw_question + answers, peer)
        print("answered", name, flush=True)
    else:
        sock.sendto(ident + struct.pack("!HHHHH", 0x8583, 1, 0, 0, 0) + raw_question, peer)
        print("nxdomain", name, flush=True)
