"""A local Azure Resource Manager emulator: managed images, galleries, image definitions and versions (with
replication), tags, scale sets, virtual machines, managed identity, Event Grid resource events. See README.md.

Run it with ``python -m emulator``; drive it from Python with :class:`EmulatorControl`.
"""

from emulator.control import ControlError, EmulatorControl

__all__ = ["ControlError", "EmulatorControl"]
