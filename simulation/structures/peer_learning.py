"""The weekly peer step with designated experts: the engine of expert_only, peer_only and mixed.

Each week: the global pool (kernels/pool.py), the class summaries where experts teach classes
(kernels/experts.py), this week's rules resolved from the scenario and last week's state, then
the synchronous weekly kernel (kernels/peer_week.py) over every block. Which of peers and experts
take part is the structure's declaration (peer_only: peers only; expert_only: experts only;
mixed: both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.aggregates import aggregate, without_cohort
from ..core.blocks import N_EXPERT, N_EXPERT_CONTACT, N_PARTNERED
from ..core.counter_rng import STREAM_INIT_PROGRAMME, STREAM_STEP, key_for
from ..core.efficacy import EFFICACY_TABLE, combined_narrowing
from ..core.population import novice_layers, pyramid_code, strong_share
from ..core.pyramid import layer_cumulative
from ..kernels import cohort, peer_week
from ..kernels.bundles import BlockSums, agent_state, communities, fields
from ..kernels.experts import (
    CONTACTS_BROKERED,
    CONTACTS_SOUGHT,
    NO_CONTACTS,
    Classes,
    class_summary,
    select_contacts,
)
from ..kernels.pool import Pool, gather_pool, pool_dealt, pool_used, sort_pool
from .base import EngineState, Layout, StateValue
from .expert_arrangement import ExpertArrangement, class_layout, expert_count

if TYPE_CHECKING:
    from ..config.schema import Scenario
    from ..core.population import Population


def step_rules(scenario: Scenario, arrangement: ExpertArrangement, active: float,
               population_mean: float, seed: int = 0) -> peer_week.StepRules:
    """Resolve the scenario and last week's state into the kernel's scalar rules.

    `seed` keys each tutor's quality draw (learning.strong_tutors; unused otherwise).
    """
    prog, learn, ex, mot, lev = (
        scenario.program, scenario.learning, scenario.experts, scenario.motivation, scenario.levels
    )
    k = learn.candidates
    share = lev.agency_choice[prog.agency]
    choice = 0 if share <= 0.0 else max(1, int(np.ceil(share * k)))
    probability, group = arrangement.mentoring(active)
    return peer_week.StepRules(
        peers=int(scenario.structure.peers),
        candidates=k,
        choice=choice,
        pool_contacts=int(lev.pool_contacts[prog.connectivity]),
        pool_ideal=int(prog.connectivity == 2),
        optimal_gap=float(learn.optimal_gap),
        peer_rate=float(learn.peer_rate),
        tutor_rate=float(learn.tutor_rate),
        teaching_expectancy=float(learn.teaching_expectancy),
        peer_narrowing=float(combined_narrowing(
            learn.peer_teaching_skill, lev.responsiveness_narrowing[prog.responsiveness]
        )),
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
        # How experts reach many learners (experts branch).
        broadcast_input=float(ex.broadcast_input),
        expert_contacts=int(lev.expert_contacts[prog.connectivity]),
        contact_mode=CONTACTS_SOUGHT if prog.connectivity >= 2 else CONTACTS_BROKERED,
        domain_narrowing=float(ex.domain_teaching_skill),
        split_roles=int(learn.roles == "split"),
        tutor_capacity=int(learn.tutor_capacity),
        strong_share=float(strong_share(scenario)),
        strong_narrowing=float(combined_narrowing(
            learn.strong_tutor_skill, lev.responsiveness_narrowing[prog.responsiveness]
        )),
        quality_key=key_for(seed, STREAM_INIT_PROGRAMME, 0),
        pool_per_community=int(lev.pool_per_community),
        matched_teaching=int(learn.teaching_partner == "matched"),
    )


def week_metrics(scenario: Scenario, arrangement: ExpertArrangement, stats: np.ndarray,
                 histogram: np.ndarray, step: int, expert_hours: float) -> dict[str, Any]:
    """The week's metrics from the per-block sums and histograms (in block order)."""
    m = scenario.metrics
    out = {"step": step}
    # Peer hours: every peer session (a learner taught by a peer tutor) takes its tutor
    # learning.tutor_hours; counted in block order.
    sessions = sum(float(stats[b, N_PARTNERED]) for b in range(stats.shape[0]))
    peer_hours = scenario.learning.tutor_hours * sessions if scenario.structure.peers else 0.0
    out.update(aggregate(stats, histogram, m.bands, m.competent, m.expert, expert_hours,
                         arrangement.count, peer_hours))
    return out


