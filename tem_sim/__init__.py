"""tem_sim: exact event-driven simulation and spike-time training of integrate-and-fire networks.

An integrate-and-fire neuron is a time encoding machine: each spike time is a
linear constraint on its weights. tem_sim simulates networks of such neurons
exactly (a compiled, event-driven engine), learns their weights from spike
times (sparse QPs solved with OSQP, one per neuron), learns two-layer
networks by recovering the hidden spikes from the output spikes
(finite-rate-of-innovation methods), and decodes signals from spikes.
"""
from .connectivity import NetworkFit, fit_network
from .constraints import CombinedInputs, SpikeInput
from .decoding import BandlimitedDecodeResult, DecodeResult, decode, decode_bandlimited, decode_drive
from .engine import encode
from .exceptions import (IdentifiabilityWarning, SimulationLimitError, SolverError, TemSimError,
                         UnderSampledWarning, ValidationError)
from .fri import FRIResult, fri_recover
from .io import load_examples, load_fit, load_model, save_examples, save_fit, save_model
from .kernels import Delta, Exponential, PeriodicLowpass
from .network import Network, RunResult
from .parallel import sweep
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains
from .stimuli import PiecewisePolynomials, SincSignals
from .training import FitResult, fit_layer
from .threelayer import ThreeLayerResult, align_three_layers, fit_three_layer, simulate_three_layer
from .twolayer import (Alignment, HiddenRecovery, TwoLayerReport, TwoLayerResult, align_to_truth,
                       cramer_rao_bound, fit_two_layer, recover_hidden, simulate_two_layer)

__version__ = "0.1.0"

__all__ = [
    # simulation
    "encode", "Network", "RunResult",
    # data types
    "FourierSignals", "SincSignals", "PiecewisePolynomials", "Neurons", "SpikeTrains", "SpikeInput", "CombinedInputs",
    "Delta", "Exponential", "PeriodicLowpass",
    # training and decoding
    "fit_layer", "FitResult", "fit_network", "NetworkFit", "decode", "decode_drive", "DecodeResult",
    "decode_bandlimited", "BandlimitedDecodeResult",
    "fit_two_layer", "simulate_two_layer", "align_to_truth", "TwoLayerResult", "TwoLayerReport", "Alignment",
    "cramer_rao_bound", "recover_hidden", "HiddenRecovery",
    "fit_three_layer", "simulate_three_layer", "align_three_layers", "ThreeLayerResult",
    "fri_recover", "FRIResult",
    # sweeps over processes or a Dask cluster
    "sweep",
    # files (tem-sim simulate / train)
    "save_model", "load_model", "save_examples", "load_examples", "save_fit", "load_fit",
    # errors
    "TemSimError", "ValidationError", "SimulationLimitError", "SolverError", "IdentifiabilityWarning",
    "UnderSampledWarning",
]
