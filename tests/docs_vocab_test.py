#!/usr/bin/python3
"""The docs list exactly the platform's words.

The domain vocabularies are defined once, in common/asp_vocab.c (asp-vocab
prints them). The tables a reader relies on must say the same:
docs/partner-protocol.md section 2.1 (kind, tier, stage, result) and
docs/http-api.md (the type, tier, customer.class and channel rows of the
ticket fields, the 三包 remedy row, and the list of ticket statuses, in
order). A word added to
the code and not to the docs, or the reverse, fails here.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/docs_vocab_test.py
"""
# ctest: TIMEOUT 60 LABELS unit

import os
import re

import aspw
import harness
from harness import HarnessError, run


def words(text):
    """The `backticked` words of a piece of text, in order."""
    return re.findall(r"`([^`]+)`", text)


def table_rows(path):
    """{first cell: the other cells joined} of every markdown table row."""
    rows = {}
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2:
            rows.setdefault(cells[0], " | ".join(cells[1:]))
    return rows


def same(where, found, name, ordered=False):
    want = aspw.vocab(name)
    ok = found == want if ordered else sorted(found) == sorted(want) and len(set(found)) == len(found)
    if not ok:
        raise HarnessError("%s lists %r; the %s vocabulary is %r" % (where, found, name, want))


def main():
    docs = os.path.join(harness.SOURCE_DIR, "docs")
    proto = table_rows(os.path.join(docs, "partner-protocol.md"))
    for name in ("kind", "tier", "stage", "result"):
        if name not in proto:
            raise HarnessError("partner-protocol.md has no row for the %s vocabulary (2.1)" % name)
        same("partner-protocol.md 2.1 '%s'" % name, words(proto[name].split("|")[-1]), name,
             ordered=True)

    api_path = os.path.join(docs, "http-api.md")
    api = table_rows(api_path)
    for field, name in (("`type`", "kind"), ("`tier`", "tier"), ("`customer.class`", "class"),
                        ("`channel`", "channel"), ("`remedy`", "remedy")):
        if field not in api:
            raise HarnessError("http-api.md has no row for %s" % field)
        same("http-api.md %s" % field, words(api[field]), name)
    statuses = [line for line in open(api_path, encoding="utf-8") if line.startswith("Statuses, in order")]
    if len(statuses) != 1:
        raise HarnessError("http-api.md: no single 'Statuses, in order' line")
    text = statuses[0] + open(api_path, encoding="utf-8").read().split(statuses[0], 1)[1].split("\n\n")[0]
    same("http-api.md statuses", words(text.split(":", 1)[1]), "status", ordered=True)
    print("docs list exactly the vocabularies of common/asp_vocab.c")


if __name__ == "__main__":
    run(main, name="docs_vocab_test")