class PeerEngine(EngineState):
    """The weekly peer step, with experts where the structure has them (see the module doc).

    Its state between weeks (checkpoints): the expert hours and the last week's metrics (next
    week's rules read the active count and mean skill); the class summaries are recomputed
    every week before they are read.
    """

    STATE = ("expert_hours",)

    def __init__(self, population: Population, scenario: Scenario, seed: int, blocks: np.ndarray,
                 stats: np.ndarray, histogram: np.ndarray):
        self.population, self.scenario, self.seed = population, scenario, int(seed)
        self.blocks, self.stats, self.histogram = blocks, stats, histogram
        self.arrangement = ExpertArrangement.for_scenario(scenario, population.capacity)
        self.class_mean = np.zeros(self.arrangement.classes)
        self.class_count = np.zeros(self.arrangement.classes, dtype=np.int64)
        # The kernel's bundles of arrays that live as long as the engine (filled in place).
        self.classes = Classes(self.class_mean, self.class_count, NO_CONTACTS)
        self.sums = BlockSums(stats, histogram)
        self.expert_hours = 0.0
        self.last: dict[str, Any] = {}
        # Weeks whose cohort pass runs (None: every week; base.Engine): a sweep that reads no
        # cohort metric skips it, and those metrics are NaN in the weeks it did not run.
        self.cohort_weeks: frozenset[int] | None = None
        self.cohort_observed = True

    def _observe_cohort(self, step: int, after_week: bool) -> None:
        self.cohort_observed = self.cohort_weeks is None or step in self.cohort_weeks
        if self.cohort_observed:
            observe_cohort(self.population, self.blocks, self.stats, self.scenario, self.seed,
                           step, after_week=after_week)

    def start(self) -> dict[str, Any]:
        """Week 0: the initial state's aggregates."""
        summarise(self.population, self.blocks, self.stats, self.histogram)
        self._observe_cohort(0, after_week=False)
        self.expert_hours = 0.0
        return self.metrics(0)

    def week(self, step: int) -> None:
        """One week: the pool, class summaries, the rules, then the synchronous kernel."""
        pop, sc, arr = self.population, self.scenario, self.arrangement
        pool = gather_pool(pop, sc, self.seed, step)
        classes_taught = 0
        if arr.mode == peer_week.EXPERTS_CLASS:
            class_summary(pop.skill, pop.flags, arr.class_span, self.class_mean, self.class_count)
            classes_taught = int(np.count_nonzero(self.class_count))
        rules = step_rules(sc, arr, self.last["active"], self.last["mean_skill"], self.seed)
        run_week(pop, self.blocks, pool, self.classes, key_for(self.seed, STREAM_STEP, step), rules,
                 self.sums)
        self._observe_cohort(step, after_week=True)
        sessions = float(self.stats[:, N_EXPERT].sum())
        self.expert_hours = week_hours(sc, arr, classes_taught, sessions, self.stats)

    def metrics(self, step: int) -> dict[str, Any]:
        """This week's metrics (core.aggregates.METRICS and the pyramid's bands)."""
        self.last = week_metrics(self.scenario, self.arrangement, self.stats, self.histogram, step,
                                 self.expert_hours)
        if not self.cohort_observed:
            self.last = without_cohort(self.last, self.scenario.metrics.bands)
        return self.last

    def completed(self) -> None:
        """The peer structures have no course to complete."""
        return None

    def state(self) -> dict[str, StateValue]:
        """The expert hours, and last week's metrics as `last.<name>`."""
        return super().state() | {f"last.{k}": v for k, v in self.last.items()}

    def restore(self, state: dict[str, StateValue]) -> None:
        """Take back the expert hours and last week's metrics."""
        self.last = {k.removeprefix("last."): v for k, v in state.items() if k.startswith("last.")}
        super().restore(state)


def run_week(population: Population, blocks: np.ndarray, pool: Pool, classes: Classes,
             key: np.uint64, rules: peer_week.StepRules, sums: BlockSums) -> None:
    """One synchronous week of the weekly kernel over `population`; the caller swaps the buffers.

    The one place the kernel is called from: a whole population (`PeerEngine.week`) and a shard
    (`scale.sharding.Shard.week`) alike.

    Args:
        population: the population (or shard) to advance.
        blocks: its block layout (core.blocks.block_layout; a shard's blocks start at 0).
        pool: this week's whole pool (kernels.pool.Pool).
        classes: the expert classes' summaries (kernels.experts.Classes).
        key: this week's step key, `key_for(seed, STREAM_STEP, step)`.
        rules: the week's rules (`step_rules`).
        sums: the per-block sums and histograms to fill, one row per block.
    """
    if rules.expert_contacts > 0:  # hyper-connectivity: who meets an expert this week
        contacts = np.empty((population.communities, rules.expert_contacts), dtype=np.int64)
        p = population
        select_contacts(p.skill, p.flags, p.motivation, p.community_start, p.community_present,
                        blocks, np.int64(rules.contact_mode), contacts, sums.stats)
        classes = Classes(classes.mean, classes.count, contacts)
    # Plain tuples: numba types them faster than namedtuples (kernels/bundles.py).
    peer_week.week(fields(agent_state(population)), fields(communities(population, blocks)),
                   fields(pool), fields(classes), key, fields(rules), EFFICACY_TABLE, fields(sums))


