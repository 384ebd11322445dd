"""How the command line explains itself: one parser class and one help layout for every
subcommand.

:class:`Parser` is the ``argparse.ArgumentParser`` of ``optdyn`` and of each of its subcommands
(``add_subparsers`` makes its subparsers of the same class), so every ``--help`` shows each
option's default (:class:`HelpFormatter`) and keeps the lines of the examples in its
plain-text epilog. A command that is not an ``argparse`` subcommand (``optdyn sweep status``) is
listed in :attr:`Parser.extra_commands`; :func:`commands` walks both.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

__all__ = ["HelpFormatter", "Parser", "commands"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with ``(default: X)``; descriptions and epilogs are reflowed to
    the terminal, except indented lines (examples), which are kept as written.

    The default is not appended where it says nothing: a flag (its default is off), a default
    of ``None`` (the option's help says what is chosen instead) and a help that already names
    its default.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        # as argparse, but "power-law" and "--engine" are not cut at their hyphens
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        prose: list[str] = []

        def flush() -> None:
            if prose:
                out.append(textwrap.fill(" ".join(" ".join(prose).split()), width,
                                         initial_indent=indent, subsequent_indent=indent,
                                         break_on_hyphens=False))
                prose.clear()

        for line in text.strip("\n").splitlines():
            if not line.strip():
                flush()
                out.append("")
            elif line[0].isspace():
                flush()
                out.append(indent + line)
            else:
                prose.append(line)
        flush()
        return "\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if ("%(default)" in help_text or "default" in help_text.lower()
                or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS
                or action.nargs == 0
                or not (action.option_strings
                        or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))):
            return help_text
        return f"{help_text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """The parser of ``optdyn`` and its subcommands: :class:`HelpFormatter` unless another
    ``formatter_class`` is given.

    Attributes:
        extra_commands: commands parsed by the subcommand itself rather than by ``argparse``
            (name -> their parser), such as ``status`` of ``optdyn sweep``.
    """

    def __init__(self, *args: Any, formatter_class: Any = HelpFormatter, **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)
        self.extra_commands: dict[str, argparse.ArgumentParser] = {}


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command under ``parser``, by the words that call it (``"sweep status"``), found
    from the parser itself: its ``argparse`` subcommands, theirs, and the ``extra_commands``."""
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in commands(sub).items()})
    for name, sub in getattr(parser, "extra_commands", {}).items():
        out[name] = sub
        out.update({f"{name} {k}": v for k, v in commands(sub).items()})
    return out
