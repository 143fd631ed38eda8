"""Reproducibility: the same scenario and seed give identical numbers, on 1 or 2 threads."""

import numba
import numpy as np

from simulation import PeerLearningModel

from .helpers import SCENARIOS, run_cli, small


def test_same_seed_same_arrays():
    """Two models with one scenario and seed hold identical arrays after a run."""
    sc = small("mixed", size=5000, steps=8, population__arrival_rate=0.01, program__connectivity=2)
    a, b = PeerLearningModel(sc, seed=5), PeerLearningModel(sc, seed=5)
    a.run()
    b.run()
    for name in ("skill", "motivation", "flags"):
        assert np.array_equal(getattr(a.population, name), getattr(b.population, name))
    assert a.metrics_frame().equals(b.metrics_frame())
    c = PeerLearningModel(sc, seed=6)
    c.run()
    assert not np.array_equal(a.population.skill, c.population.skill)


def test_same_seed_same_numbers_on_one_or_two_threads(tmp_path):
    """`peerscale run` twice, and with NUMBA_NUM_THREADS=1 and 2, gives byte-identical metrics."""
    outputs = []
    for k, threads in enumerate(["1", "2", "2"]):
        out = tmp_path / f"run{k}"
        result = run_cli(
            "run", str(SCENARIOS / "peer_only.toml"), "--seed", "7", "--steps", "6",
            "--replicates", "2", "--set", "population.size=40000", "--out", str(out),
            env={"NUMBA_NUM_THREADS": threads},
        )
        assert result.returncode == 0, result.stderr
        outputs.append((out / "metrics.parquet").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_pool_tutors_slots_are_dealt_the_same_on_one_or_two_threads():
    """Capacity through the pool (dealt slots) and strong pool tutors: one thread equals two."""
    sc = small("peer_only", size=20_000, steps=4, program__connectivity=1,
               learning__tutor_capacity=2, learning__strong_tutors=3000)
    skills = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            model = PeerLearningModel(sc, seed=5)
            model.run()
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        skills.append(model.population.skill.copy())
    assert np.array_equal(skills[0], skills[1])
