"""The scenario schema: every parameter's default, bounds, unit and meaning, written once.

A scenario is a TOML file with the sections below. The CLI (`--set section.key=value` and its
help), the dashboard controls and the parameter tables in docs/ODD.md all read this schema, so a
parameter's default and allowed range live here and nowhere else.

Magnitudes marked "assumption" in their description are modelling assumptions (no study measures
them; see docs/ODD.md and docs/calibration.md); the others are calibrated or structural.

The program structures (`program.structure`) are not listed here: each is declared once, in its
own module of simulation/structures/, and the schema accepts the names of that registry.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ScenarioError

if TYPE_CHECKING:
    from ..structures.base import Structure

LEVEL_NAMES = {
    "responsiveness": ("ignorant", "calibrated", "diagnostic"),
    "agency": ("constraining", "enabling", "active"),
    "connectivity": ("unconnected", "selective", "instant"),
}


def _field(default: Any, description: str, unit: str = "", **bounds: Any) -> Any:
    """A schema field with its unit kept beside its bounds and meaning."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **bounds)


def structure_names() -> tuple[str, ...]:
    """The program structures of the registry (simulation/structures/), in their declared order."""
    # Imported here: the registry imports the kernels; the schema itself does not need them.
    from ..structures import names

    return names()


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Contacts = Annotated[int, Field(ge=0, le=16)]


class Section(BaseModel):
    """A group of parameters; unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        return refuse_booleans(value)


def refuse_booleans(value: Any) -> Any:
    """`value`, unless it is (or holds) true or false: ValueError.

    pydantic takes true/false as 1/0 for a number; no parameter here is a yes/no, so
    `agency = true` is a mistake to report, not a level to run.
    """
    values = value if isinstance(value, (list, tuple)) else (value,)
    if any(isinstance(v, bool) for v in values):
        raise ValueError("a number or text, not true or false")
    return value


class RunParams(Section):
    """How long and how often a scenario is simulated."""

    steps: int = _field(
        26, "weeks simulated (one step is one week of learning)", "weeks", ge=1, le=100_000,
    )
    seed: int = _field(
        0, "seed of the counter-based random numbers; replicate r uses seed + r",
        "", ge=0, le=2**62,
    )
    replicates: int = _field(
        5, "independent replicates, for 95% confidence intervals", "", ge=1, le=100_000,
    )


class PopulationParams(Section):
    """Who is in the population and how it is divided into communities."""

    size: int = _field(100_000, "learners at the start", "agents", ge=2, le=10**10)
    community_size: int = _field(
        100, "learners per community (a town, school or programme): the local contact network",
        "agents", ge=2, le=10**9,
    )
    arrival_rate: float = _field(
        0.0, "novices arriving per week, as a fraction of the initial size (population growth)",
        "1/week", ge=0.0, le=1.0,
    )


class PyramidParams(Section):
    """The initial expertise pyramid: many novices, few experts."""

    shape: Literal["layers", "exponential"] = _field(
        "layers",
        "layers: stacked layers of shrinking size; exponential: a continuous skill density "
        "e^(-decay*skill)",
    )
    layers: int = _field(5, "number of layers of the pyramid (shape = layers)", "", ge=1, le=50)
    ratio: float = _field(
        0.5, "size of each layer relative to the layer below (shape = layers)", "", gt=0.0, le=1.0,
    )
    decay: float = _field(
        5.0, "rate of the skill density's decay (shape = exponential)", "1/skill", gt=0.0, le=100.0,
    )
    top_skill: float = _field(
        0.9, "highest initial skill (1 = today's frontier)", "skill", gt=0.0, le=1.0,
    )


class ProgramParams(Section):
    """Who teaches, and the Peer Learning Guide's three program dimensions (levels 0-2)."""

    structure: str = Field(
        "mixed",
        description=(
            "who teaches: only designated experts, only peers, peers plus capacity-limited "
            "experts, or small study groups (see [study_groups]); one of the structures of "
            "simulation/structures/"
        ),
        json_schema_extra={"unit": "", "choices": "structures"},
    )
    responsiveness: int = _field(
        1, "fit of what a learner receives to their need: 0 ignorant, 1 calibrated, 2 diagnostic",
        "level", ge=0, le=2,
    )
    agency: int = _field(
        1, "self-direction: 0 constraining, 1 enabling, 2 active", "level", ge=0, le=2,
    )
    connectivity: int = _field(
        1, "reach beyond one's community: 0 unconnected, 1 selective, 2 instant",
        "level", ge=0, le=2,
    )

    @field_validator("structure")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in structure_names():
            raise ValueError("unknown structure")
        return value


