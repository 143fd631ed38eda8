"""Virtual trials: two scenario arms, the same seeds, one effect size with its uncertainty.

A published effect size compares two groups at the end of a study, in SDs of the control group
(docs/calibration.md). A virtual trial does the same with the model: a *control* and a *treatment*
arm, each a scenario (a file plus overrides), run for the study's horizon with the same seeds
replicate by replicate (common random numbers), so both arms start from the same agents, in the
same slots, with the same random draws; they differ only in the intervention.

Who is compared (`group`) is defined from the agents' flag bits (core/encoding.py) **as measured in
the treatment arm** at the end of the trial, and applied to the same agent slots in both arms:
"tutees" are the agents who were tutored in the treatment arm, compared with themselves in the
control arm, where they were not. This is the counterfactual contrast a randomised trial
estimates; because of CRN it needs no matching and has no selection bias. (A group can be taken
from the control arm instead with `group_from = "control"`.)

Per replicate the trial computes, on final skill (or on skill gained), Glass's delta
(SD of the control group: the calibration targets' convention, reported as "d"), Cohen's d with
the pooled SD, and Hedges' g of both; and the completion share of each arm (active at the end
and, if a goal is set, having gained at least `goal_gain`). Each is then summarised by its mean
and 95% t confidence interval across replicates.

Trial files are TOML (see experiments/calibration/trials/ for commented examples):

    name = "t4_class_size"
    weeks = 36                    # the study's horizon
    replicates = 10
    group = "all"                 # or tutees, tutors, participants, "tutees & not tutors", ...
    [both.program]                # settings shared by both arms (any scenario section)
    structure = "expert_only"
    [control]
    label = "regular class (22)"
    [control.experts]
    learners_per_expert = 22
    [treatment]
    label = "small class (15)"
    [treatment.experts]
    learners_per_expert = 15
    [target]                      # optional: the published value the trial is checked against
    statistic = "d"
    value = 0.15
    low = 0.10
    high = 0.20
    source = "Krueger (1999)"
"""

from __future__ import annotations

import difflib
import math
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from ..config.errors import ScenarioError
from ..config.loading import load, read_toml
from ..config.schema import Scenario, _sections, refuse_booleans
from ..core.encoding import (
    ACTIVE,
    IN_PROGRAMME,
    PRESENT,
    TUTOR_ROLE,
    WAS_EXPERT_TAUGHT,
    WAS_TUTEE,
    WAS_TUTOR,
)
from ..model import PeerLearningModel
from .effect_size import EffectSize
from .ensemble import Ensemble, ensemble_interval, resolve
from .runner import mean_ci

# Named groups: the flag bit that defines each, and what it means (measured at the trial's end).
GROUPS: dict[str, tuple[int, str]] = {
    "all": (int(PRESENT), "every agent present (the whole randomised sample)"),
    "tutees": (int(WAS_TUTEE), "received peer teaching at least once"),
    "tutors": (int(WAS_TUTOR), "taught a peer at least once (with a gain from it)"),
    "expert_taught": (
        int(WAS_EXPERT_TAUGHT), "sat in an expert's class or had a mentoring session"
    ),
    "participants": (int(IN_PROGRAMME), "enrolled in peer learning (learning.participation)"),
    "tutor_role": (
        int(TUTOR_ROLE),
        "assigned to tutor in a split programme (learning.roles = split), whether or not they "
        "taught; 'participants & not tutor_role' are the assigned tutees",
    ),
    "completers": (int(ACTIVE), "still active at the end (did not drop out)"),
}
ALIASES = {
    "tutee": "tutees", "tutor": "tutors", "participant": "participants", "completer": "completers",
    "taught_by_expert": "expert_taught", "in_class": "expert_taught", "everyone": "all",
}

# Statistics a target can refer to (columns of TrialResult.replicates).
STATISTICS = {
    "d": "Glass's delta: difference in SDs of the control group",
    "g": "Hedges' g with the control group's SD",
    "d_pooled": "Cohen's d: difference in pooled SDs",
    "g_pooled": "Hedges' g with the pooled SD",
    "completion_treatment": "share of the group completing in the treatment arm",
    "completion_control": "share of the group completing in the control arm",
    "completion_difference": "completion share, treatment minus control",
}

