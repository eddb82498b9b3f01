"""Every changelog fragment parses (ansible-test sanity and antsibull-changelog read them; an
unquoted ``key: value`` inside an entry breaks YAML and the release)."""

from __future__ import annotations

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAGMENTS = os.path.join(ROOT, "changelogs", "fragments")
SECTIONS = {
    "release_summary",
    "major_changes",
    "minor_changes",
    "breaking_changes",
    "deprecated_features",
    "removed_features",
    "security_fixes",
    "bugfixes",
    "known_issues",
    "trivial",
}


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(FRAGMENTS) if f.endswith((".yml", ".yaml"))))
def test_fragment_is_a_mapping_of_sections_to_text(name):
    with open(os.path.join(FRAGMENTS, name), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict) and data, name
    for section, entries in data.items():
        assert section in SECTIONS, (name, section)
        if section == "release_summary":
            assert isinstance(entries, str), name
        else:
            assert isinstance(entries, list) and all(isinstance(e, str) and e for e in entries), (name, section)