class LearningParams(Section):
    """How much is learned in one peer or expert session."""

    optimal_gap: float = _field(
        0.1,
        "skill gap above the learner at which learning efficacy peaks, Z (assumption: zone of "
        "proximal development)",
        "skill", gt=0.0, le=0.5,
    )
    peer_rate: float = _field(
        0.014,
        "tutee gain per week at peak efficacy, full motivation, zero skill (calibrated: T1, peer "
        "tutoring's effect on tutees, docs/calibration.md)",
        "skill/week", ge=0.0, le=0.5,
    )
    tutor_rate: float = _field(
        0.014,
        "tutor gain per week from teaching at peak efficacy, learning by teaching (calibrated: T2 "
        "tutors, T6 preparation)",
        "skill/week", ge=0.0, le=0.5,
    )
    teaching_expectancy: float = _field(
        1.0,
        "how much tutors prepare or expect to teach; tutor gain scales with it (Kobayashi 2024: g "
        "~ 0 without)",
        "", ge=0.0, le=1.0,
    )
    peer_teaching_skill: float = _field(
        0.0, "how far a peer tutor narrows the effective gap above Z (0 none, 1 to the optimum)",
        "", ge=0.0, le=1.0,
    )
    participation: float = _field(
        1.0,
        "share of learners enrolled in peer learning (a programme's participants, chosen at "
        "random)",
        "", ge=0.0, le=1.0,
    )
    candidates: int = _field(
        8, "contacts from one's own community considered each week, k", "contacts", ge=1, le=64,
    )
    forgetting: float = _field(
        0.002, "fraction of skill lost in a week without practice (no session taken part in, "
        "nothing gained)",
        "1/week", ge=0.0, le=0.5,
    )
    roles: Literal["reciprocal", "split"] = _field(
        "reciprocal",
        "reciprocal: every participant learns from a peer above and teaches one below; split: "
        "each participant has one role, tutor or tutee (cross-age tutoring, trained tutors; "
        "Cohen, Kulik & Kulik 1982): tutees are taught only by tutors, tutors teach only tutees "
        "and are never taught by a peer (they still learn by teaching)",
    )
    tutor_share: float = _field(
        0.5,
        "roles = split: share of each community's participants who tutor (rounded to whole "
        "members)",
        "", gt=0.0, lt=1.0,
    )
    tutor_capacity: int = _field(
        0,
        "tutees one peer tutor can take in a week; learners whose best tutor is full take their "
        "next best or wait (matching in a random order each week); a tutor met through the "
        "global pool has its capacity dealt at random to communities as slots, and gives that "
        "week's capacity to them; 0: no limit, any number of learners may choose the same tutor "
        "(assumption either way: no study measures how many tutees a volunteer peer tutor takes)",
        "tutees/week", ge=0, le=1000,
    )
    teaching_partner: Literal["own_choice", "matched"] = _field(
        "own_choice",
        "with a tutor capacity, whom a tutor's learning by teaching comes from: own_choice: the "
        "best-fitting contact below that it picks, as without a capacity (the capacity limits "
        "only who may learn from a tutor, so a capacity no learner reaches equals no limit); "
        "matched: only the tutees matched to it (teaching needs a tutee who chose it; pool "
        "tutors are not credited for tutees met through the pool; needs tutor_capacity > 0). "
        "Assumption either way: the calibration (T2, T6) was fitted with own_choice",
    )
    tutor_hours: float = _field(
        1.0,
        "hours a peer tutor spends per tutee in a week: reported as peer_hours, not a "
        "mechanism (assumption: one weekly session of about an hour)",
        "hours/tutee", ge=0.0, le=100.0,
    )
    strong_tutors: int = _field(
        0,
        "strong tutors the region can recruit: a programme that needs N tutors (its "
        "participants, or its tutors when roles = split) recruits them first, so a tutor is "
        "strong with probability min(1, strong_tutors / N), by its own draw (its place in the "
        "recruitment order); the rest teach with peer_teaching_skill; tutors met through the "
        "global pool too. 0: every tutor alike (assumption: two kinds of tutor)",
        "tutors", ge=0, le=10**10,
    )
    strong_tutor_skill: float = _field(
        0.5,
        "how far a strong tutor narrows the effective gap above Z (assumption: a trained or "
        "experienced tutor, as experts.teaching_skill)",
        "", ge=0.0, le=1.0,
    )
    tutor_selection: Literal["top_skill", "random"] = _field(
        "top_skill",
        "roles = split: who tutors: the most skilled participants of each community at the "
        "start (older or more advanced pupils tutor the others, as in cross-age tutoring; "
        "assumption: role by starting skill) or participants chosen at random; later arrivals "
        "are tutees",
    )


