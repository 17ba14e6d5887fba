#!/usr/bin/env python3
"""Batch front end to ../shared/tools for test/corpus.test.ts: one python3 run per test file.

  corpus_compare.py TOOLS_DIR conf DIR NAME...   -> JSON {name: qemu.conf text} (harness_conf.for_case)
  corpus_compare.py TOOLS_DIR compare < JOBS     -> JSON [{name, exact, f1}] for JOBS, a JSON list of
                                                    {name, mode: 'argv'|'xml', expected, actual}
The comparison is the tools' own (argvcmp: unordered match, as score.py counts it; xmlcmp: exact).
"""
import json, sys

sys.path.insert(0, sys.argv[1])
import argvcmp, harness_conf, xmlcmp  # noqa: E402

if sys.argv[2] == 'conf':
    d = sys.argv[3]
    json.dump({n: harness_conf.for_case(d, n) for n in sys.argv[4:]}, sys.stdout)
else:
    out = []
    for job in json.load(sys.stdin):
        if job['mode'] == 'argv':
            r = argvcmp.compare(job['expected'], job['actual'])
            out.append({'name': job['name'], 'exact': r['unordered'], 'f1': r['f1']})
        else:
            r = xmlcmp.compare(job['expected'], job['actual'])
            out.append({'name': job['name'], 'exact': r['exact'], 'f1': r['f1']})
    json.dump(out, sys.stdout)
