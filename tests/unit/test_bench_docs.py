"""docs/benchmarks.md is bench/bench.py's report: generated tables, then bench/analysis.md as it is.
Analysis written into the report by hand would be lost by the next `make bench`."""

from __future__ import annotations

import os

from tests.support.cli import ROOT


def test_the_report_ends_with_the_analysis_file():
    with open(os.path.join(ROOT, "bench", "analysis.md")) as fh:
        analysis = fh.read().rstrip()
    with open(os.path.join(ROOT, "docs", "benchmarks.md")) as fh:
        report = fh.read().rstrip()
    assert analysis.startswith("## ") and len(analysis.splitlines()) > 100
    assert report.endswith("\n\n" + analysis), (
        "edit bench/analysis.md and copy it over the report's analysis (from '## Where the time went'), "
        "or run make bench"
    )
