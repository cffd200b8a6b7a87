"""README.md's "The library in ten lines" compiles as written: its server block as a file of its
own, its client block as the body of a `netcall::task<void>` coroutine (its `co_await` needs one).

The compiler and the include directories come from CMake (tests/CMakeLists.txt): NETCALL_CXX and
NETCALL_INCLUDE_DIRS (the source tree's include/ and the build's generated/include, separated by
':'). Syntax only: nothing is linked or run.
"""

import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## The library in ten lines"
CPP_BLOCK = re.compile(r"^```cpp\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

CLIENT_PRELUDE = """#include "netcall/client.hpp"
#include "netcall/task.hpp"

netcall::task<void> client_example() {
"""
CLIENT_EPILOGUE = """  co_return;
}
"""


def readme_blocks():
    """The ```cpp blocks of the section, in order."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.find(SECTION + "\n")
    if start < 0:
        raise AssertionError("README.md has no %r section" % SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return CPP_BLOCK.findall(text[start:end if end >= 0 else len(text)])


class ReadmeLibraryExample(unittest.TestCase):
    def setUp(self):
        self.cxx = os.environ.get("NETCALL_CXX")
        dirs = os.environ.get("NETCALL_INCLUDE_DIRS")
        if not self.cxx or not dirs:
            self.skipTest("run through CTest, which sets NETCALL_CXX and NETCALL_INCLUDE_DIRS")
        self.includes = ["-I" + d for d in dirs.split(":") if d]
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)

    def compile(self, name, source):
        path = os.path.join(self.work.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        r = subprocess.run([self.cxx, "-fsyntax-only", "-std=c++20", *self.includes, path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0,
                         "README.md's %s does not compile:\n%s\n%s" % (name, source, r.stderr))

    def test_the_section_has_a_server_and_a_client_block(self):
        blocks = readme_blocks()
        self.assertEqual(len(blocks), 2, blocks)
        self.assertIn("int main()", blocks[0])
        self.assertIn("netcall::client", blocks[1])

    def test_the_server_block_compiles_as_written(self):
        self.compile("readme_server.cpp", readme_blocks()[0])

    def test_the_client_block_compiles_in_a_task_coroutine(self):
        body = "".join("  " + line + "\n" for line in readme_blocks()[1].splitlines())
        self.compile("readme_client.cpp", CLIENT_PRELUDE + body + CLIENT_EPILOGUE)


if __name__ == "__main__":
    unittest.main()