# The choices of a trial's settings, shared by the Trial record and the trial file's schema.
Standardiser = Literal["control", "pooled"]  # whose SD the difference is divided by
Outcome = Literal["skill", "gain"]  # final skill, or skill gained over the trial
Analysis = Literal["all", "completers"]  # everyone in the group, or those still active
GroupFrom = Literal["treatment", "control"]  # the arm whose flags define the group


class TrialError(ScenarioError):
    """Bad trial input: one line naming the file and the key."""


# ----------------------------------------------------------------------------------------------
# Groups


@dataclass(frozen=True)
class Group:
    """A subgroup of agents: all named flags set (`require`) and none of `exclude`."""

    text: str
    require: int
    exclude: int

    @classmethod
    def parse(cls, text: str, source: str = "group") -> Group:
        """Parse 'tutees', 'tutees & not tutors', 'participants and !tutors'."""
        require, exclude = int(PRESENT), 0
        terms = [t.strip() for t in re.split(r"&|\band\b", text.strip().lower())]
        if not text.strip() or not all(terms):
            raise TrialError(source, f"empty term in group {text!r}", key="group")
        for term in terms:
            negate = False
            if term.startswith("!"):
                negate, term = True, term[1:].strip()
            elif term.startswith("not "):
                negate, term = True, term[4:].strip()
            name = ALIASES.get(term, term)
            if name not in GROUPS:
                close = difflib.get_close_matches(name, list(GROUPS), n=1, cutoff=0.5)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise TrialError(
                    source,
                    f"unknown group '{term}' (allowed: {', '.join(GROUPS)}, joined with '&' or "
                    f"'and', each optionally preceded by 'not'){hint}",
                    key="group",
                )
            bit = GROUPS[name][0]
            if negate:
                exclude |= bit
            else:
                require |= bit
        if require & exclude:
            raise TrialError(
                source, f"group {text!r} requires and excludes the same flag", key="group"
            )
        return cls(text.strip(), require, exclude)

    def mask(self, flags: np.ndarray) -> np.ndarray:
        """Which agents belong to the group, from their flag bits."""
        return ((flags & self.require) == self.require) & ((flags & self.exclude) == 0)


# ----------------------------------------------------------------------------------------------
# The trial definition (resolved: two validated scenarios)


@dataclass(frozen=True)
class Target:
    """A published value a trial is checked against: a statistic, its value and accepted band."""

    statistic: str
    value: float
    low: float
    high: float
    source: str = ""
    setting: str = ""

    def inside(self, x: float) -> bool:
        """Whether `x` lies in the band [low, high]."""
        return self.low <= x <= self.high


@dataclass(frozen=True)
class Trial:
    """Two arms run with the same seeds for `weeks`; an effect on `group` (see module docstring)."""

    control: Scenario
    treatment: Scenario
    weeks: int = 12
    group: str = "all"
    replicates: int = 10
    seed: int = 0
    standardiser: Standardiser = "control"
    outcome: Outcome = "skill"
    analysis: Analysis = "all"
    group_from: GroupFrom = "treatment"
    goal_gain: float | None = None
    name: str = "trial"
    description: str = ""
    target: Target | None = None
    source: str = ""

    def __post_init__(self):
        Group.parse(self.group, self.source or "trial")
        a, b = self.control.population, self.treatment.population
        if (a.size, a.community_size, a.arrival_rate) != (b.size, b.community_size, b.arrival_rate):
            raise TrialError(
                self.source or "trial",
                "both arms must have the same population.size, community_size and arrival_rate, "
                "so that agent slots correspond (common random numbers)", key="population",
            )

    def arm(self, which: str) -> Scenario:
        """The arm's scenario with this trial's horizon."""
        scenario = self.control if which == "control" else self.treatment
        return scenario.with_overrides({"run.steps": self.weeks}, source=self.source or "trial")

    def with_changes(self, **changes: Any) -> Trial:
        """A copy with some fields replaced (validated again, as a new Trial)."""
        return replace(self, **changes)


