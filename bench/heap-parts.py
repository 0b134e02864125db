#!/usr/bin/env python3
"""Bytes live per idle socket, by part, from a dhat profile of a `heap-profile` build.

    bench/heap-parts.py dhat-heap.json SOCKETS [BASELINE.json]

Each allocation site still live when the profile was written ("eb") is put in the first part whose
pattern matches one of its frames, innermost frame first. With a second profile (the same server
before the sockets opened), its live bytes are subtracted site by site, so only what the sockets
keep alive is counted.
"""
import json
import re
import sys
from collections import defaultdict

# Innermost match wins; the order only matters for frames that match more than one part.
PARTS = [
    ("bus receiver", r"tokio::sync::broadcast|stoa_domain::ports::bus|LocalFanout|stoa_api::adapters::redis_bus|fanout::MemberEvents|chat::stream"),
    ("operation (stream, group member)", r"stoa_api::ws::operation|stoa_api::ws::groups|stoa_schema::fanout|async_graphql"),
    ("protocol state (connection task)", r"stoa_api::ws::connection|stoa_api::ws::writer|stoa_api::ws::protocol|stoa_api::sessions|presence"),
    ("WebSocket framing (tungstenite)", r"tungstenite|axum::extract::ws"),
    ("TCP socket and HTTP upgrade (tokio, hyper)", r"hyper|tokio::net|tokio::runtime::io|mio::|h2::|tower"),
    ("task (spawned future)", r"tokio::runtime::task"),
]


def live_sites(path):
    d = json.load(open(path))
    ftbl = d["ftbl"]
    sites = {}
    for pp in d["pps"]:
        frames = tuple(ftbl[i] for i in pp["fs"])
        sites[frames] = sites.get(frames, 0) + pp.get("eb", 0)
    return sites


def part_of(frames):
    for frame in frames:
        for name, pattern in PARTS:
            if re.search(pattern, frame):
                return name
    return "other"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sockets = int(sys.argv[2])
    sites = live_sites(sys.argv[1])
    if len(sys.argv) > 3:
        for frames, b in live_sites(sys.argv[3]).items():
            sites[frames] = sites.get(frames, 0) - b
    parts = defaultdict(int)
    top = defaultdict(lambda: defaultdict(int))
    for frames, b in sites.items():
        if b <= 0:
            continue
        part = part_of(frames)
        parts[part] += b
        # The innermost frame of this project or of the library that owns the part, for the detail rows.
        here = next((f for f in frames if re.search(r"stoa_|tungstenite|hyper|tokio::|axum", f)), frames[0] if frames else "?")
        top[part][re.sub(r"^0x[0-9a-f]+: ", "", here)[:110]] += b
    total = sum(parts.values())
    print(f"{'part':<46} {'bytes/socket':>12}")
    for part, b in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"{part:<46} {b / sockets:>12.0f}")
        for site, sb in sorted(top[part].items(), key=lambda kv: -kv[1])[:4]:
            if sb / sockets >= 16:
                print(f"    {sb / sockets:>8.0f}  {site}")
    print(f"{'total live heap':<46} {total / sockets:>12.0f}  ({total / sockets / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