class ExpertParams(Section):
    """Designated experts (teachers, mentors): few, skilled, with limited attention."""

    count: int = _field(
        10, "designated experts (used when learners_per_expert = 0)", "experts", ge=0, le=10**9,
    )
    learners_per_expert: int = _field(
        0, "if > 0, experts are a fixed share: count = ceil(size / learners_per_expert)",
        "learners", ge=0, le=10**10,
    )
    format: Literal["auto", "class", "class_log_law", "broadcast", "mentoring"] = _field(
        "auto",
        "how experts reach many learners: class: each expert teaches one class of at most "
        "`class_cap` learners, the rest have no seat (no expert input); class_log_law: every "
        "learner sits in one expert's class however large, input 1/(1 + b ln n) extrapolated "
        "beyond the classes of 15-40 it was fitted on; broadcast: one recorded pitch for "
        "everyone, no interaction; mentoring: each expert sees `capacity` learners a week; "
        "auto: class for expert_only, mentoring for mixed",
    )
    class_cap: int = _field(
        30,
        "most learners one expert teaches in a class (format = class): the class sizes the "
        "class-size evidence covers (T3, T4: 15-30; the log law is evidence-based for about "
        "15-40)",
        "learners", ge=1, le=10**6,
    )
    broadcast_input: float = _field(
        0.4,
        "per-learner input of a recorded broadcast, relative to one-to-one teaching at the same "
        "efficacy (format = broadcast; assumption: as a live class of 40, the largest the log law "
        "covers, 1/(1 + 0.4 ln 40) = 0.40; video replacing live teaching did as well or slightly "
        "better, Noetel et al. 2021)",
        "", ge=0.0, le=1.0,
    )
    skill: float = _field(0.95, "skill of a designated expert", "skill", gt=0.0, le=1.0)
    teaching_skill: float = _field(
        0.5, "how far an expert narrows the effective gap above Z ('impersonating someone closer')",
        "", ge=0.0, le=1.0,
    )
    rate: float = _field(
        0.068,
        "gain per week from one-to-one expert teaching at peak efficacy (calibrated: T3 "
        "one-to-one vs class, T4 class size)",
        "skill/week", ge=0.0, le=0.5,
    )
    class_size_slope: float = _field(
        0.4,
        "b in per-learner expert input 1/(1 + b ln n) for a class of n (log law of "
        "docs/calibration.md, evidence for classes of about 15-40, extrapolated beyond; "
        "calibrated: T3, T4)",
        "", ge=0.0, le=5.0,
    )
    domain_teaching_skill: float = _field(
        0.0,
        "how far a domain expert reached through connectivity (levels.expert_contacts) narrows "
        "the effective gap above Z (assumption: experts who are not educators, the Peer Learning "
        "Guide; 0 = not at all)",
        "", ge=0.0, le=1.0,
    )
    contact_hours: float = _field(
        1.0, "expert hours one expert contact takes (levels.expert_contacts)", "hours",
        gt=0.0, le=100.0,
    )
    capacity: int = _field(
        30, "learners an expert can mentor in one week (format = mentoring)",
        "learners/week", ge=1, le=10**6,
    )
    hours_per_session: float = _field(
        1.0, "expert hours one class or mentoring session takes", "hours", gt=0.0, le=100.0,
    )


