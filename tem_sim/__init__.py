"""tem_sim: exact event-driven simulation and spike-time training of integrate-and-fire networks.

An integrate-and-fire neuron is a time encoding machine: each spike time is a
linear constraint on its weights. tem_sim simulates networks of such neurons
exactly (a compiled, event-driven engine), learns their weights from spike
times (sparse QPs solved with OSQP), and decodes signals from spikes.
"""
from .engine import encode
from .exceptions import (IdentifiabilityWarning, SimulationLimitError, SolverError, TemSimError,
                         ValidationError)
from .kernels import Delta, Exponential, PeriodicLowpass
from .network import Network, RunResult
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains

__version__ = "0.1.0"

__all__ = [
    "encode", "Network", "RunResult",
    "FourierSignals", "Neurons", "SpikeTrains",
    "Delta", "Exponential", "PeriodicLowpass",
    "TemSimError", "ValidationError", "SimulationLimitError", "SolverError", "IdentifiabilityWarning",
]
