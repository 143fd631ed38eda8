"""PeerScale: peer learning in an expertise pyramid, from thousands toward billions of agents."""

from importlib.metadata import PackageNotFoundError, version

from . import vector_width  # noqa: F401  (first: it must run before numba is imported)
from .model import METRIC_NAMES, PeerLearningModel
from .scenario import Scenario, ScenarioError, load
from .trial import Trial, TrialResult, trial

try:
    __version__ = version("peerscale")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = [
    "PeerLearningModel", "Scenario", "ScenarioError", "load", "METRIC_NAMES", "Trial", "TrialResult", "trial",
    "__version__",
]
