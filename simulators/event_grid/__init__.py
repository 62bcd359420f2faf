"""An Event Grid custom topic that takes CloudEvents 1.0 batches (`python -m simulators event_grid`)."""

from simulators.event_grid.platform import EventGridTopic, create

__all__ = ["EventGridTopic", "create"]
