"""Every example in README.md runs: its bash and Python blocks, in README order, against a real server.

How it runs: a temporary HOME (so ``~/.cache/modelbay`` in an example is the test's own), a working
folder holding the files the examples name (``readme_files.py``), and ``modelbay serve`` started
on a free port as a subprocess; ``localhost:8000`` and ``127.0.0.1:8000`` in the examples are
rewritten to that port. A bash block runs as one script under ``set -euo pipefail`` with ``curl``
failing on any HTTP status of 400 or more, so an example "works" only if every command in it exits
0. The Python blocks of one README section share one interpreter and namespace, as in a session.
Comments (``#   expected output``) are not checked.

What does not run as written is in the tables below, each with its reason; a table entry that
matches nothing in the README fails (it is stale), and so does a fenced block that is neither run
nor listed, so a new README example is covered the day it is written. Later blocks use what earlier
ones made (trained models), so run the whole file, not one block.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
RUNNABLE = ("bash", "python")
BLOCK_TIMEOUT_S = 900

#: commands not run, and why (the text up to a trailing comment, exactly as in the README)
SKIPPED = {
    "make run": "starts a server that runs until stopped; this test starts the same `modelbay serve` itself",
    "make test": "runs the whole test suite, this test included",
    "modelbay serve": "starts a server that runs until stopped (the test's own server is `modelbay serve`)",
    "modelbay serve --preload all": "starts a server that runs until stopped; what `make run` does",
    "modelbay serve --config deploy.yaml": "starts a server that runs until stopped; deploy.yaml is the user's file",
}
#: commands run with a change, and why: {README command: (command run, reason)}
CHANGED = {
    "curl -s -X POST localhost:8000/v1/jobs/$job/cancel": (
        ('status=$(command curl -s -o /dev/null -w "%{http_code}" -X POST localhost:8000/v1/jobs/$job/cancel)\n'
         '[[ $status == 200 || $status == 409 ]]'),
        "on the test's tiny data the job may finish before the cancel arrives; 409 (already finished) is right then",
    ),
}
FEWSHOT_README = "modelbay train text-classification --data tickets.csv --name ticket-intent-fewshot --param method=setfit"
CHANGED[FEWSHOT_README] = (
    f"{FEWSHOT_README} --param base=all-minilm-l6-v2 --param pairs_per_example=4",
    ("the default E5 base is exported to a 465 MB checkpoint in the test's fresh HOME and trains for minutes; "
     "MiniLM and fewer pairs run the same code in seconds (tests/integration/test_setfit.py covers the method)"),
)
#: fenced blocks in other languages (matched by their first line), and why they are not run
NOT_RUN = {
    "name: my-embedder": "a catalog spec, not a command: test_the_catalog_spec_example_is_valid checks it",
}
#: what every bash block starts with
BASH_PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body "$@"; }  # an HTTP error status fails the example
trap 'echo "README command failed (exit $?): $BASH_COMMAND" >&2' ERR
"""


