#!/usr/bin/env python3
"""Compact views of streamrctl's JSON for the demo (scripts/demo.sh).

  demo-format.py checks NODES_JSON < checks.json
  demo-format.py flags < flags.json
"""
import json, sys

if sys.argv[1] == "checks":
    names = {n["node_id"]: n["display_name"] for n in json.loads(sys.argv[2])}
    print(f"{'TIME':9} {'NODE':9} {'KIND':9} {'ROUTE':7} {'VERDICT':8} {'REASON':15} CHUNK")
    for c in json.load(sys.stdin):
        route = "/watch" if c["via_watch"] else "direct"
        print(f"{c['checked'][11:19]:9} {names.get(c['node_id'], c['node_id']):9} {c['kind']:9} {route:7} "
              f"{c['verdict']:8} {c['reason']:15} {c['chunk'] or '-'}")
elif sys.argv[1] == "flags":
    flags = json.load(sys.stdin)
    for f in flags:
        print(f"flag {f['id']}: {f['display_name']} ({f['node_id']}) on {f['stream']} at {f['at']}: {f['reason']}")
        print(f"  evidence: {f['evidence']}")
    if not flags:
        print("no fraud flags yet (the validator is still checking)")
