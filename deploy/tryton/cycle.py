# Adds an idempotency key to production.work.cycle (see key.py); registered
# only where production_work is activated: the work cycles the integration
# books for the time an MES confirmed.
from trytond.pool import PoolMeta

from .key import MillwrightKeyMixin


class WorkCycle(MillwrightKeyMixin, metaclass=PoolMeta):
    __name__ = 'production.work.cycle'
    _millwright_key_message = 'millwright.msg_millwright_cycle_key_unique'