# ----------------------------------------------------------------------------------------------
# Trial files


class _Strict(BaseModel):
    # Unknown keys are errors; numbers must be finite (a target of nan would be "inside" no band
    # and is not JSON); true/false is not a number (`weeks = true` is not 1 week).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        return refuse_booleans(value)


def _arm_model():
    """An arm: a label, an optional scenario file, and any scenario sections as overrides.

    Built from the scenario schema, so sections added to it are accepted here too; `run` is left
    out because the trial sets the horizon (`weeks`) and the seeds.
    """
    sections: dict[str, Any] = {
        name: (dict[str, Any] | None, None) for name in _sections() if name != "run"
    }
    return create_model(
        "Arm", __base__=_Strict, label=(str, ""), scenario=(str | None, None), **sections,
    )


class _TargetFile(_Strict):
    statistic: Literal[tuple(STATISTICS)] = "d"  # type: ignore[valid-type]
    value: float
    low: float
    high: float
    source: str = ""
    setting: str = ""


def _trial_file_model():
    arm = _arm_model()
    return create_model(
        "TrialFile",
        __base__=_Strict,
        name=(str, ""),
        description=(str, ""),
        weeks=(int, Field(12, ge=1, le=100_000)),
        replicates=(int, Field(10, ge=1, le=100_000)),
        seed=(int, Field(0, ge=0, le=2**62)),
        group=(str, "all"),
        group_from=(GroupFrom, "treatment"),
        standardiser=(Standardiser, "control"),
        outcome=(Outcome, "skill"),
        analysis=(Analysis, "all"),
        goal_gain=(float | None, Field(None, ge=0.0, le=1.0)),
        both=(arm, Field(default_factory=arm)),
        control=(arm, ...),
        treatment=(arm, ...),
        target=(_TargetFile | None, None),
    )


def _flatten(arm: BaseModel) -> dict[str, Any]:
    """Scenario sections of an arm as dotted overrides {'learning.peer_rate': 0.02}."""
    out = {}
    for section in _sections():
        values = getattr(arm, section, None)
        for key, value in (values or {}).items():
            out[f"{section}.{key}"] = value
    return out


def _describe_error(exc: ValidationError, model) -> tuple[str, str]:
    errors = exc.errors()
    # An unknown key (a typo) explains a missing one, so it is reported first.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        parent = model
        for part in loc[:-1]:
            annotation = parent.model_fields[part].annotation
            members = getattr(annotation, "__args__", (annotation,))
            parent = next(
                (a for a in members if isinstance(a, type) and issubclass(a, BaseModel)),
                annotation,
            )
        valid = [".".join([*loc[:-1], k]) for k in getattr(parent, "model_fields", {})]
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return key, f"unknown key '{key}'{hint}"
    if err["type"] == "missing":
        arms = key in ("control", "treatment")
        why = " (a trial needs a [control] and a [treatment] arm)" if arms else ""
        return key, f"missing '{key}'{why}"
    return key, f"invalid value {err.get('input')!r}: {err['msg']}"


def load_trial(path: str | Path) -> Trial:
    """Read and validate a trial file; errors are one line naming the file and the key."""
    path = Path(path)
    source = str(path)
    data = read_toml(path, TrialError, "trial")
    model = _trial_file_model()
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        key, message = _describe_error(exc, model)
        if message.startswith(("unknown", "missing")):
            raise TrialError(source, message) from None
        raise TrialError(source, message, key=key) from None

    def build(which: str) -> Scenario:
        arm = getattr(spec, which)
        file = arm.scenario or spec.both.scenario
        base = load(path.parent / file) if file else Scenario()
        overrides = _flatten(spec.both) | _flatten(arm)
        overrides["name"] = arm.label or which
        return base.with_overrides(overrides, source=f"{source} [{which}]")

    target = None
    if spec.target is not None:
        t = spec.target
        if not t.low <= t.value <= t.high:
            raise TrialError(
                source, f"target.value ({t.value}) must lie in its band, target.low ({t.low}) to "
                f"target.high ({t.high})", key="target.value",
            )
        target = Target(t.statistic, t.value, t.low, t.high, t.source, t.setting)
    return Trial(
        control=build("control"), treatment=build("treatment"), weeks=spec.weeks, group=spec.group,
        replicates=spec.replicates, seed=spec.seed, standardiser=spec.standardiser,
        outcome=spec.outcome, analysis=spec.analysis, group_from=spec.group_from,
        goal_gain=spec.goal_gain,
        name=spec.name or path.stem, description=spec.description, target=target, source=source,
    )


