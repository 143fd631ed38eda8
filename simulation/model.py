"""PeerLearningModel: the expertise pyramid as a Mesa model over numba arrays.

The model holds its population as arrays (population.py), never as mesa.Agent objects, and
advances it with the weekly kernel (learning.py). Its DataCollector records aggregates only, so
`mesa.batch_run` and Mesa's SolaraViz work with it as with any Mesa model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np

from . import learning as L
from . import memory
from . import study_groups as SG
from .counter_rng import STREAM_STEP, key_for
from .efficacy import EFFICACY_TABLE, combined_narrowing
from .experts import ExpertArrangement, class_summary
from .metrics import aggregate, block_layout
from .pool import gather_pool
from .population import allocate, arrive, initialise
from .scenario import Scenario, ScenarioError, load

# Reported every week (and at step 0); the DataCollector's model reporters, in this order.
METRIC_NAMES = (
    "present", "active", "active_fraction", "dropouts", "mean_skill", "sd_skill", "mean_motivation",
    "skill_q10", "skill_q25", "skill_q50", "skill_q75", "skill_q90",
    "competent_fraction", "expert_fraction", "mean_gain", "mean_tutee_gain", "mean_tutor_gain",
    "tutee_fraction", "tutor_fraction", "mean_partner_efficacy", "mean_partner_misfit",
    "expert_sessions", "expert_hours", "expert_load", "expert_gain", "gain_per_expert_hour",
)


def step_rules(scenario: Scenario, arrangement: ExpertArrangement, active: float, population_mean: float) -> L.StepRules:
    """Resolve the scenario and this week's state into the kernel's scalar rules."""
    prog, learn, ex, mot, lev = (
        scenario.program, scenario.learning, scenario.experts, scenario.motivation, scenario.levels
    )
    k = learn.candidates
    share = lev.agency_choice[prog.agency]
    choice = 0 if share <= 0.0 else max(1, int(np.ceil(share * k)))
    probability, group = arrangement.mentoring(active)
    return L.StepRules(
        peers=int(prog.structure != "expert_only"),
        candidates=k,
        choice=choice,
        pool_contacts=int(lev.pool_contacts[prog.connectivity]),
        pool_ideal=int(prog.connectivity == 2),
        optimal_gap=float(learn.optimal_gap),
        peer_rate=float(learn.peer_rate),
        tutor_rate=float(learn.tutor_rate),
        teaching_expectancy=float(learn.teaching_expectancy),
        peer_narrowing=float(
            combined_narrowing(learn.peer_teaching_skill, lev.responsiveness_narrowing[prog.responsiveness])
        ),
        forgetting=float(learn.forgetting),
        expert_mode=int(arrangement.mode),
        expert_skill=float(ex.skill),
        expert_rate=float(ex.rate),
        expert_narrowing=float(ex.teaching_skill),
        class_size_slope=float(ex.class_size_slope),
        class_span=int(arrangement.class_span),
        mentoring_probability=float(probability),
        mentoring_group=float(group),
        population_mean=float(population_mean),
        responsiveness=int(prog.responsiveness),
        module_spacing=float(lev.module_spacing),
        motivation_decay=float(lev.agency_decay[prog.agency]),
        progress_reward=float(mot.progress_reward),
        no_contact_penalty=float(mot.no_contact_penalty),
        shock=float(mot.shock),
        threshold=float(mot.threshold),
    )


def week_metrics(scenario: Scenario, arrangement: ExpertArrangement, stats: np.ndarray, histogram: np.ndarray,
                 step: int, expert_hours: float) -> dict:
    """The week's reported metrics from the per-block sums and histograms (in block order)."""
    m = scenario.metrics
    out = aggregate(stats, histogram, m.bands, m.competent, m.expert)
    out["step"] = step
    out["expert_hours"] = float(expert_hours)
    count = max(arrangement.count, 1)
    out["expert_load"] = out["expert_sessions"] / count if arrangement.count else 0.0
    out["gain_per_expert_hour"] = out["expert_gain"] / expert_hours if expert_hours > 0 else 0.0
    return out


def _coerce_seed(seed: Any) -> int | None:
    """Seeds arrive as text from dashboard boxes; accept whole numbers only."""
    if seed is None or seed == "":
        return None
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ScenarioError("seed", f"invalid value {seed!r}: allowed a whole number from 0 to 2**62") from None
    if not 0 <= value <= 2**62:
        raise ScenarioError("seed", f"invalid value {seed!r}: allowed a whole number from 0 to 2**62")
    return value


