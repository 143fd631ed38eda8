"""PeerScale: peer learning in an expertise pyramid, from thousands toward billions of agents.

The public API:

- `PeerLearningModel`: the model (a `mesa.Model`) of one scenario and seed;
- `Scenario`, `load`, `ScenarioError`: scenarios (TOML files or the schema's defaults) and the
  one error type of bad input;
- `run_scenario`, `compare`, `RunSet`: replicates and comparisons with 95% confidence intervals
  (with `ensemble=K`, under the first K calibration-ensemble members: analysis/ensemble.py);
- `trial`, `Trial`, `TrialResult`: virtual trials (two arms, common random numbers, effect sizes);
- `sweep`: scenario sweeps and sensitivity analysis (grid, Latin hypercube, Morris, Sobol);
- `structures`: the registry of program structures.

The subpackages (see docs/CONTRIBUTING.md): `config` (the schema), `core` (random numbers,
pyramid, population, efficacy, aggregates), `kernels` (numba), `structures` (one module per
program structure), `analysis` (runs, trials, results, figures), `scale` (memory guard, sharding,
vector width), `reference` (plain-Mesa implementations of the rules), `dashboard`.
"""

from importlib.metadata import PackageNotFoundError, version

from .scale import environment  # noqa: F401  # isort: skip  (first: the variables numba reads)
from .scale import vector_width  # noqa: F401  # isort: skip  (before numba is imported)

from . import structures  # isort: skip
from .analysis.runner import RunSet, compare, run_scenario  # isort: skip
from .analysis.sweep import sweep  # isort: skip
from .analysis.trial import Trial, TrialResult, trial  # isort: skip
from .config import Scenario, ScenarioError, load  # isort: skip
from .core.aggregates import METRIC_NAMES  # isort: skip
from .model import PeerLearningModel  # isort: skip

try:
    __version__ = version("peerscale")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = [
    "METRIC_NAMES",
    "PeerLearningModel",
    "RunSet",
    "Scenario",
    "ScenarioError",
    "Trial",
    "TrialResult",
    "__version__",
    "compare",
    "load",
    "run_scenario",
    "structures",
    "sweep",
    "trial",
]
