"""lit_basics: the PyTorch basics notes' regressions as PyTorch Lightning modules.

Import the pieces from their modules: :mod:`lit_basics.models` (the maths),
:mod:`lit_basics.data`, :mod:`lit_basics.callbacks` (the watching), :mod:`lit_basics.diagnostics`,
:mod:`lit_basics.cli`. This package module imports nothing heavy itself.
"""

__version__ = "0.1.0"
