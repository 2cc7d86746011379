"""The tests import ``gradc`` from this checkout's ``compiler/`` directory, whatever else
is installed (another checkout's editable install, an older wheel)."""

from cli import use_checkout

use_checkout()
