#!/usr/bin/python3
"""The docs list exactly the platform's words.

The domain vocabularies are defined once, in common/asp_vocab.c (asp-vocab
prints them). The tables a reader relies on must say the same:
docs/partner-protocol.md section 2.1 (kind, tier, stage, result, unable_reason),
docs/http-api.md (the list of ticket statuses, in order), docs/notifications.md
(the table of channels: notify_channel, in order) and the OpenAPI
document: every schema in docs/openapi/*.yaml marked x-asp-vocab lists
exactly that vocabulary in its enum, in order, and the vocabularies the API
speaks (kind, tier, class, channel, status) each have one. A word added to
the code and not to the docs, or the reverse, fails here, and the failure
prints the enum line to paste.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/docs_vocab_test.py
"""
# ctest: TIMEOUT 60 LABELS unit

import os
import re

import aspw
import harness
from harness import HarnessError, run
from openapi_doc import Doc

# The vocabularies the HTTP API speaks: each has a schema in docs/openapi/.
API_VOCABS = ("kind", "tier", "class", "channel", "status")


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


def check_openapi():
    """Every x-asp-vocab enum of the OpenAPI document is its vocabulary."""
    found = Doc().vocab_enums()
    for where, name, enum in found:
        enum = [w for w in enum if w is not None]   # a nullable field's null is not a word
        want = aspw.vocab(name) if name in aspw.vocab() else None
        if want is None:
            raise HarnessError("%s: x-asp-vocab %r names no vocabulary of asp-vocab" % (where, name))
        if enum != want:
            raise HarnessError("%s lists %r; the %s vocabulary is %r: write\n      enum: [%s]"
                               % (where, enum, name, want, ", ".join(want)))
    missing = set(API_VOCABS) - {name for _, name, _ in found}
    if missing:
        raise HarnessError("docs/openapi/ has no schema with x-asp-vocab %s" % sorted(missing))


def main():
    docs = os.path.join(harness.SOURCE_DIR, "docs")
    proto = table_rows(os.path.join(docs, "partner-protocol.md"))
    for name in ("kind", "tier", "stage", "result", "unable_reason"):
        if name not in proto:
            raise HarnessError("partner-protocol.md has no row for the %s vocabulary (2.1)" % name)
        same("partner-protocol.md 2.1 '%s'" % name, words(proto[name].split("|")[-1]), name,
             ordered=True)

    check_openapi()
    api_path = os.path.join(docs, "http-api.md")
    statuses = [line for line in open(api_path, encoding="utf-8") if line.startswith("Statuses, in order")]
    if len(statuses) != 1:
        raise HarnessError("http-api.md: no single 'Statuses, in order' line")
    text = statuses[0] + open(api_path, encoding="utf-8").read().split(statuses[0], 1)[1].split("\n\n")[0]
    same("http-api.md statuses", words(text.split(":", 1)[1]), "status", ordered=True)
    # docs/notifications.md's table of channels: one row per channel, in order.
    rows, inside = [], False
    for line in open(os.path.join(docs, "notifications.md"), encoding="utf-8"):
        if line.startswith("| channel | configured by"):
            inside = True
        elif inside and not line.startswith("|"):
            break
        elif inside and line.startswith("| `"):
            rows.append(line)
    same("notifications.md's table of channels", [words(r.split("|")[1])[0] for r in rows],
         "notify_channel", ordered=True)
    print("docs list exactly the vocabularies of common/asp_vocab.c")


if __name__ == "__main__":
    run(main, name="docs_vocab_test")