def summarise(
    pop: Population, blocks: np.ndarray, stats: np.ndarray, histogram: np.ndarray
) -> None:
    """Per-block aggregates of the population's current state (week 0)."""
    peer_week.summarise(fields(agent_state(pop)), fields(communities(pop, blocks)),
                        fields(BlockSums(stats, histogram)))


def week_hours(scenario: Scenario, arrangement: ExpertArrangement, classes_taught: int,
               sessions: float, stats: np.ndarray) -> float:
    """Expert hours of a week: the format's, plus `experts.contact_hours` per expert contact.

    Hyper-connectivity's contacts take the experts' time too (ExpertArrangement.hours: the
    format's sessions).
    """
    contacts = float(stats[:, N_EXPERT_CONTACT].sum())
    return (arrangement.hours(classes_taught, sessions)
            + contacts * scenario.experts.contact_hours)


def observe_cohort(population: Population, blocks: np.ndarray, stats: np.ndarray,
                   scenario: Scenario, seed: int, step: int, after_week: bool) -> None:
    """Who is left behind (kernels/cohort.py): the cohort columns of `stats`, per block.

    Every structure's engine (and every shard) calls it after week `step`'s kernel, on the state
    that kernel wrote (`after_week`: the `*_next` buffers, before the swap), and at week 0 on the
    initial state.
    """
    p = population
    skill, flags = (p.skill_next, p.flags_next) if after_week else (p.skill, p.flags)
    m, pyr = scenario.metrics, scenario.pyramid
    kernel = cohort.observe if p.capacity >= cohort.PARALLEL_SLOTS else cohort.observe_serial
    kernel(
        skill, flags, p.community_start, p.community_present, p.community_initial, blocks,
        np.int64(p.slot_offset), np.int64(p.community_offset), np.uint64(seed), np.int64(step),
        pyramid_code(pyr.shape), layer_cumulative(pyr.layers, pyr.ratio), float(pyr.decay),
        float(pyr.top_skill), np.int64(novice_layers(scenario)),
        float(scenario.population.arrival_rate), np.int64(m.bands), float(m.competent), stats,
    )


def peer_memory(scenario: Scenario, layout: Layout) -> dict[str, int]:
    """Bytes of the weekly peer step beside the population's arrays.

    `experts`: class means and sizes (float64 and int64) in the class format; two parts exist only
    while a week is computed: `pool` (the global pool and, at connectivity 2, its sorted copy) and
    `kernel` (the weekly kernel's scratch lanes and contact rows, each class's expert input, and
    the week's expert contacts).
    """
    parts = {}
    classes = 0
    count = expert_count(scenario, layout.size)
    fmt = scenario.expert_format
    if count and fmt in ("class", "class_log_law"):
        cap = scenario.experts.class_cap if fmt == "class" else None
        classes = class_layout(count, layout.slots, cap)[1]
        parts["experts"] = classes * (8 + 8)
    # The weekly pool (float32 per member); with connectivity 2 also the mask of enrolled members,
    # their skills and the sorted copy; with strong tutors a byte per member (and its sorted
    # copy and the sort's int64 order); with dealt slots each member's int32 position.
    members = layout.communities * scenario.levels.pool_per_community
    rated = pool_used(scenario) and strong_share(scenario) > 0.0
    per_member = 4 + (1 + 4 + 4 if sort_pool(scenario) else 0)
    per_member += (1 + (1 + 8 + 8 if sort_pool(scenario) else 0)) if rated else 0
    per_member += 4 if pool_dealt(scenario) else 0
    parts["pool"] = members * per_member
    peers = scenario.structure.peers
    capacity = scenario.learning.tutor_capacity > 0
    dealt = scenario.learning.tutor_capacity * scenario.levels.pool_per_community
    lanes = peer_week.scratch_bytes(layout.blocks, layout.largest_community, peers, capacity,
                                    dealt if pool_dealt(scenario) else 0)
    # Hyper-connectivity: this week's expert contacts, an int64 slot per contact per community.
    contacts = layout.communities * scenario.levels.expert_contacts[scenario.program.connectivity]
    parts["kernel"] = lanes + 8 * classes + 8 * contacts
    return parts