class PeerLearningModel(mesa.Model):
    """An expertise pyramid of learners who learn from peers and experts, one week per step.

    Args:
        scenario: a validated Scenario, a path to a TOML scenario file, or None for the defaults.
        structure: override of program.structure ('expert_only', 'peer_only' or 'mixed').
        population: override of population.size.
        responsiveness: override of program.responsiveness (0-2).
        agency: override of program.agency (0-2).
        connectivity: override of program.connectivity (0-2).
        optimal_gap: override of learning.optimal_gap.
        experts: override of experts.count.
        seed: seed of the counter-based random numbers (default: run.seed of the scenario).
        overrides: further overrides as {'section.key': value}.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        structure: str | None = None,
        population: int | None = None,
        responsiveness: int | None = None,
        agency: int | None = None,
        connectivity: int | None = None,
        optimal_gap: float | None = None,
        experts: int | None = None,
        seed: int | str | None = None,
        overrides: dict[str, Any] | None = None,
    ):
        if scenario is None:
            scenario = Scenario()
        elif not isinstance(scenario, Scenario):
            scenario = load(scenario)
        named = {
            "program.structure": structure,
            "population.size": population,
            "program.responsiveness": responsiveness,
            "program.agency": agency,
            "program.connectivity": connectivity,
            "learning.optimal_gap": optimal_gap,
            "experts.count": experts,
        }
        changes = {k: v for k, v in named.items() if v is not None}
        changes.update(overrides or {})
        if changes:
            scenario = scenario.with_overrides(changes, source="model parameters")
        seed_value = _coerce_seed(seed)
        if seed_value is None:
            seed_value = scenario.run.seed
        super().__init__(seed=seed_value)
        self.scenario = scenario
        self.seed = seed_value
        run, pop = scenario.run, scenario.population
        memory.check(scenario)  # refuse, in one line, a population this machine cannot hold
        self.population = allocate(pop.size, pop.community_size, pop.arrival_rate, run.steps)
        initialise(self.population, scenario, seed_value)
        self.arrangement = ExpertArrangement.for_scenario(scenario, self.population.capacity)
        self.blocks = block_layout(self.population.communities, self.population.capacity)
        self._stats = np.zeros((self.blocks.size - 1, L.N_STATS))
        self._histogram = np.zeros((self.blocks.size - 1, L.HISTOGRAM_BINS), dtype=np.int64)
        self._class_mean = np.zeros(self.arrangement.classes)
        self._class_count = np.zeros(self.arrangement.classes, dtype=np.int64)
        self.arrivals = 0
        # Study groups (issue 6): their own state, weekly kernel and metrics (study_groups.py).
        self.groups = None
        if scenario.program.structure == "study_groups":
            self.groups = SG.StudyGroups(self.population, scenario, seed_value, self.blocks, self._stats, self._histogram)
        pop_arrays = self.population
        L.summarise(
            pop_arrays.skill, pop_arrays.motivation, pop_arrays.flags, pop_arrays.community_start,
            pop_arrays.community_present, self.blocks, self._stats, self._histogram,
        )
        self.metrics = self._aggregate(expert_hours=0.0)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                name: _reporter(name) for name in ("step", *METRIC_NAMES, *(SG.METRIC_NAMES if self.groups else ()))
            }
            | {f"band_{k}": _reporter(f"band_{k}") for k in range(scenario.metrics.bands)}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One week: arrivals, the global pool, class summaries, then the synchronous kernel."""
        t = self.steps  # Mesa has already counted this step
        sc, pop, arr = self.scenario, self.population, self.arrangement
        self.arrivals += arrive(pop, sc, self.seed, t)
        if self.groups is not None:  # study groups (issue 6): their own weekly kernel, no experts
            self.groups.week(pop, t, self._stats, self._histogram)
            pop.swap()
            self.metrics = self._aggregate(expert_hours=0.0)
            self.datacollector.collect(self)
            if self.steps >= sc.run.steps:
                self.running = False
            return
        pool, ordered = gather_pool(
            pop, self.seed, t, sc.levels.pool_per_community, sort=sc.program.connectivity == 2
        )
        classes_taught = 0
        if arr.mode == L.EXPERTS_CLASS:
            class_summary(pop.skill, pop.flags, arr.class_span, self._class_mean, self._class_count)
            classes_taught = int(np.count_nonzero(self._class_count))
        rules = step_rules(sc, arr, self.metrics["active"], self.metrics["mean_skill"])
        L.week(
            pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next, pop.community_start,
            pop.community_present, self.blocks, pool, ordered, self._class_mean, self._class_count,
            key_for(self.seed, STREAM_STEP, t), rules, EFFICACY_TABLE, self._stats,
            self._histogram,
        )
        pop.swap()
        sessions = float(self._stats[:, L.N_EXPERT].sum())
        self.metrics = self._aggregate(expert_hours=arr.hours(classes_taught, sessions))
        self.datacollector.collect(self)
        if self.steps >= sc.run.steps:
            self.running = False

    def _aggregate(self, expert_hours: float) -> dict:
        out = week_metrics(self.scenario, self.arrangement, self._stats, self._histogram, self.steps, expert_hours)
        if self.groups is not None:  # study groups (issue 6)
            out.update(self.groups.metrics())
        return out

    # ------------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, progress=None) -> None:
        """Run `steps` weeks (default: the scenario's run.steps), calling progress(t) after each."""
        for _ in range(steps if steps is not None else self.scenario.run.steps - self.steps):
            self.step()
            if progress is not None:
                progress(self.steps)

    def metrics_frame(self):
        """Per-week aggregates as a DataFrame (one row per step, from step 0)."""
        return self.datacollector.get_model_vars_dataframe()


def _reporter(name: str):
    def report(model: PeerLearningModel):
        return model.metrics[name]

    report.__name__ = name
    return report
