"""Virtual trials: effect sizes, groups, common random numbers, trial files, `peerscale trial`."""

import json
import math

import numpy as np
import pytest

from simulation import Scenario, trial
from simulation.analysis.effect_size import EffectSize, hedges_correction, pooled_sd
from simulation.analysis.trial import ArmState, Group, Trial, TrialError, compare_arms, load_trial
from simulation.cli import main
from simulation.core.encoding import ACTIVE, IN_PROGRAMME, PRESENT, WAS_TUTEE, WAS_TUTOR

from .helpers import ROOT, run_cli

TRIALS = ROOT / "experiments" / "calibration" / "trials"


def test_effect_sizes_match_hand_computed_values():
    """Worked example: d = 2 (control SD), pooled d = 2/sqrt(2.5), Hedges' J(2) and J(4).

    J(2) = 1/sqrt(pi) and J(4) = 2/(sqrt(2) sqrt(pi)).
    """
    es = EffectSize.of(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]))
    summary = (es.mean_treatment, es.sd_treatment, es.mean_control, es.sd_control)
    assert summary == (4.0, 2.0, 2.0, 1.0)
    assert es.d("control") == pytest.approx(2.0)
    assert pooled_sd(2.0, 3, 1.0, 3) == pytest.approx(math.sqrt(2.5))
    assert es.d("pooled") == pytest.approx(2.0 / math.sqrt(2.5))
    assert es.g("control") == pytest.approx(2.0 / math.sqrt(math.pi))
    j4 = 2.0 / (math.sqrt(2.0) * math.sqrt(math.pi))
    assert es.g("pooled") == pytest.approx(2.0 / math.sqrt(2.5) * j4)


def test_hedges_correction_approaches_the_usual_approximation():
    """J(df) is close to 1 - 3 / (4 df - 1) and tends to 1 with a trial's thousands of agents."""
    for df in (10, 50, 5000):
        assert hedges_correction(df) == pytest.approx(1 - 3 / (4 * df - 1), abs=5e-4)
    assert 1 - hedges_correction(3000) < 3e-4


def test_groups_combine_flags_with_and_and_not():
    """'tutees & not tutors' keeps agents tutored but never tutoring; aliases and 'and' work too."""
    flags = np.array(
        [PRESENT, PRESENT | WAS_TUTEE, PRESENT | WAS_TUTEE | WAS_TUTOR, PRESENT | WAS_TUTOR],
        dtype=np.uint8,
    )
    assert Group.parse("all").mask(flags).tolist() == [True, True, True, True]
    assert Group.parse("tutees & not tutors").mask(flags).tolist() == [False, True, False, False]
    assert Group.parse("tutor and !tutee").mask(flags).tolist() == [False, False, False, True]
    with pytest.raises(TrialError, match=r"unknown group 'tutes'.*did you mean 'tutees'"):
        Group.parse("tutes")
    with pytest.raises(TrialError, match="requires and excludes"):
        Group.parse("tutors & not tutors")


def _state(skill, flags, initial=None):
    skill = np.asarray(skill, dtype=np.float64)
    initial = skill * 0 if initial is None else np.asarray(initial, dtype=np.float64)
    return ArmState(initial, skill, np.asarray(flags, dtype=np.uint8), 1.0, 0.0, 0.0)


def test_group_is_measured_in_the_treatment_arm_and_compared_slot_by_slot():
    """Tutees of the treatment arm are compared with the same slots of the control arm."""
    base = PRESENT | ACTIVE
    flags_t = [base | WAS_TUTEE, base | WAS_TUTEE, base | WAS_TUTEE, base, base]
    treatment = _state([0.5, 0.6, 0.7, 0.9, 0.9], flags_t)
    control = _state([0.3, 0.4, 0.5, 0.0, 0.0], [base] * 5)  # nobody is a tutee here
    sc = Scenario().with_overrides({"population.size": 5})
    result = compare_arms(Trial(sc, sc, group="tutees"), control, treatment)
    assert result["group_size"] == 3 and result["group_share"] == pytest.approx(0.6)
    assert result["mean_treatment"] == pytest.approx(0.6)
    assert result["mean_control"] == pytest.approx(0.4)
    assert result["d"] == pytest.approx(0.2 / 0.1)
    from_control = Trial(sc, sc, group="tutees", group_from="control")
    with pytest.raises(TrialError, match="0 member"):
        compare_arms(from_control, control, treatment)


