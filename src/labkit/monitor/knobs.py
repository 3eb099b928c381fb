"""Old home of the monitoring knob catalogue, kept so existing imports keep working.

The knobs are now declared on the config classes of :mod:`labkit.monitor.config`
(:data:`~labkit.monitor.config.MONITOR_CATALOGUE` is read from them); the
feature and category names live with the world they describe
(:mod:`labkit.monitor.world`).  Import them from :mod:`labkit.monitor`.
"""

from labkit.monitor.config import MONITOR_CATALOGUE
from labkit.monitor.rules import TRIGGER_METRICS
from labkit.monitor.world import CATEGORIES, FEATURES, NUMERIC_FEATURES, REGIONS

__all__ = ["MONITOR_CATALOGUE", "FEATURES", "NUMERIC_FEATURES", "CATEGORIES", "REGIONS",
           "TRIGGER_METRICS"]