class MotivationParams(Section):
    """Engagement and drop-out."""

    initial_min: float = _field(
        0.3, "lowest initial motivation (uniform between min and max)", "", ge=0.0, le=1.0,
    )
    initial_max: float = _field(1.0, "highest initial motivation", "", ge=0.0, le=1.0)
    threshold: float = _field(
        0.2, "agents whose motivation falls below this drop out for good", "", ge=0.0, le=1.0,
    )
    progress_reward: float = _field(
        0.045,
        "motivation gained per week at full learning efficacy (calibrated with T1-T6: T5 "
        "completion and engagement in classes)",
        "1/week", ge=0.0, le=1.0,
    )
    no_contact_penalty: float = _field(
        0.05, "motivation lost in a week without practice (no session taken part in, nothing "
        "gained)",
        "1/week", ge=0.0, le=1.0,
    )
    shock: float = _field(
        0.05, "amplitude of weekly random motivation shocks (uniform in +-shock)",
        "", ge=0.0, le=1.0,
    )


class LevelParams(Section):
    """Magnitudes of the level-to-mechanism mapping; index = level.

    All are assumptions: the Peer Learning Guide's levels and their mechanisms are in docs/ODD.md,
    section 1; no study measures their effects (docs/calibration.md).
    """

    responsiveness_narrowing: tuple[Fraction, Fraction, Fraction] = _field(
        (0.0, 0.5, 0.9),
        "share of the gap above Z removed by fitting content to the learner, per responsiveness "
        "level",
    )
    module_spacing: float = _field(
        0.1, "spacing of the few prepared modules at responsiveness 1 (class content)",
        "skill", gt=0.0, le=1.0,
    )
    agency_choice: tuple[Fraction, Fraction, Fraction] = _field(
        (0.0, 0.5, 1.0),
        "share of candidates a learner may choose among, per agency level (0: the first contact "
        "above is assigned)",
    )
    agency_decay: tuple[Rate, Rate, Rate] = _field(
        (0.03, 0.015, 0.005),
        "motivation lost per week, per agency level (constraining paths demotivate fastest)",
        "1/week",
    )
    pool_contacts: tuple[Contacts, Contacts, Contacts] = _field(
        (0, 2, 2),
        "random contacts from the global pool (other communities) per week, per connectivity level",
        "contacts",
    )
    expert_contacts: tuple[Contacts, Contacts, Contacts] = _field(
        (0, 0, 0),
        "hyper-connectivity to experts: expert contacts per community per week, per "
        "connectivity level; at 1 a facilitator brokers them for the members furthest behind, at "
        "2 the most motivated members reach a practitioner at their ideal gap themselves "
        "(assumption; 0: no contacts)",
        "contacts",
    )
    pool_per_community: int = _field(
        2, "members each community puts into the weekly global pool", "agents", ge=1, le=64
    )


class MetricsParams(Section):
    """Thresholds of the observed aggregates."""

    competent: float = _field(
        0.5, "skill at or above which a learner counts as competent", "skill", gt=0.0, le=1.0,
    )
    expert: float = _field(
        0.8, "skill at or above which a learner counts as an expert", "skill", gt=0.0, le=1.0,
    )
    bands: Literal[2, 4, 5, 8, 10, 20] = _field(
        5, "skill bands of the pyramid (equal width over 0-1)", "bands",
    )


