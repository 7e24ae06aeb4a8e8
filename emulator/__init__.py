"""A local Azure Resource Manager emulator: managed images, galleries, image definitions and versions (with
replication), tags, scale sets, virtual machines, managed identity, Event Grid resource events. See README.md."""

__all__: list[str] = []
