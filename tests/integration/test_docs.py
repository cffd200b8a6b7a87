"""The documentation stands on its own: README.md and docs/*.md link only to files of the
repository, and nothing a user reads points at the team's shared folder (../shared), which is not
part of the repository. The product contract and the style guide live in docs/spec.md and
docs/style.md; code comments cite the contract as "SPEC §N".

The bench scripts (bench/*.sh, bench/*.py) are not checked: they run the peers benchmark harness,
which lives outside the repository at ../shared/peers. bench/RESULTS.md, which explains that
harness, may name that one path and nothing else of ../shared.

No build needed: this reads files only.
"""

import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THIS_FILE = os.path.abspath(__file__)

# What a user of the repository reads: checked for mentions of the shared folder.
CHECKED_FILES = ["README.md", "CMakeLists.txt", "Makefile"]
CHECKED_DIRS = ["docs", "include", "src", "apps", "examples", "cmake", "scripts", "tests", ".ci"]
SKIPPED_DIRS = {"__pycache__", "corpus"}  # bytecode; fuzz corpora (bytes, not prose)

# The shared folder's paths, and the bare names of its two files that the repository now holds
# as docs/spec.md and docs/style.md (case-sensitive: the repository's names are lower case).
FORBIDDEN = ["../shared", "shared/SPEC", "shared/STYLE", "shared/peers", "SPEC.md", "STYLE.md"]
RESULTS_MD = os.path.join("bench", "RESULTS.md")
RESULTS_MD_ALLOWED = "../shared/peers"  # the peers harness, which RESULTS.md explains

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
DOCS_PATH = re.compile(r"(?<![\w./-])docs/[\w.-]+\.md\b")
SPEC_CITATION = re.compile(r"SPEC §(\d+)")


def markdown_files():
    """README.md and docs/*.md, as paths relative to ROOT."""
    docs = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return ["README.md"] + docs


def read_lines(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read().split("\n")


def prose_lines(rel):
    """(line number, text) of a markdown file outside fenced code blocks, code spans removed."""
    in_fence = None
    for number, line in enumerate(read_lines(rel), 1):
        m = FENCE.match(line)
        if m:
            if in_fence is None:
                in_fence = m.group(1)
            elif m.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            yield number, CODE_SPAN.sub("", line)


def link_targets(rel):
    """(line number, target) of every inline link, image and reference definition."""
    for number, line in prose_lines(rel):
        for m in INLINE_LINK.finditer(line):
            yield number, m.group(1)
        m = REFERENCE_DEF.match(line)
        if m:
            yield number, m.group(1)


def inside_root(path):
    root = os.path.realpath(ROOT)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def checked_files():
    """Every file a user reads, relative to ROOT, except this test itself."""
    for rel in CHECKED_FILES:
        if os.path.isfile(os.path.join(ROOT, rel)):
            yield rel
    for top in CHECKED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.abspath(path) != THIS_FILE:
                    yield os.path.relpath(path, ROOT)


def mentions(rel, allowed=None):
    """(line number, patterns, line) for every line of a file that holds a forbidden pattern
    (read as bytes, so that a file in any encoding is checked); `allowed` does not count."""
    with open(os.path.join(ROOT, rel), "rb") as f:
        data = f.read()
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("utf-8", "replace")
        rest = line.replace(allowed, "") if allowed else line
        found = [pattern for pattern in FORBIDDEN if pattern in rest]
        if found:
            yield number, ", ".join(found), line.strip()


class StandaloneDocs(unittest.TestCase):
    def fail_with(self, problems, title):
        """Fails with one problem a line, each naming its file and line."""
        if problems:
            self.fail("%s (%d):\n%s" % (title, len(problems), "\n".join(problems)))

    def test_the_contract_and_the_style_guide_are_in_the_repository(self):
        for rel in ("docs/spec.md", "docs/style.md"):
            self.assertTrue(os.path.isfile(os.path.join(ROOT, rel)), rel + " is missing")

    def test_relative_links_resolve_to_files_of_the_repository(self):
        problems = []
        checked = 0
        for rel in markdown_files():
            base = os.path.dirname(os.path.join(ROOT, rel))
            for number, target in link_targets(rel):
                if SCHEME.match(target) or target.startswith("#"):
                    continue  # http(s), mailto, ...; an anchor in the same page
                path = target.split("#", 1)[0].split("?", 1)[0]
                resolved = os.path.join(ROOT, path.lstrip("/")) if path.startswith("/") \
                    else os.path.join(base, path)
                checked += 1
                if not inside_root(resolved):
                    problems.append("%s:%d: link %r leaves the repository" % (rel, number, target))
                elif not os.path.exists(resolved):
                    problems.append("%s:%d: link %r: no such file %s"
                                    % (rel, number, target, os.path.relpath(resolved, ROOT)))
        self.fail_with(problems, "broken links")
        # docs/spec.md links to the pages that detail it: none found means the parser broke.
        self.assertGreater(checked, 0, "no relative link found in README.md or docs/*.md")

    def test_docs_pages_named_in_the_text_exist(self):
        # README and the docs name pages as `docs/NAME.md` (in code spans or plain text).
        problems = []
        for rel in markdown_files():
            for number, line in enumerate(read_lines(rel), 1):
                for m in DOCS_PATH.finditer(line):
                    if not os.path.isfile(os.path.join(ROOT, m.group(0))):
                        problems.append("%s:%d: names %s, which does not exist"
                                        % (rel, number, m.group(0)))
        self.fail_with(problems, "pages named but missing")

    def test_nothing_points_at_the_shared_folder(self):
        problems = []
        files = list(checked_files())
        self.assertIn("README.md", files)
        for rel in files:
            for number, pattern, line in mentions(rel):
                problems.append("%s:%d: mentions %s: %s" % (rel, number, pattern, line))
        self.fail_with(problems, "mentions of the shared folder, which is not in the repository "
                       "(its SPEC.md and STYLE.md are docs/spec.md and docs/style.md)")

    def test_bench_results_name_only_the_peers_harness(self):
        problems = ["%s:%d: mentions %s: %s" % (RESULTS_MD, number, pattern, line)
                    for number, pattern, line in mentions(RESULTS_MD, RESULTS_MD_ALLOWED)]
        self.fail_with(problems, "mentions of the shared folder other than %s (the peers "
                       "harness, which %s explains)" % (RESULTS_MD_ALLOWED, RESULTS_MD))

    def test_spec_citations_name_sections_of_docs_spec_md(self):
        self.assertTrue(os.path.isfile(os.path.join(ROOT, "docs", "spec.md")), "no docs/spec.md")
        sections = {m.group(1) for m in
                    (re.match(r"## (\d+)\. ", line) for line in read_lines("docs/spec.md")) if m}
        self.assertEqual(sections, {str(n) for n in range(1, 8)})
        problems = []
        for rel in list(checked_files()) + [RESULTS_MD]:
            with open(os.path.join(ROOT, rel), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for number, line in enumerate(text.split("\n"), 1):
                for m in SPEC_CITATION.finditer(line):
                    if m.group(1) not in sections:
                        problems.append("%s:%d: cites SPEC §%s" % (rel, number, m.group(1)))
        self.fail_with(problems, "citations of sections docs/spec.md does not have")


if __name__ == "__main__":
    unittest.main()