# ----------------------------------------------------------------------------------------------
# Running


@dataclass
class ArmState:
    """What a trial reads from one arm of one replicate at the end."""

    initial_skill: np.ndarray
    skill: np.ndarray
    flags: np.ndarray
    active_fraction: float
    tutee_gain: float  # mean weekly gain of a tutee over the trial (per tutee-week)
    tutor_gain: float  # mean weekly gain of a tutor from teaching (per tutor-week)
    completed: np.ndarray | None = None  # the model's own course completion (study groups), if any


def run_arm(scenario: Scenario, seed: int) -> ArmState:
    """Run one arm for its run.steps weeks and keep the per-agent outcome arrays."""
    model = PeerLearningModel(scenario, seed=seed)
    initial = model.population.skill.astype(np.float64)
    model.run()
    pop = model.population
    weeks = model.metrics_frame().iloc[1:]
    # A structure with a course (study groups) says who completed it; None for the others.
    completed = model.engine.completed()
    return ArmState(
        initial, pop.skill.astype(np.float64), pop.flags.copy(),
        float(model.metrics["active_fraction"]),
        _weighted(weeks["mean_tutee_gain"], weeks["tutee_fraction"] * weeks["active"]),
        _weighted(weeks["mean_tutor_gain"], weeks["tutor_fraction"] * weeks["active"]),
        completed,
    )


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else 0.0


def _completion(state: ArmState, mask: np.ndarray, goal_gain: float | None) -> float:
    """Share of the group completing.

    For study groups, the model's course completion; otherwise active at the end and, if a goal
    is set, having gained at least `goal_gain` skill.
    """
    if state.completed is not None and goal_gain is None:
        return float(state.completed[mask].mean())
    done = (state.flags[mask] & ACTIVE) != 0
    if goal_gain is not None:
        done &= (state.skill[mask] - state.initial_skill[mask]) >= goal_gain - 1e-9
    return float(done.mean())


def compare_arms(trial: Trial, control: ArmState, treatment: ArmState) -> dict[str, float]:
    """Effect sizes and completion of one replicate, from the two arms' final states."""
    group = Group.parse(trial.group, trial.source or "trial")
    measured = treatment if trial.group_from == "treatment" else control
    present = ((control.flags & PRESENT) != 0) & ((treatment.flags & PRESENT) != 0)
    mask = group.mask(measured.flags) & present
    n = int(mask.sum())
    if n < 2:
        raise TrialError(
            trial.source or "trial",
            f"group '{trial.group}' has {n} member(s) in the {trial.group_from} arm; "
            "an effect size needs at least two",
            key="group",
        )
    mask_t, mask_c = mask, mask
    if trial.analysis == "completers":
        mask_t = mask & ((treatment.flags & ACTIVE) != 0)
        mask_c = mask & ((control.flags & ACTIVE) != 0)

    def outcome(state: ArmState, m: np.ndarray) -> np.ndarray:
        x = state.skill[m]
        return x - state.initial_skill[m] if trial.outcome == "gain" else x

    es = EffectSize.of(outcome(treatment, mask_t), outcome(control, mask_c))
    completion_t = _completion(treatment, mask, trial.goal_gain)
    completion_c = _completion(control, mask, trial.goal_gain)
    return {
        "group_size": n,
        "group_share": n / max(int(present.sum()), 1),
        "mean_treatment": es.mean_treatment,
        "sd_treatment": es.sd_treatment,
        "n_treatment": es.n_treatment,
        "mean_control": es.mean_control,
        "sd_control": es.sd_control,
        "n_control": es.n_control,
        "d": es.d("control"),
        "g": es.g("control"),
        "d_pooled": es.d("pooled"),
        "g_pooled": es.g("pooled"),
        "completion_treatment": completion_t,
        "completion_control": completion_c,
        "completion_difference": completion_t - completion_c,
        "active_treatment": treatment.active_fraction,
        "active_control": control.active_fraction,
        "tutee_gain_treatment": treatment.tutee_gain,
        "tutor_gain_treatment": treatment.tutor_gain,
    }


