"""Every code block of the README and the docs runs as written, and so does every example.

The blocks are the fenced blocks of ``README.md``, ``docs/*.md`` and ``docs/theory/*.md``. Each
``python``, ``bash`` and ``toml`` block is one test, named ``PAGE:LINE`` (the line of its opening
fence), so a failure names the block. The rules:

- **Stated time.** The first line of every block is a comment that states the time it takes,
  ``# about 4 s on 2 cores`` (``about`` or ``under``, then a number and ``ms``, ``s`` or ``min``).
  A block without one fails. A block that takes more than 5x its stated time plus 60 s fails too
  (the margin covers two xdist workers sharing 2 cores on a busy machine; it catches a block
  that takes minutes where it says seconds).
- **python** blocks are exec'd in one scope per page, in page order, in a temporary working
  directory of the page (matplotlib's Agg backend): a block may use the names of the earlier
  blocks of its page, like the cells of a notebook, and the page says so where it happens. A
  block whose test runs alone (or on another xdist worker) first runs the earlier blocks it
  needs (:func:`needs`): the page's earlier toml blocks (the files they write) and, for a python
  block, the earlier python blocks that bind a name it reads, and theirs in turn.
  Every ``"NAME.png"`` or ``"NAME.nc"`` string literal of a block must name a file that exists
  after it ran.
- **toml** blocks are parsed with ``tomllib`` and built with :func:`optdyn.study.parse_study`
  (the problem and optimizers of the first and the last grid point are built). The first-line
  comment says what the block is:

  - ``# NAME.toml ...``: a whole study, also written to ``NAME.toml`` in the page's directory,
    where the page's later bash blocks find it (the README's ``optdyn sweep study.toml``);
  - ``# in PATH ...``: a fragment (e.g. docs/sweeps.md's lone ``[sweep]`` table), whose
    top-level keys replace those of the study in the repository file ``PATH``.

  Where the comment says ``N points``, the grid has N points.
- **bash** blocks: every line (comments stripped) is one command. ``optdyn ...`` runs through
  :func:`optdyn.cli.main` in the page's directory and must exit 0; every ``*.png`` it names
  must exist afterwards. ``make TARGET ...`` is not run (CI runs ``make test`` itself, and
  ``make demo`` installs a venv): the test checks that the Makefile has each target. Any other
  command fails the test.
- Blocks without a language (diagrams, file layouts) are text: not run, not timed.

Examples (``examples/``): each file's header (docstring or leading comments) says what it shows
and how long it takes (``About N s``); ``*.py`` examples run through :func:`runpy.run_path` in a
temporary directory, ``*.toml`` examples run the first ``optdyn ... examples/NAME.toml`` command
their header names (with the file's path made absolute), in a temporary directory; the time
checked is the first one the header states. The same time bound applies.

The self-tests at the end check that the checker can fail: a block that uses an undefined name,
a block without a stated time, an unknown shell command and a missing make target all fail.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import re
import runpy
import shlex
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "docs" / "theory").glob("*.md"))]
EXAMPLES = sorted([*(ROOT / "examples").glob("*.py"), *(ROOT / "examples").glob("*.toml")])
RUN = ("python", "bash", "toml")
TIME = re.compile(r"\b(?:about|under)\s+(\d+(?:\.\d+)?)\s*(ms|s|min)\b", re.I)
UNIT = {"ms": 1e-3, "s": 1.0, "min": 60.0}
OUTPUT = re.compile(r"""["']([\w./-]+\.(?:png|nc))["']""")


@dataclasses.dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # the opening fence's line, from 1
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(text: str, page: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page}:{start}: the block is not closed")
        out.append(Block(page, start, m.group(1), "\n".join(body) + "\n"))
        i += 1
    return out


ALL_BLOCKS = [b for p in PAGES for b in blocks_of(p.read_text(), str(p.relative_to(ROOT)))]
BLOCKS = [b for b in ALL_BLOCKS if b.lang in RUN]


def stated_seconds(text: str, where: str) -> float:
    """The time a block states on its first line (an example: anywhere in its header)."""
    m = TIME.search(text)
    if m is None:
        raise AssertionError(f"{where}: states no time; its first line must be a comment like "
                             "'# about 4 s on 2 cores'")
    return float(m.group(1)) * UNIT[m.group(2).lower()]


def first_line(block: Block) -> str:
    line = block.code.splitlines()[0] if block.code.strip() else ""
    if not line.startswith("#"):
        raise AssertionError(f"{block.id}: the first line is not a comment stating the time the "
                             f"block takes: {line!r}")
    return line


def within_time(seconds: float, stated: float, where: str) -> None:
    assert seconds <= 5 * stated + 60, (f"{where} took {seconds:.1f} s, stated {stated:g} s: "
                                        "make it smaller or state the time it takes (or the "
                                        "machine is loaded several times over)")


# ------------------------------------------------------------------------------ the runner
@dataclasses.dataclass
class PageState:
    """One page read top to bottom: its scope, its working directory, the blocks run so far."""

    dir: Path
    scope: dict[str, Any] = dataclasses.field(default_factory=dict)
    done: dict[int, tuple[BaseException | None, float]] = dataclasses.field(default_factory=dict)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def _run_python(block: Block, state: PageState) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    state.scope.setdefault("__name__", f"docs:{block.page}")
    try:
        exec(compile(block.code, block.id, "exec"), state.scope)  # noqa: S102 - our own docs
    finally:
        plt.close("all")
    for name in OUTPUT.findall(block.code):
        assert (state.dir / name).is_file(), f"{block.id}: wrote no {name}"


def _run_toml(block: Block, state: PageState) -> None:
    from optdyn.study import parse_study, point_objects

    head = first_line(block)
    doc = tomllib.loads(block.code)
    words = head.lstrip("#").split()
    if words and words[0] == "in" and len(words) > 1:
        base_path = ROOT / words[1].rstrip(",:")
        assert base_path.is_file(), f"{block.id}: names {words[1]}, which is not in the repository"
        doc = {**tomllib.loads(base_path.read_text()), **doc}
    elif words and words[0].rstrip(",:").endswith(".toml"):
        (state.dir / words[0].rstrip(",:")).write_text(block.code)
    else:
        raise AssertionError(f"{block.id}: the first-line comment must begin with the file the "
                             "study is ('# study.toml ...') or the study it is a part of "
                             "('# in examples/NAME.toml ...')")
    study = parse_study(doc)
    for i in sorted({0, study.grid.size - 1}):
        problem, optimizers = point_objects(study.point_spec(i))
        assert optimizers, f"{block.id}: point {i} has no optimizer"
    m = re.search(r"(\d+) points", head)
    if m:
        assert study.grid.size == int(m.group(1)), (f"{block.id}: says {m.group(1)} points, the "
                                                    f"grid has {study.grid.size}")


def _run_bash(block: Block, state: PageState) -> None:
    from optdyn.cli import main

    for n, line in enumerate(block.code.splitlines()):
        args = shlex.split(line, comments=True)
        if not args:
            continue
        where = f"{block.page}:{block.line + 1 + n}"
        if args[0] == "make":
            missing = set(args[1:]) - makefile_targets()
            assert args[1:] and not missing, f"{where}: the Makefile has no target {missing}"
        elif args[0] == "optdyn":
            rc = main(args[1:])
            assert rc == 0, f"{where}: {line.strip()!r} exited with {rc}"
            for name in args[1:]:
                if name.endswith(".png"):
                    assert (state.dir / name).is_file(), f"{where}: wrote no {name}"
        else:
            raise AssertionError(f"{where}: only 'optdyn ...' and 'make ...' lines are run by "
                                 f"this test, not {args[0]!r}")


def run_block(block: Block, state: PageState) -> float:
    """Run one block in its page's state; returns the seconds it took (raises on failure)."""
    first_line(block)
    runner = {"python": _run_python, "toml": _run_toml, "bash": _run_bash}[block.lang]
    t0 = time.perf_counter()
    with contextlib.chdir(state.dir):
        runner(block, state)
    return time.perf_counter() - t0


def _names(code: str) -> tuple[set[str], set[str]]:
    """The names a python block binds and the names it reads."""
    bound, read = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else read).add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return bound, read