@dataclasses.dataclass(frozen=True)
class Block:
    section: str
    lang: str
    line: int  # of the block's first code line in README.md
    code: str
    id: str


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced code blocks of README.md, with their section (the last ``## `` heading) and line."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks, section, counts = [], "top", {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            lang = fence.group(1)
            slug = re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")
            counts[(slug, lang)] = counts.get((slug, lang), 0) + 1
            blocks.append(Block(section, lang, i + 2, "\n".join(lines[i + 1:end]),
                                f"{slug}-{lang or 'plain'}{counts[(slug, lang)]}"))
            i = end
        i += 1
    return blocks


def without_comments(text: str) -> tuple[str, bool]:
    """(``text`` without shell comments, whether a quote is still open at its end)."""
    out, quote, i = [], None, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and quote != "'":  # an escaped character, inside double quotes or outside quotes
            out.append(text[i:i + 2])
            i += 2
            continue
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        out.append(char)
        i += 1
    return "\n".join(line.rstrip() for line in "".join(out).split("\n")).strip(), quote is not None


def bash_commands(code: str) -> list[str]:
    """The block's commands, comments removed; a command continues over ``\\`` line ends and open quotes."""
    commands, current = [], ""
    for line in code.splitlines():
        current = f"{current}\n{line}" if current else line
        command, open_quote = without_comments(current)
        if open_quote or command.endswith("\\"):
            continue
        if command:
            commands.append(command)
        current = ""
    assert not current, f"unterminated command: {current!r}"
    return commands


def bash_script(block: Block, server: str) -> tuple[str, list[str]]:
    """(the script that runs ``block``, the reasons of the commands it leaves out)."""
    kept, skipped = [], []
    for command in bash_commands(block.code):
        if command in SKIPPED:
            skipped.append(f"{command!r}: {SKIPPED[command]}")
        else:
            kept.append(CHANGED[command][0] if command in CHANGED else command)
    return (BASH_PRELUDE + with_server("\n".join(kept), server) if kept else ""), skipped


def with_server(code: str, server: str) -> str:
    return code.replace("localhost:8000", server).replace("127.0.0.1:8000", server)


# -- the checks that need no server --------------------------------------------------------------------------


def test_every_readme_block_is_run_or_listed():
    blocks = readme_blocks()
    unlisted = [f"README.md:{b.line} ({b.lang or 'no language'}): {b.code.splitlines()[0]!r}" for b in blocks
                if b.lang not in RUNNABLE and b.code.splitlines()[0] not in NOT_RUN]
    assert not unlisted, "blocks the README test neither runs nor lists in NOT_RUN:\n" + "\n".join(unlisted)
    commands = [c for b in blocks if b.lang == "bash" for c in bash_commands(b.code)]
    firsts = [b.code.splitlines()[0] for b in blocks]
    stale = [c for c in (*SKIPPED, *CHANGED) if commands.count(c) != 1] + [f for f in NOT_RUN if f not in firsts]
    assert not stale, f"table entries that match no README command (or more than one): {stale}"


def test_the_catalog_spec_example_is_valid():
    import yaml

    from modelbay.core.catalog import ModelSpec

    (block,) = [b for b in readme_blocks() if b.code.startswith("name: my-embedder")]
    spec = ModelSpec.model_validate(yaml.safe_load(block.code))
    assert spec.name == "my-embedder" and spec.files


def test_bash_commands_are_split_at_their_ends():
    code = "a 'x\n y' # c\nb \\\n  c  # d\n# only a comment\ncurl -d '{\"k\": \"#1\"}'\nrun \"Apple's\"  # e"
    assert bash_commands(code) == ["a 'x\n y'", "b \\\n  c", "curl -d '{\"k\": \"#1\"}'", "run \"Apple's\""]


# -- running them ----------------------------------------------------------------------------------------------


class PythonSession:
    """One interpreter for a README section: its Python blocks run in order, in one namespace."""

    DRIVER = """
import json, os, sys, traceback
results = os.fdopen(int(sys.argv[1]), "w")
namespace = {"__name__": "__main__"}
for line in sys.stdin:
    block = json.loads(line)
    try:
        exec(compile("\\n" * (block["line"] - 1) + block["code"], "README.md", "exec"), namespace)
        error = None
    except BaseException:
        error = traceback.format_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    results.write(json.dumps({"error": error}) + "\\n")
    results.flush()
"""

    def __init__(self, cwd: Path, env: dict[str, str], log) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen([sys.executable, "-c", self.DRIVER, str(write_fd)], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,))
        os.close(write_fd)
        self.results = os.fdopen(read_fd)

    def run(self, block: Block, code: str) -> str | None:
        """None if the block ran, else its traceback (or why it did not finish)."""
        self.proc.stdin.write(json.dumps({"line": block.line, "code": code}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.results], [], [], BLOCK_TIMEOUT_S)
        line = self.results.readline() if ready else ""
        if not line:
            self.close()
            return f"no answer within {BLOCK_TIMEOUT_S} s (or the interpreter died)"
        return json.loads(line)["error"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.results.close()


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory, start_server):
    """The working folder, the environment, the server and the per-section Python sessions."""
    from readme_files import make_readme_files

    root = tmp_path_factory.mktemp("readme")
    home, work = root / "home", root / "work"
    home.mkdir()
    work.mkdir()
    missing = make_readme_files(work)
    if shutil.which("jq") is None:
        missing["jq"] = "jq is not installed (apt-get install jq)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELBAY_", "XDG_"))}
    cache = home / ".cache"
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache), MODELBAY_HOME=str(cache / "modelbay"), MODELBAY_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    # what `make install` built on this machine (`modelbay models install`: the converted detector and
    # segmenter) is part of the set-up the README's first command does, so the fresh home gets a copy
    from modelbay.core.settings import Settings

    built = Settings().home / "installed"
    if built.is_dir():
        shutil.copytree(built, cache / "modelbay" / "installed")
    with start_server(env=env) as base:
        state = {"work": work, "env": env, "server": base.removeprefix("http://"), "missing": missing,
                 "sessions": {}, "log": open(root / "python.log", "w+")}  # noqa: SIM115 - closed below
        yield state
        for session in state["sessions"].values():
            session.close()
        state["log"].close()


def _needs(block: Block, missing: dict[str, str]) -> list[str]:
    uses = {name: name in block.code for name in missing if name != "jq"}
    uses["jq"] = "jq " in block.code
    return [f"{name}: {missing[name]}" for name, used in uses.items() if used and name in missing]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in readme_blocks() if b.lang in RUNNABLE], ids=lambda b: b.id)
def test_readme_example_runs(block: Block, readme_run):
    needs = _needs(block, readme_run["missing"])
    if needs:
        pytest.skip("; ".join(needs))
    if block.lang == "python":
        session = readme_run["sessions"].get(block.section)
        if session is None:
            session = readme_run["sessions"][block.section] = PythonSession(
                readme_run["work"], readme_run["env"], readme_run["log"])
        error = session.run(block, with_server(block.code, readme_run["server"]))
        assert error is None, f"README.md:{block.line} ({block.section}) failed:\n{error}\n{_tail(readme_run['log'])}"
        return
    script, skipped = bash_script(block, readme_run["server"])
    if not script:
        pytest.skip("; ".join(skipped))
    done = subprocess.run(["bash", "-c", script], check=False, cwd=readme_run["work"], env=readme_run["env"], text=True,
                          capture_output=True, timeout=BLOCK_TIMEOUT_S)
    assert done.returncode == 0, (f"README.md:{block.line} ({block.section}) exited {done.returncode}\n"
                                  f"stdout: {done.stdout[-3000:]}\nstderr: {done.stderr[-3000:]}")


def _tail(log) -> str:
    log.seek(0)
    return "output: " + log.read()[-3000:]
