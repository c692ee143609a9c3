"""Exceptions raised by tem_sim.

Every error raised on purpose by the package derives from :class:`TemSimError`
and also from the built-in type a user would expect, so ``except ValueError``
keeps working: bad parameters raise :class:`ValidationError` (a
``ValueError``) naming the parameter, the value and what was expected; a run
that hits a resource guard raises :class:`SimulationLimitError` (a
``ValueError`` naming the guard); a solver that fails raises
:class:`SolverError` (a ``RuntimeError``) carrying the solver's status.
Problems that are answered but not well posed (too few spikes, rank
deficiency) emit :class:`IdentifiabilityWarning`.
"""
from __future__ import annotations


class TemSimError(Exception):
    """Base class of every error raised on purpose by tem_sim."""


class ValidationError(TemSimError, ValueError):
    """A parameter has the wrong type, shape or value.

    Parameters
    ----------
    name : str
        Name of the offending parameter, e.g. ``"Neurons.kappa"``.
    value : object
        The value that was given (shown in the message, shortened).
    expected : str
        What was expected, e.g. ``"> 0"``.
    """

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{name}: must be {expected} (got {shown})")


class SimulationLimitError(TemSimError, ValueError):
    """A run exceeded a guard such as ``max_spikes``."""


class SolverError(TemSimError, RuntimeError):
    """A numerical solver did not return a usable answer.

    Attributes
    ----------
    status : str
        The solver's own status string (e.g. OSQP's ``"primal infeasible"``).
    """

    def __init__(self, message: str, status: str = "") -> None:
        self.status = status
        super().__init__(message if not status else f"{message} (solver status: {status})")


class IdentifiabilityWarning(UserWarning):
    """The data do not determine the unknowns (rank deficiency, too few spikes)."""


class UnderSampledWarning(IdentifiabilityWarning):
    """The spikes come slower than the Nyquist rate of the signal being decoded."""