def needs(block: Block, blocks: list[Block] | None = None) -> list[Block]:
    """The earlier blocks of its page that a block needs, in page order: every earlier toml
    block (the files they write), and for a python block the earlier python blocks that bind a
    name it reads, and theirs in turn."""
    earlier = [b for b in (BLOCKS if blocks is None else blocks)
               if b.page == block.page and b.line < block.line]
    out = [b for b in earlier if b.lang == "toml"]
    if block.lang == "python":
        want = _names(block.code)[1]
        for b in reversed([b for b in earlier if b.lang == "python"]):
            bound, read = _names(b.code)
            if bound & want:
                out.append(b)
                want = (want - bound) | read
    return sorted(out, key=lambda b: b.line)


_STATES: dict[str, PageState] = {}


def _page_state(page: str, factory: pytest.TempPathFactory) -> PageState:
    if page not in _STATES:
        _STATES[page] = PageState(factory.mktemp(re.sub(r"\W", "_", page)))
    return _STATES[page]


# ------------------------------------------------------------------------------ the blocks
def test_the_pages_have_code_blocks_and_only_known_kinds():
    langs = {b.lang for b in ALL_BLOCKS}
    assert langs <= {*RUN, ""}, f"blocks of unknown kind: {langs - {*RUN, ''}}"
    assert len(BLOCKS) >= 12
    assert {b.page for b in BLOCKS} >= {"README.md", "docs/usage.md", "docs/muon.md"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_block_runs_as_written(block: Block, tmp_path_factory: pytest.TempPathFactory):
    stated = stated_seconds(first_line(block), block.id)
    state = _page_state(block.page, tmp_path_factory)
    for earlier in needs(block):  # the page read top to bottom: the blocks it needs first
        if earlier.line not in state.done:
            try:
                state.done[earlier.line] = (None, run_block(earlier, state))
            except BaseException as e:  # noqa: BLE001 - reported by that block's own test
                state.done[earlier.line] = (e, 0.0)
    if block.line in state.done:
        err, seconds = state.done[block.line]
        if err is not None:
            raise err
    else:
        try:
            seconds = run_block(block, state)
        except BaseException as e:
            state.done[block.line] = (e, 0.0)
            raise
        state.done[block.line] = (None, seconds)
    within_time(seconds, stated, block.id)


# ------------------------------------------------------------------------------ the examples
def _header(path: Path) -> str:
    lines = []
    text = path.read_text()
    if path.suffix == ".py" and text.startswith('"""'):
        return text[3:text.index('"""', 3)]
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def test_examples_are_linked_from_the_readme():
    assert "](examples/)" in (ROOT / "README.md").read_text()
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, tmp_path: Path):
    head = _header(path)
    assert len(head.split()) >= 12, f"{path.name}: its header does not say what it shows"
    stated = stated_seconds(head, path.name)
    t0 = time.perf_counter()
    with contextlib.chdir(tmp_path):
        if path.suffix == ".py":
            runpy.run_path(str(path), run_name="__main__")
        else:
            from optdyn.cli import main

            rel = f"examples/{path.name}"
            cmds = [c.strip() for c in re.findall(r"^#\s+(optdyn .*)$", head, flags=re.M)
                    if rel in c]
            assert cmds, f"{path.name}: its header names no 'optdyn ... {rel}' command"
            args = [str(path) if a == rel else a for a in shlex.split(cmds[0], comments=True)]
            assert main(args[1:]) == 0
    within_time(time.perf_counter() - t0, stated, path.name)