def test_completion_counts_active_agents_that_reached_the_goal():
    """Completion: active at the end and, with a goal, gained at least goal_gain."""
    base = PRESENT | IN_PROGRAMME
    treatment = _state([0.2, 0.3, 0.05, 0.5], [base | ACTIVE, base | ACTIVE, base | ACTIVE, base],
                       initial=[0.1, 0.1, 0.1, 0.1])
    control = _state([0.1, 0.1, 0.1, 0.1], [base, base, base | ACTIVE, base],
                     initial=[0.1, 0.1, 0.1, 0.1])
    sc = Scenario().with_overrides({"population.size": 4})
    plain = compare_arms(Trial(sc, sc), control, treatment)
    assert plain["completion_treatment"] == 0.75 and plain["completion_control"] == 0.25
    with_goal = compare_arms(Trial(sc, sc, goal_gain=0.1), control, treatment)
    assert with_goal["completion_treatment"] == 0.5 and with_goal["completion_control"] == 0.0


def test_identical_arms_differ_by_exactly_nothing():
    """Common random numbers: two identical arms give d = 0 exactly in every replicate."""
    sc = Scenario().with_overrides({"population.size": 2000, "program.structure": "peer_only"})
    result = trial(control=sc, treatment=sc, weeks=4, group="tutees", replicates=2)
    assert (result.replicates["d"] == 0.0).all()
    assert (result.replicates["completion_difference"] == 0.0).all()


def test_python_api_builds_a_trial_from_two_scenarios():
    """trial(control=..., treatment=...) runs both arms with seeds seed + r and reports the CI."""
    base = Scenario().with_overrides({"population.size": 3000, "program.structure": "peer_only"})
    control = base.with_overrides({"learning.teaching_expectancy": 0.0})
    result = trial(control=control, treatment=base, weeks=6, group="tutors", replicates=3, seed=5)
    assert result.replicates["seed"].tolist() == [5, 6, 7]
    mean, low, high = result.statistic("d")
    assert 0 < low <= mean <= high
    assert result.summary["g"]["mean"] < mean  # Hedges' correction shrinks d a little


def test_calibration_trial_files_load_with_their_stated_arms():
    """Every calibration trial file validates, names its target and differs between its arms."""
    files = sorted(TRIALS.glob("t*.toml"))
    assert [f.stem for f in files] == [
        "t1_tutees", "t2_tutors", "t3_one_to_one", "t4_class_size", "t5_solo_course",
        "t6_preparation",
    ]
    for path in files:
        spec = load_trial(path)
        target = spec.target
        assert target is not None and target.low <= target.value <= target.high
        arms = (spec.control, spec.treatment)
        assert arms[0].model_dump(exclude={"name"}) != arms[1].model_dump(exclude={"name"})


