"""The scenario schema: defaults, files, overrides and one-line errors."""

from pathlib import Path

import pytest

from simulation import Scenario, ScenarioError, load
from simulation.config import apply_overrides
from simulation.config.parameters import parameter_rows
from simulation.config.schema import describe_bounds, parameter_keys

from .helpers import SCENARIOS


def test_defaults_are_valid_and_every_parameter_is_documented():
    """Every parameter has a default, allowed values and a one-line meaning."""
    Scenario()
    rows = parameter_rows()
    assert len(rows) == len(parameter_keys()) > 40
    for row in rows:
        assert row["meaning"], row["key"]
        assert row["allowed"], row["key"]


@pytest.mark.parametrize("name", ["expert_only", "peer_only", "mixed"])
def test_shipped_scenarios_load(name):
    """The shipped scenario files validate and set their structure."""
    sc = load(SCENARIOS / f"{name}.toml")
    assert sc.program.structure == name
    assert sc.name == name


def test_overrides_are_parsed_as_toml_values():
    """--set values are read as TOML: numbers, lists, or bare words."""
    sc = load(SCENARIOS / "mixed.toml", ["program.structure=peer_only", "learning.optimal_gap=0.2",
                                         "levels.agency_decay=[0.1, 0.05, 0.0]"])
    assert sc.program.structure == "peer_only"
    assert sc.learning.optimal_gap == 0.2
    assert sc.levels.agency_decay == (0.1, 0.05, 0.0)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "[learning]\noptimal_gpa = 0.1\n",
            ["unknown key 'learning.optimal_gpa'", "did you mean 'learning.optimal_gap'"],
        ),
        ("[learnin]\noptimal_gap = 0.1\n", ["unknown key 'learnin'", "did you mean 'learning'"]),
        ("[program]\nagency = 3\n", ["program.agency", "invalid value 3", "0 to 2 (integer)"]),
        ("[program]\nagency = 'high'\n", ["program.agency", "'high'", "0 to 2"]),
        (
            "[program]\nstructure = 'lecture'\n",
            ["program.structure", "one of 'expert_only', 'peer_only', 'mixed'"],
        ),
        ("[learning]\noptimal_gap = 0\n", ["learning.optimal_gap", "greater than 0.0"]),
        (
            "[levels]\nagency_decay = [0.1, 2.0, 0.0]\n",
            ["levels.agency_decay", "each 0.0 to 1.0 (number)"],
        ),
        ("[population\nsize = 3\n", ["malformed TOML"]),
    ],
)
def test_bad_scenario_files_name_file_key_and_allowed_values(scenario_dir, text, fragments):
    """Each bad input gives one line naming the file, the key and what is allowed."""
    path = scenario_dir / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_is_a_clear_error(tmp_path):
    """A scenario file that does not exist is a ScenarioError saying so."""
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load(tmp_path / "nope.toml")


def test_bad_override_names_the_key():
    """An override with a typo suggests the key; one out of range names it and its bounds."""
    with pytest.raises(ScenarioError, match=r"did you mean 'population\.size'"):
        Scenario().with_overrides({"population.sise": 10})
    with pytest.raises(ScenarioError, match=r"population\.size.*2 to 10000000000"):
        Scenario().with_overrides({"population.size": 1})


def test_bounds_are_described_in_words():
    """Bounds, choices and per-level lists are described in words for messages and docs."""
    assert describe_bounds("program.agency") == "0 to 2 (integer)"
    assert describe_bounds("pyramid.shape") == "one of 'layers', 'exponential'"


def test_parameter_docs_are_generated_from_the_schema():
    """docs/parameters.md is what the schema generates (`peerscale params --markdown`)."""
    from simulation.config.parameters import parameter_markdown

    from .helpers import ROOT

    assert (ROOT / "docs" / "parameters.md").read_text() == parameter_markdown()


# Inputs that once escaped the one-line rule; the first three were found by the property tests
# of tests/test_properties.py.


@pytest.mark.parametrize("text", ["run.\rsteps=3", "\x1b[2J=1", "\x1f"])
def test_control_characters_in_a_set_flag_stay_escaped_on_one_line(text):
    """A carriage return or escape code typed into --set is shown escaped, never acted on."""
    with pytest.raises(ScenarioError) as info:
        apply_overrides(Scenario(), [text])
    message = str(info.value)
    assert message.isprintable(), message
    assert repr(text.split("=")[0])[1:-1] in message


def test_a_key_of_digits_is_named_as_written(scenario_dir):
    """A table named "00" is reported as unknown key '00' (it was once shown as '')."""
    path = scenario_dir / "digits.toml"
    path.write_text('["00"]\nx = 1\n')
    with pytest.raises(ScenarioError, match="unknown key '00'"):
        load(path)


def test_a_set_value_is_exactly_one_toml_value():
    """'run.steps=3' plus a second line is refused, not read as 3 with the rest dropped."""
    with pytest.raises(ScenarioError, match=r"run\.steps: invalid value '3\\nrun\.seed=5'"):
        apply_overrides(Scenario(), ["run.steps=3\nrun.seed=5"])
    assert apply_overrides(Scenario(), ["run.steps = 3 "]).run.steps == 3


def test_deeply_nested_toml_is_a_one_line_error(scenario_dir):
    """Thousands of nested brackets exhaust tomllib's recursion: a one-line error, no traceback."""
    path = scenario_dir / "deep.toml"
    path.write_text("[run]\nsteps = " + "[" * 3000 + "\n")
    with pytest.raises(ScenarioError, match="malformed TOML: nested too deeply"):
        load(path)
    with pytest.raises(ScenarioError, match=r"run\.steps: invalid value '\[\[\["):
        apply_overrides(Scenario(), ["run.steps=" + "[" * 3000])


def test_an_unreadable_scenario_file_is_a_one_line_error(scenario_dir, monkeypatch):
    """A file that exists but cannot be read is reported with the reason, not a traceback."""
    path = scenario_dir / "locked.toml"
    path.write_text("[run]\nsteps = 3\n")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ScenarioError, match=r"locked\.toml: cannot be read: Permission denied"):
        load(path)


def test_a_section_given_a_single_value_asks_for_a_table(scenario_dir):
    """`run = 5` names [run] and says a table of its parameters is expected."""
    path = scenario_dir / "flat.toml"
    path.write_text("run = 5\n")
    with pytest.raises(ScenarioError, match=r"run: invalid value 5: allowed a table of \[run\]"):
        load(path)
