"""The command line explains itself: every option of every subcommand has help and a default,
descriptions are plain text, warnings are one line, messages are sentences."""

import argparse
import pickle
import warnings

import pytest

from optdyn import cli
from optdyn._core.errors import ConfigError, expected_one_of
from optdyn._core.registry import check_keys, lookup
from optdyn.cli import build_parser, main
from optdyn.cli.errors import one_line_warnings
from optdyn.cli.help import commands

COMMANDS = commands(build_parser())
RST = ("``", ":mod:", ":func:", ":class:", ":data:")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction)
            and "--help" not in a.option_strings]


def test_every_subcommand_is_discovered():
    assert {"run", "demo", "reproduce", "spectrum", "phases", "scaling", "sweep",
            "sweep status"} <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_exits_0_and_every_option_is_explained(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command.split(), "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: optdyn {command} ")
    parser = COMMANDS[command]
    for action in _options(parser):
        assert action.help and action.help.strip(), f"{command}: {action.dest} has no help"
    for text in (out, parser.description or "", parser.epilog or ""):
        assert not any(r in text for r in RST), f"{command}: reST in its help"
    assert parser.description and parser.epilog and "optdyn " + command in parser.epilog
    assert "default: None" not in out and "default: False" not in out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_default_is_shown(command):
    parser = COMMANDS[command]
    for action in _options(parser):
        # flags, positionals and required options have no default to show
        if action.nargs == 0 or not action.option_strings or action.required:
            continue
        assert "default" in (parser._get_formatter()._expand_help(action) or "").lower(), \
            f"{command}: {action.option_strings[0]} does not say its default"


def test_top_level_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert not any(r in out for r in RST) and "optdyn run" in out


def _warn_twice(args):
    warnings.warn("the risk grows without\nbound", UserWarning, stacklevel=1)
    warnings.warn("the risk grows without\nbound", UserWarning, stacklevel=1)  # another line
    warnings.warn("a second one", RuntimeWarning, stacklevel=1)
    return 0


def test_a_cli_warning_is_one_line_without_its_location(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_demo", _warn_twice)
    before = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["demo"]) == 0
    assert warnings.showwarning is before  # restored: library users keep Python's display
    err = capsys.readouterr().err
    assert err.splitlines() == ["optdyn: warning: the risk grows without bound",
                                "optdyn: warning: a second one"]
    assert ".py:" not in err and "warnings.warn" not in err


def test_a_real_warning_of_optdyn_run(tmp_path, capsys):
    study = tmp_path / "diverge.toml"
    study.write_text('steps = 50\nsimulate = false\ntheory = "ode"\n'
                     '[problem]\nkind = "linear_regression"\n'
                     'eigenvalues = { kind = "power_law", d = 10, alpha = 0.5 }\n'
                     'theta_star = { kind = "random", norm = 1.0 }\n'
                     '[[optimizer]]\nkind = "sgd"\nlr = 5.0\n')
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["run", str(study), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("optdyn: warning: ") for ln in lines), err
    assert ".py:" not in err and "SGD(lr=5)" in err


def test_warnings_outside_the_cli_are_untouched():
    before = warnings.showwarning
    with one_line_warnings():
        assert warnings.showwarning is not before
    assert warnings.showwarning is before


def test_choices_read_as_one_sentence():
    assert expected_one_of(["a", "b"]) == "; expected one of: a, b."
    assert expected_one_of(["a", "b"], "; did you mean 'a'?") == \
        "; did you mean 'a'? Expected one of: a, b."


def test_unknown_key_message_is_not_glued():
    with pytest.raises(ConfigError) as e:
        check_keys(["x"], ["a", "b", "c"], "problem", "key for 'linear_regression'")
    assert e.value.field == "problem.x"
    assert str(e.value) == ("problem.x: unknown key 'x' for 'linear_regression'; expected one "
                            "of: a, b, c.")
    with pytest.raises(ConfigError) as e:
        check_keys(["sedes"], ["seeds", "steps"], "")
    assert str(e.value) == ("sedes: unknown key 'sedes'; did you mean 'seeds'? Expected one of: "
                            "seeds, steps.")
    with pytest.raises(ConfigError) as e:
        lookup({"tanh": 1, "relu": 2}, "tanhh", "activation", "activation")
    assert e.value.message == ("unknown activation 'tanhh'; did you mean 'tanh'? Expected one "
                               "of: relu, tanh.")


def test_cli_error_line_of_a_misspelled_key(tmp_path, capsys):
    study = tmp_path / "bad.toml"
    study.write_text('steps = 10\n[problem]\nkind = "linear_regression"\n'
                     'eigenvalues = { kind = "power_law", d = 10, alpha = 0.5 }\nfoo = 1\n'
                     '[[optimizer]]\nkind = "sgd"\nlr = 0.1\n')
    assert main(["run", str(study)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("optdyn: error: problem.foo: unknown key 'foo' for "
                          "'linear_regression'; expected one of: basis, ")
    assert err.endswith(".") and "[" not in err and "Expected" not in err


def test_config_error_survives_pickling():
    e = pickle.loads(pickle.dumps(ConfigError("optimizer[0].lr", "must be >= 0")))
    assert (e.field, e.message, str(e)) == ("optimizer[0].lr", "must be >= 0",
                                            "optimizer[0].lr: must be >= 0")


def test_reproduce_without_a_name_says_what_to_give(capsys):
    assert main(["reproduce"]) == 2
    captured = capsys.readouterr()
    assert "signsgd-risk" in captured.out
    assert captured.err.startswith("optdyn: error: name: give the name of a figure")