@dataclass
class TrialResult:
    """Per-replicate effects of one trial and their means with 95% confidence intervals."""

    trial: Trial
    replicates: pd.DataFrame
    wall_time: float = 0.0
    summary: dict = field(default_factory=dict)
    ensemble: Ensemble | None = None  # the members run (a `member` column in `replicates`)

    def __post_init__(self):
        if not self.summary:
            self.summary = {
                col: dict(
                    zip(("mean", "ci_low", "ci_high"), mean_ci(self.replicates[col]), strict=True)
                )
                for col in self.replicates.columns if col not in ("replicate", "seed")
            }

    @property
    def effect(self) -> str:
        """The headline statistic: d or d_pooled, by the trial's standardiser."""
        return "d" if self.trial.standardiser == "control" else "d_pooled"

    def statistic(self, name: str | None = None) -> tuple[float, float, float]:
        """Mean and 95% CI of a statistic across replicates (default: the headline d)."""
        default = self.trial.target.statistic if self.trial.target else self.effect
        s = self.summary[name or default]
        return s["mean"], s["ci_low"], s["ci_high"]

    @property
    def inside(self) -> bool | None:
        """Whether the target statistic's mean lies inside the target band (None without target)."""
        if self.trial.target is None:
            return None
        return self.trial.target.inside(self.statistic(self.trial.target.statistic)[0])

    def to_dict(self) -> dict:
        """Everything needed to report or redo the trial (written as trial.json)."""
        t = self.trial
        return {
            "name": t.name,
            "description": t.description,
            "source": t.source,
            "weeks": t.weeks,
            "group": t.group,
            "group_from": t.group_from,
            "standardiser": t.standardiser,
            "outcome": t.outcome,
            "analysis": t.analysis,
            "goal_gain": t.goal_gain,
            "seeds": self.replicates["seed"].tolist(),
            "control": t.arm("control").model_dump(mode="json"),
            "treatment": t.arm("treatment").model_dump(mode="json"),
            "summary": self.summary,
            "target": None if t.target is None else {
                **t.target.__dict__,
                "simulated": self.statistic(t.target.statistic)[0],
                "inside": self.inside,
            },
            "wall_time_s": round(self.wall_time, 3),
        } | ({} if self.ensemble is None else {"ensemble": self.ensemble.to_json()})

    def report(self) -> str:
        """A few lines for people: d with its CI, g, the arms' means and SDs, completion, target."""
        t = self.trial
        s = self.summary
        seeds = self.replicates["seed"]

        label = "95% CI" if self.ensemble is None else "95% interval"

        def ci(name: str, fmt: str = ".3f") -> str:
            mean, lo, hi = s[name]["mean"], s[name]["ci_low"], s[name]["ci_high"]
            interval = "" if math.isnan(lo) else f" [{label} {lo:{fmt}}, {hi:{fmt}}]"
            return f"{mean:{fmt}}{interval}"

        what = "final skill" if t.outcome == "skill" else "skill gained"
        if t.analysis == "completers":
            what += ", completers only"
        runs = f"{len(seeds)} replicate(s)"
        if self.ensemble is not None:
            runs = f"{len(self.ensemble)} ensemble members x {seeds.nunique()} replicate(s)"
        header = (
            f"trial {t.name}: {t.treatment.name} vs {t.control.name}, "
            f"{t.weeks} week{'s' if t.weeks != 1 else ''}, {runs} "
            f"(seeds {seeds.min()}-{seeds.max()}, common random numbers)"
        )
        group = (
            f"group: {t.group} (measured in the {t.group_from} arm; "
            f"{s['group_size']['mean']:.0f} agents, "
            f"{100 * s['group_share']['mean']:.1f}% of the population); outcome: {what}"
        )
        arms = (
            f"{t.treatment.name}: mean {s['mean_treatment']['mean']:.4f}, "
            f"SD {s['sd_treatment']['mean']:.4f}; "
            f"{t.control.name}: mean {s['mean_control']['mean']:.4f}, "
            f"SD {s['sd_control']['mean']:.4f}"
        )
        rule = "active at the end"
        if t.goal_gain is not None:
            rule += f" and gained >= {t.goal_gain:g}"
        else:
            rule += "".join(
                f" and, in {s.name}, {s.completion_rule}"
                for s in dict.fromkeys((t.treatment.structure, t.control.structure))
                if s.completion_rule
            )
        completion = (
            f"completion ({rule}): {t.treatment.name} {ci('completion_treatment')}, "
            f"{t.control.name} {ci('completion_control')}"
        )
        lines = [
            header,
            group,
            f"d (control SD) = {ci('d')}",
            *self._ensemble_lines(),
            f"Hedges' g = {ci('g')}; pooled-SD d = {ci('d_pooled')}, g = {ci('g_pooled')}",
            arms,
            completion,
        ]
        if t.target is not None:
            tg = t.target
            mean = self.statistic(tg.statistic)[0]
            lines.append(
                f"target: {tg.statistic} = {tg.value:g} "
                f"(band {tg.low:g}-{tg.high:g}; {tg.source}): "
                f"simulated {mean:.3f}, {'inside' if self.inside else 'OUTSIDE'} the band"
            )
        return "\n".join(lines)

    def _ensemble_lines(self) -> list[str]:
        """With an ensemble: what the interval is, member 0's own interval, the members' range."""
        if self.ensemble is None:
            return []
        d = self.summary["d"]
        low, high = d["stochastic_ci95"]
        return [
            f"  (95% interval over {len(self.ensemble)} calibration-ensemble members and their "
            "replicates: parametric and stochastic uncertainty; member 0, the defaults, alone: "
            f"d = {d['members'][0]:.3f} [95% CI {low:.3f}, {high:.3f}]; member means "
            f"{min(d['members']):.3f}-{max(d['members']):.3f})"
        ]