GOOD = """
name = "x"
weeks = 2
replicates = 1
group = "all"
[both.population]
size = 500
[control]
label = "a"
[treatment]
label = "b"
[treatment.learning]
peer_rate = 0.01
"""


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (GOOD.replace("weeks = 2", "wekes = 2"), ["unknown key 'wekes'", "did you mean 'weeks'"]),
        (
            GOOD.replace('label = "a"', 'lable = "a"'),
            ["unknown key 'control.lable'", "did you mean 'control.label'"],
        ),
        (GOOD.replace("peer_rate = 0.01", "peer_rat = 0.01"),
         ["[treatment]", "unknown key 'learning.peer_rat'", "did you mean 'learning.peer_rate'"]),
        (
            GOOD.replace("[treatment.learning]", "[treatment.learnin]"),
            ["unknown key 'treatment.learnin'"],
        ),
        (
            GOOD.replace("[treatment]\n", "[treatmnt]\n").replace(
                "[treatment.learning]\npeer_rate = 0.01\n", ""
            ),
            ["unknown key 'treatmnt'", "did you mean 'treatment'"],
        ),
        (GOOD.replace('group = "all"', 'group = "tutes"'), ["group", "unknown group 'tutes'"]),
        (GOOD.replace("weeks = 2", "weeks = 0"), ["weeks", "invalid value 0"]),
        (GOOD + "[control.population]\nsize = 600\n", ["population", "same population.size"]),
        (
            GOOD.replace("peer_rate = 0.01", "peer_rate = 7"),
            ["learning.peer_rate", "invalid value 7"],
        ),
        ("weeks = [\n", ["malformed TOML"]),
    ],
)
def test_bad_trial_files_give_one_line_naming_file_and_key(tmp_path, capsys, text, fragments):
    """Unknown keys (top level, arm, scenario section), bad values, bad groups: one line, exit 2."""
    path = tmp_path / "bad_trial.toml"
    path.write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["trial", str(path), "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    line = err.replace("\n", "")  # the console may wrap one long line
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line
    assert not (tmp_path / "out").exists()


def test_console_script_reports_a_bad_trial_file_in_one_line(tmp_path):
    """The installed entry point itself: exit code 2, one line on stderr, no traceback."""
    path = tmp_path / "typo.toml"
    path.write_text(GOOD.replace("peer_rate = 0.01", "peer_rat = 0.01"))
    result = run_cli("trial", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "typo.toml" in lines[0] and "unknown key 'learning.peer_rat'" in lines[0]


def test_missing_trial_file_exits_2(tmp_path, capsys):
    """`peerscale trial` of a file that does not exist: exit code 2, saying so."""
    with pytest.raises(SystemExit) as info:
        main(["trial", str(tmp_path / "nope.toml")])
    assert info.value.code == 2
    assert "no such trial file" in capsys.readouterr().err


def test_peerscale_trial_prints_d_with_its_ci_and_writes_results(tmp_path, capsys):
    """`peerscale trial` prints d [95% CI] and the target; writes replicates, summary, manifest."""
    out = tmp_path / "t6"
    main(["trial", str(TRIALS / "t6_preparation.toml"), "--replicates", "3", "--seed", "2",
          "--out", str(out)])
    printed = capsys.readouterr().out
    assert "d (control SD) = " in printed and "[95% CI " in printed
    assert "target: g = 0.48" in printed
    written = sorted(p.name for p in out.iterdir())
    assert written == ["manifest.json", "replicates.csv", "report.txt", "trial.json"]
    summary = json.loads((out / "trial.json").read_text())
    assert summary["seeds"] == [2, 3, 4]
    d = summary["summary"]["d"]
    assert d["ci_low"] <= d["mean"] <= d["ci_high"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "trial" and "cite_as" in manifest
    assert manifest["treatment"]["learning"]["teaching_expectancy"] == 1.0
    assert manifest["control"]["learning"]["teaching_expectancy"] == 0.0


def test_study_group_completion_is_the_models_own():
    """In study-group arms completion is the model's own (active, course progress >= goal)."""
    from simulation import PeerLearningModel
    from simulation.analysis.trial import run_arm

    arm = load_trial(TRIALS / "t5_solo_course.toml").arm("control")
    solo = arm.with_overrides({"population.size": 1920})
    state = run_arm(solo, seed=1)
    model = PeerLearningModel(solo, seed=1)
    model.run()
    assert state.completed is not None
    assert state.completed.mean() == pytest.approx(model.metrics["completion"])