# ------------------------------------------------------------------------------ self-tests
def _page(text: str, tmp_path: Path) -> tuple[list[Block], PageState]:
    return blocks_of(text, "page.md"), PageState(tmp_path)


def test_a_block_with_an_undefined_name_fails(tmp_path):
    blocks, state = _page("```python\n# about 1 s\nx = 1\n```\n\n```python\n# about 1 s\n"
                          "y = x + undefined_name\n```\n", tmp_path)
    run_block(blocks[0], state)
    with pytest.raises(NameError, match="undefined_name"):
        run_block(blocks[1], state)
    assert state.scope["x"] == 1  # the page's earlier names are kept


def test_a_block_without_a_stated_time_fails(tmp_path):
    blocks, state = _page("```python\nx = 1\n```\n```bash\n# takes a while\noptdyn --help\n"
                          "```\n", tmp_path)
    with pytest.raises(AssertionError, match="first line is not a comment"):
        run_block(blocks[0], state)
    with pytest.raises(AssertionError, match="states no time"):
        stated_seconds(first_line(blocks[1]), blocks[1].id)
    assert stated_seconds("# about 3.5 min on 2 cores", "x") == 210.0
    with pytest.raises(AssertionError, match="took"):
        within_time(100.0, 1.0, "x")


def test_unknown_commands_missing_targets_and_failing_commands_fail(tmp_path):
    blocks, state = _page("```bash\n# about 1 s\nrm -rf /tmp/x\n```\n```bash\n# about 1 s\n"
                          "make no-such-target\n```\n```bash\n# about 1 s\n"
                          "optdyn run missing.toml\n```\n```bash\n# about 1 s\nmake test demo\n"
                          "```\n", tmp_path)
    with pytest.raises(AssertionError, match="not 'rm'"):
        run_block(blocks[0], state)
    with pytest.raises(AssertionError, match="no target"):
        run_block(blocks[1], state)
    with pytest.raises(AssertionError, match="exited with 2"):
        run_block(blocks[2], state)
    run_block(blocks[3], state)