class StudyGroupParams(Section):
    """Small study groups (learning circles) taking one course together (structure = study_groups).

    Every magnitude here is a modelling assumption: no study measures group collapse when an
    organiser leaves (docs/calibration.md); only solo completion is calibrated (T5,
    docs/study_groups.md).
    """

    mode: Literal["organiser_led", "rotating", "solo"] = _field(
        "organiser_led",
        "organiser_led: one member prepares up front, leads every session, and the group "
        "dissolves if that organiser drops out (assumption); rotating: members take turns "
        "preparing and leading; solo: no group (the unsupported online course)",
    )
    organiser: Literal["most_motivated", "random"] = _field(
        "most_motivated",
        "who organises a group (organiser_led) and leads its first session (rotating): the most "
        "motivated member (the volunteer), or a random member",
    )
    group_size: int = _field(
        6,
        "members per group at the start: a community is split into groups of at most this size, "
        "sizes differing by at most one",
        "members", ge=2, le=16,
    )
    min_group_size: int = _field(
        3,
        "a group with fewer active members stops meeting for good; its members continue solo "
        "(assumption)",
        "members", ge=2, le=16,
    )
    course_weeks: int = _field(
        8,
        "length of the course, one session a week; after it, nothing changes (later weeks repeat "
        "the end state)",
        "weeks", ge=1, le=104,
    )
    goal: float = _field(
        0.032,
        "course progress (skill gained through the course since registering, forgetting not "
        "deducted) that counts as completing it (calibrated: T5 with scenarios/solo_online.toml)",
        "skill", gt=0.0, le=1.0,
    )
    course_rate: float = _field(
        0.012,
        "gain per week from the fixed course material at peak efficacy (solo learners; group "
        "members when it beats the session; assumption)",
        "skill/week", ge=0.0, le=0.5,
    )
    preparation_narrowing: float = _field(
        0.5,
        "how far a leader's preparation narrows the effective gap above Z between leader and "
        "member (assumption)",
        "", ge=0.0, le=1.0,
    )
    organiser_preparation_gain: float = _field(
        0.04,
        "organiser's one-off skill gain from designing the course up front, at full motivation "
        "(preparing to teach is learning; assumption)",
        "skill", ge=0.0, le=0.5,
    )
    organiser_preparation_cost: float = _field(
        0.1,
        "organiser's one-off motivation cost of designing the course before the first session "
        "(assumption)",
        "", ge=0.0, le=1.0,
    )
    organiser_preparation_hours: float = _field(
        12.0,
        "hours the organiser spends designing the course up front (reported, not a mechanism)",
        "hours", ge=0.0, le=1000.0,
    )
    session_preparation_gain: float = _field(
        0.01,
        "rotating leader's skill gain from preparing one session, at full motivation (assumption)",
        "skill", ge=0.0, le=0.5,
    )
    session_preparation_cost: float = _field(
        0.02, "rotating leader's motivation cost of preparing one session (assumption)",
        "", ge=0.0, le=1.0,
    )
    session_preparation_hours: float = _field(
        2.0, "hours a rotating leader spends preparing one session (reported, not a mechanism)",
        "hours", ge=0.0, le=100.0,
    )
    facilitation_load: float = _field(
        0.05,
        "motivation lost in a week one leads the session: the organiser every week, a rotating "
        "leader in turn; raises the leader's drop-out hazard (assumption)",
        "1/week", ge=0.0, le=1.0,
    )
    social_support: float = _field(
        0.03,
        "motivation gained in a week one's group meets (belonging and accountability; assumption)",
        "1/week", ge=0.0, le=1.0,
    )
    collapse_motivation_loss: float = _field(
        0.15,
        "motivation lost by each remaining member in the week their group dissolves; whether they "
        "go on solo or stop follows from it (assumption)",
        "", ge=0.0, le=1.0,
    )
    dropout_contagion: float = _field(
        0.0,
        "motivation each member of a meeting group loses per member who dropped out the week "
        "before: drop-out that spreads, as members leaving disheartens those who stay "
        "(assumption: no study measures it, docs/study_groups.md; 0 = off)",
        "1/member", ge=0.0, le=1.0,
    )