def run_trial(trial: Trial, replicates: int | None = None, seed: int | None = None,
              progress=None, ensemble: int | Ensemble | None = None) -> TrialResult:
    """Run both arms of every replicate with seed + r (common random numbers).

    With `ensemble` (a member count K, or an Ensemble) the trial runs under each of the first K
    members of the calibration ensemble (both arms, the same seeds) and every statistic is
    reported with the combined interval of analysis/ensemble.py.
    """
    if ensemble is not None:
        return _run_ensemble_trial(trial, replicates, seed, progress, resolve(ensemble))
    replicates = trial.replicates if replicates is None else replicates
    seed = trial.seed if seed is None else seed
    control, treatment = trial.arm("control"), trial.arm("treatment")
    start = time.perf_counter()
    rows = []
    for r in range(replicates):
        s = seed + r
        row: dict[str, float] = {"replicate": r, "seed": s}
        row.update(compare_arms(trial, run_arm(control, s), run_arm(treatment, s)))
        rows.append(row)
        if progress is not None:
            progress(r + 1)
    result = TrialResult(trial.with_changes(replicates=replicates, seed=seed), pd.DataFrame(rows))
    result.wall_time = time.perf_counter() - start
    return result


def _run_ensemble_trial(trial: Trial, replicates: int | None, seed: int | None, progress,
                        chosen: Ensemble) -> TrialResult:
    """The trial under every member: per-member replicates, then the combined interval."""
    for arm in ("control", "treatment"):
        chosen.refuse_scenario(trial.arm(arm), f"{trial.source or trial.name} ({arm})")
    start = time.perf_counter()
    done = 0
    frames, spec = [], trial
    for member in chosen.members:
        member_trial = trial.with_changes(
            control=chosen.apply(trial.control, member),
            treatment=chosen.apply(trial.treatment, member),
        )

        def advance(_r: int, offset: int = done) -> None:
            if progress is not None:
                progress(offset + _r)

        result = run_trial(member_trial, replicates, seed, progress=advance)
        done += len(result.replicates)
        frame = result.replicates.copy()
        frame.insert(0, "member", member.index)
        frames.append(frame)
        spec = result.trial.with_changes(control=trial.control, treatment=trial.treatment)
    table = pd.concat(frames, ignore_index=True)
    summary = {}
    for col in table.columns:
        if col in ("member", "replicate", "seed"):
            continue
        combined = ensemble_interval([f[col] for f in frames])
        summary[col] = {"mean": combined["mean"], "ci_low": combined["ci95"][0],
                        "ci_high": combined["ci95"][1]} | {
            k: combined[k] for k in ("members", "sd_between", "sd_within", "stochastic_ci95")}
    return TrialResult(spec, table, time.perf_counter() - start, summary, chosen)


