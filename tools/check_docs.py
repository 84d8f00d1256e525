#!/usr/bin/env python3
"""Checks that the docs say what the code has.

- Every `Class::member` named in README.md and docs/ exists: a class,
  struct or enum of that name is defined in the C++ sources and names the
  member, or the code spells `Class::member` itself.
- Every relative link in the repository's Markdown files resolves to a file
  or folder, and none leaves the repository (links to other projects'
  public pages are absolute and not checked); so does every path of the
  repository that README.md and docs/ name in backticks.

Run from anywhere: python3 tools/check_docs.py. Prints what is wrong and
exits 1, or prints what it checked and exits 0.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tracked(*patterns):
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
                         check=True, capture_output=True, text=True).stdout
    return [p for p in out.split("\n") if p and os.path.exists(os.path.join(ROOT, p))]


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


CODE_SPAN = re.compile(r"`[^`\n]*`")
QUALIFIED = re.compile(r"\b([A-Z][A-Za-z0-9_]*)::(~?[A-Za-z_][A-Za-z0-9_]*)")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]\n]*\]\(([^)\s]+)\)")
DEFINITION = r"\b(class|struct|enum class|enum|using)\s+{}\b(?!\s*;)"


def check_names(docs, sources):
    texts = {p: read(p) for p in sources}
    defined = {}
    problems = []
    checked = 0
    for doc in docs:
        for lineno, line in enumerate(read(doc).split("\n"), 1):
            for span in CODE_SPAN.findall(line):
                for cls, member in QUALIFIED.findall(span):
                    checked += 1
                    if cls not in defined:
                        pat = re.compile(DEFINITION.format(re.escape(cls)))
                        defined[cls] = [p for p, t in texts.items() if pat.search(t)]
                    homes = defined[cls]
                    spelled = re.compile(r"\b{}::{}\b".format(re.escape(cls), re.escape(member.lstrip("~"))))
                    named = re.compile(r"\b{}\b".format(re.escape(member.lstrip("~"))))
                    # A member is found in the files that define the class,
                    # or in their .cc beside them.
                    files = set(homes)
                    for h in homes:
                        base = os.path.splitext(h)[0]
                        files.update(p for p in texts if os.path.splitext(p)[0] == base)
                    if any(spelled.search(t) for t in texts.values()):
                        continue
                    if homes and any(named.search(texts[f]) for f in files):
                        continue
                    what = "no class " + cls if not homes else "no member " + member + " in " + ", ".join(sorted(homes))
                    problems.append("{}:{}: {}::{}: {}".format(doc, lineno, cls, member, what))
    return problems, checked


def check_links(markdown):
    problems = []
    checked = 0
    for doc in markdown:
        text = read(doc)
        # Code blocks hold code, not links.
        text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        for lineno, line in enumerate(text.split("\n"), 1):
            line = CODE_SPAN.sub("", line)
            for a, b in LINK.findall(line):
                target = a or b
                if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                    continue  # absolute (another site) or an anchor in this page
                checked += 1
                path = target.split("#", 1)[0]
                resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), path))
                if os.path.commonpath([ROOT, resolved]) != ROOT:
                    problems.append("{}:{}: link leaves the repository: {}".format(doc, lineno, target))
                elif not os.path.exists(resolved):
                    problems.append("{}:{}: link to nothing: {}".format(doc, lineno, target))
    return problems, checked


# A path of this repository named in backticks: it has a folder and an
# ending of a file the project keeps.
PATH_SPAN = re.compile(r"`((?:\./|\.\./)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\.(?:md|lua|cc|h|sh|py|bzl|proto))`")


def check_paths(docs):
    problems = []
    checked = 0
    for doc in docs:
        for lineno, line in enumerate(read(doc).split("\n"), 1):
            for path in PATH_SPAN.findall(line):
                if path.startswith("lualib/"):
                    continue  # a module as the runtime names it in logs and tracebacks
                checked += 1
                # As a path from the top or from the doc, as an include
                # (silly/<folder>/...), or as a module's file under lualib.
                places = [path, os.path.join(os.path.dirname(doc), path), "lua_api/lualib/" + path,
                          "lua_api/lualib/silly/" + path]
                if path.startswith("silly/"):
                    places.append(path[len("silly/"):])
                places = [os.path.normpath(os.path.join(ROOT, p)) for p in places]
                if not any(os.path.commonpath([ROOT, p]) == ROOT and os.path.exists(p) for p in places):
                    problems.append("{}:{}: names a file the repository does not have: {}".format(doc, lineno, path))
    return problems, checked


def main():
    sources = [p for p in tracked("*.cc", "*.h") if not p.startswith("third_party/")]
    docs = [p for p in tracked("README.md", "docs/*.md")]
    markdown = [p for p in tracked("*.md") if not p.startswith("third_party/")]
    name_problems, names = check_names(docs, sources)
    link_problems, links = check_links(markdown)
    path_problems, paths = check_paths(docs)
    link_problems += path_problems
    links += paths
    for p in name_problems + link_problems:
        print(p)
    problems = len(name_problems) + len(link_problems)
    print("docs: {} names in {} files, {} relative links and paths in {} files, {} problems".format(
        names, len(docs), links, len(markdown), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