class Scenario(Section):
    """A complete, validated PeerScale scenario."""

    name: str = _field("scenario", "short name used in figures and tables")
    description: str = _field("", "what this scenario represents")
    run: RunParams = Field(default_factory=RunParams)
    population: PopulationParams = Field(default_factory=PopulationParams)
    pyramid: PyramidParams = Field(default_factory=PyramidParams)
    program: ProgramParams = Field(default_factory=ProgramParams)
    learning: LearningParams = Field(default_factory=LearningParams)
    experts: ExpertParams = Field(default_factory=ExpertParams)
    motivation: MotivationParams = Field(default_factory=MotivationParams)
    levels: LevelParams = Field(default_factory=LevelParams)
    metrics: MetricsParams = Field(default_factory=MetricsParams)
    study_groups: StudyGroupParams = Field(default_factory=StudyGroupParams)

    @property
    def structure(self) -> Structure:
        """The registry entry of program.structure: what it simulates and how (structures/)."""
        from ..structures import get

        return get(self.program.structure)

    @property
    def expert_count(self) -> int:
        """Designated experts: none if the structure has none, else a fixed count or share."""
        from ..structures.expert_arrangement import expert_count

        return expert_count(self, self.population.size)

    @property
    def expert_format(self) -> str:
        """How experts reach learners: class, class_log_law, broadcast or mentoring (7.6)."""
        if self.experts.format != "auto":
            return self.experts.format
        return self.structure.expert_format

    def with_overrides(self, overrides: dict[str, Any], source: str = "--set") -> Scenario:
        """A copy with dotted-key overrides applied and validated."""
        data = self.model_dump()
        for key, value in overrides.items():
            _assign(data, key, value, source)
        return validate(data, source)


# ----------------------------------------------------------------------------------------------
# Keys, bounds and validation


def _sections() -> dict[str, type[Section]]:
    return {
        name: field.annotation
        for name, field in Scenario.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
    }


def parameter_keys() -> list[str]:
    """Every valid dotted key, e.g. 'learning.optimal_gap'."""
    keys = [k for k, f in Scenario.model_fields.items() if not _is_section(f.annotation)]
    for section, model in _sections().items():
        keys += [f"{section}.{name}" for name in model.model_fields]
    return keys


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Section)


def field_info(key: str):
    """The pydantic FieldInfo of a dotted key."""
    section, _, name = key.partition(".")
    if not name:
        return Scenario.model_fields[section]
    return _sections()[section].model_fields[name]


def _bounds(metadata) -> tuple[Any, bool, Any, bool]:
    """(low, low is open, high, high is open) from pydantic/annotated_types constraints."""
    lo = hi = None
    lo_open = hi_open = False
    for meta in metadata:
        if hasattr(meta, "metadata"):  # a FieldInfo inside Annotated[...]
            sub = _bounds(meta.metadata)
            lo, lo_open = (sub[0], sub[1]) if sub[0] is not None else (lo, lo_open)
            hi, hi_open = (sub[2], sub[3]) if sub[2] is not None else (hi, hi_open)
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "gt", None) is not None:
            lo, lo_open = meta.gt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
        if getattr(meta, "lt", None) is not None:
            hi, hi_open = meta.lt, True
    return lo, lo_open, hi, hi_open


def _range_words(lo, lo_open, hi, hi_open, kind: str) -> str:
    if lo is None and hi is None:
        return kind
    if lo is not None and hi is not None:
        left = f"greater than {lo} and at most" if lo_open else f"{lo} to"
        right = f"below {hi}" if hi_open else f"{hi}"
        return f"{left} {right} ({kind})"
    return f"{kind} >= {lo}" if lo is not None else f"{kind} <= {hi}"


def choices(key: str) -> tuple[Any, ...] | None:
    """The values a key accepts if it is a choice (a Literal or a registry), else None."""
    info = field_info(key)
    if (info.json_schema_extra or {}).get("choices") == "structures":
        return structure_names()
    if str(info.annotation).startswith("typing.Literal"):
        return get_args(info.annotation)
    return None


@dataclass(frozen=True)
class NumericBounds:
    """The numbers a key accepts, as the schema's constraints state them.

    Attributes:
        kind: int or float.
        low: the lower bound (None: unbounded); excluded where `low_open`.
        low_open: whether `low` itself is refused (gt rather than ge).
        high: the upper bound (None: unbounded); excluded where `high_open`.
        high_open: whether `high` itself is refused (lt rather than le).
        length: values per key for a per-level list (one per level), None for one number.
    """

    kind: type
    low: Any
    low_open: bool
    high: Any
    high_open: bool
    length: int | None = None


