#!/usr/bin/env python3
"""Sums the results of `meson test` in each build directory given into one line: "N passed, N failed, N skipped".

Catch2 test cases are counted from each unit-AREA test's JUnit report, spec commands from the spec
runner's JSON report (expected failures count as skipped), and every other meson test as one.
Exits non-zero when anything failed.
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0


def test_results(build):
    log_path = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log_path):
        print("summarize: no meson test log at " + log_path, file=sys.stderr)
        sys.exit(1)
    for line in open(log_path):
        yield build, json.loads(line)


for build, test in (r for b in sys.argv[1:] for r in test_results(b)):
    name, result = test["name"].split(" / ")[-1], test["result"]
    if name.startswith("unit-"):
        found = glob.glob(os.path.join(build, "**", name + ".junit.xml"), recursive=True)
        report = found[0] if found else ""
        if result == "OK" and os.path.exists(report):
            for case in ET.parse(report).getroot().iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    failed += 1
                elif case.find("skipped") is not None:
                    skipped += 1
                else:
                    passed += 1
            continue
        if os.path.exists(report) and result == "FAIL":
            for case in ET.parse(report).getroot().iter("testcase"):
                bad = case.find("failure") is not None or case.find("error") is not None
                if bad:
                    failed += 1
                    print("FAILED: " + case.get("classname", "") + " / " + case.get("name", ""),
                          file=sys.stderr)
                else:
                    passed += 1
            continue
    if name.startswith("spec"):
        report = os.path.join(build, "spec-tests", name + ".json")
        if os.path.exists(report):
            total = json.load(open(report))["total"]
            passed += total["passed"]
            failed += total["failed"]
            skipped += total["skipped"] + total["xfail"]
            if result != "OK" and total["failed"] == 0:
                failed += 1  # the runner failed for another reason (e.g. an expected failure passed)
            continue
    if result == "OK":
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