def test_a_toml_block_must_say_what_it_is(tmp_path):
    study = ('steps = 10\n[problem]\nkind = "linear_regression"\n'
             'eigenvalues = { kind = "power_law", d = 4, alpha = 1.0 }\n'
             'theta_star = { kind = "random", norm = 1.0 }\n'
             '[[optimizer]]\nkind = "sgd"\nlr = 0.1\n')
    blocks, state = _page(f"```toml\n# about 1 s\n{study}```\n```toml\n# s.toml: 2 points, "
                          f"under 1 s\n{study}[sweep]\n\"optimizer.lr\" = [0.1, 0.2]\n```\n"
                          "```toml\n# s.toml: 3 points, under 1 s\n[sweep]\n"
                          "\"optimizer.lr\" = [0.1, 0.2]\n```\n", tmp_path)
    with pytest.raises(AssertionError, match="must begin with the file"):
        run_block(blocks[0], state)
    run_block(blocks[1], state)
    assert (tmp_path / "s.toml").is_file()
    with pytest.raises(Exception):  # noqa: B017 - a fragment alone is not a study
        run_block(blocks[2], state)


def test_a_block_needs_only_the_earlier_blocks_whose_names_it_reads():
    blocks = blocks_of("```python\n# under 1 s\nimport math\nx = 1\n```\n```python\n"
                       "# under 1 s\ny = slow(x)\n```\n```toml\n# s.toml, under 1 s\n```\n"
                       "```python\n# under 1 s\nz = math.sqrt(x)\n```\n", "page.md")
    assert [b.line for b in needs(blocks[3], blocks)] == [1, 10]
    assert [b.line for b in needs(blocks[1], blocks)] == [1]
    usage = [b for b in BLOCKS if b.page == "docs/usage.md" and b.lang == "python"]
    assert [b.line for b in needs(usage[-1])] == [usage[0].line]  # not the simulation