def _as_scenario(value: Scenario | str | Path, overrides: dict | None, source: str) -> Scenario:
    scenario = value if isinstance(value, Scenario) else load(value)
    return scenario.with_overrides(overrides, source=source) if overrides else scenario


def trial(
    definition: Trial | str | Path | None = None,
    *,
    control: Scenario | str | Path | None = None,
    treatment: Scenario | str | Path | None = None,
    control_overrides: dict[str, Any] | None = None,
    treatment_overrides: dict[str, Any] | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    ensemble: int | Ensemble | None = None,
    **fields: Any,
) -> TrialResult:
    """Run a virtual trial and return its effect sizes with 95% confidence intervals.

    Args:
        definition: a trial file (TOML), a Trial, or None to build one from the arguments below.
        control: the control arm, as a Scenario or scenario file (replaces the definition's).
        treatment: the treatment arm, likewise.
        control_overrides: dotted-key overrides applied to the control arm.
        treatment_overrides: dotted-key overrides applied to the treatment arm.
        replicates: replicates (default: the trial's); replicate r uses seed + r in both arms.
        seed: first seed (default: the trial's).
        ensemble: run under the first K members of the calibration ensemble (or an Ensemble);
            every statistic then carries the combined interval (analysis/ensemble.py).
        **fields: any other Trial field: weeks, group, standardiser, outcome, analysis, group_from,
            goal_gain, name, description, target.

    Example:
        >>> from simulation import Scenario, trial
        >>> base = Scenario().with_overrides(
        ...     {"population.size": 3000, "program.structure": "expert_only"}
        ... )
        >>> result = trial(control=base.with_overrides({"experts.learners_per_expert": 22}),
        ...                treatment=base.with_overrides({"experts.learners_per_expert": 15}),
        ...                weeks=36, group="all", replicates=3)
        >>> result.statistic("d")  # mean and 95% CI
    """
    if isinstance(definition, Trial):
        spec = definition
    elif definition is not None:
        spec = load_trial(definition)
    else:
        if control is None or treatment is None:
            raise TrialError(
                "trial", "give a trial file, or both a control and a treatment scenario"
            )
        spec = Trial(control=_as_scenario(control, control_overrides, "control"),
                     treatment=_as_scenario(treatment, treatment_overrides, "treatment"), **fields)
        control = treatment = None
        control_overrides = treatment_overrides = None
        fields = {}
    changes = dict(fields)
    if control is not None or control_overrides:
        changes["control"] = _as_scenario(
            control if control is not None else spec.control, control_overrides, "control"
        )
    if treatment is not None or treatment_overrides:
        changes["treatment"] = _as_scenario(
            treatment if treatment is not None else spec.treatment, treatment_overrides, "treatment"
        )
    if changes:
        spec = spec.with_changes(**changes)
    return run_trial(spec, replicates=replicates, seed=seed, ensemble=ensemble)