def numeric_bounds(key: str) -> NumericBounds | None:
    """The range of a numeric key, or of each value of a per-level list (None for other keys)."""
    if choices(key) is not None:
        return None
    info = field_info(key)
    annotation = info.annotation
    if get_origin(annotation) is tuple:
        args = get_args(annotation)
        inner = args[0]  # Annotated[float, Field(ge=..., le=...)]: the same for every level
        kind = getattr(inner, "__origin__", inner)  # Annotated[float, ...] -> float
        return NumericBounds(kind, *_bounds(getattr(inner, "__metadata__", ())), len(args))
    if annotation in (int, float):
        return NumericBounds(annotation, *_bounds(info.metadata))
    return None


def describe_bounds(key: str) -> str:
    """The allowed values of a key, in words: '0 to 2 (integer)'."""
    listed = choices(key)
    if listed is not None:
        return "one of " + ", ".join(repr(a) for a in listed)
    annotation = field_info(key).annotation
    if _is_section(annotation):
        return f"a table of [{key}] parameters"
    bounds = numeric_bounds(key)
    if bounds is None:
        return {str: "text"}.get(annotation, str(annotation))
    kind = {int: "integer", float: "number"}.get(bounds.kind, "value")
    words = _range_words(bounds.low, bounds.low_open, bounds.high, bounds.high_open, kind)
    if bounds.length is None:
        return words
    return f"a list of {bounds.length} values (one per level 0, 1, 2), each {words}"


def _suggest(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def validate(data: dict[str, Any], source: str) -> Scenario:
    """Validate raw scenario data; raise ScenarioError naming the first bad key."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        # A bad element of a per-level tuple is reported on the tuple's key: its position is an
        # int in pydantic's loc (a key such as "00" is a str and is kept).
        key = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        if err["type"] == "extra_forbidden":
            section = loc[0] if len(loc) > 1 else None
            if section and section in _sections():
                valid = [f"{section}.{k}" for k in _sections()[section].model_fields]
            else:
                valid = parameter_keys() + list(_sections())
            raise ScenarioError(source, f"unknown key '{key}'{_suggest(key, valid)}") from None
        value = err.get("input")
        try:
            allowed = describe_bounds(key)
        except (KeyError, IndexError):
            allowed = err["msg"]
        message = f"invalid value {value!r}: allowed {allowed}"
        raise ScenarioError(source, message, key=key) from None
    if scenario.motivation.initial_min > scenario.motivation.initial_max:
        raise ScenarioError(
            source, "motivation.initial_min must not exceed motivation.initial_max",
            key="motivation.initial_min",
        )
    if scenario.learning.teaching_partner == "matched" and scenario.learning.tutor_capacity == 0:
        raise ScenarioError(
            source, "learning.teaching_partner = 'matched' needs learning.tutor_capacity > 0: "
            "without a capacity no tutees are matched",
            key="learning.teaching_partner",
        )
    if scenario.metrics.competent > scenario.metrics.expert:
        raise ScenarioError(
            source, f"metrics.competent ({scenario.metrics.competent}) must not exceed "
            f"metrics.expert ({scenario.metrics.expert}): an expert is also competent",
            key="metrics.competent",
        )
    return scenario


def _assign(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    if len(parts) > 2 or not all(parts):
        hint = _suggest(key, parameter_keys())
        raise ScenarioError(source, f"'{key}' is not a parameter key (use section.key){hint}")
    if len(parts) == 1:
        if parts[0] not in Scenario.model_fields or parts[0] in _sections():
            raise ScenarioError(source, f"unknown key '{key}'{_suggest(key, parameter_keys())}")
        data[parts[0]] = value
        return
    section, name = parts
    if section not in _sections() or name not in _sections()[section].model_fields:
        raise ScenarioError(source, f"unknown key '{key}'{_suggest(key, parameter_keys())}")
    data.setdefault(section, {})[name] = value
