"""One command line, one error path: bad input exits 2 with the field's name on stderr."""

import pytest

from optdyn.cli import main


@pytest.mark.parametrize(("argv", "field"), [
    (["reproduce", "no-such-figure"], "name"),
    (["spectrum", "tanh", "100", "-5", "200"], "n1"),
    (["phases", "--alphas", "a,b"], "alphas"),
])
def test_bad_input_exits_2_naming_the_field(argv, field, capsys, tmp_path):
    if argv[0] == "phases":
        argv = [*argv, "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("optdyn: error: ") and field in err


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
