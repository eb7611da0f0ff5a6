# Adds an idempotency key to stock.move (see key.py).
from trytond.pool import PoolMeta

from .key import MillwrightKeyMixin


class Move(MillwrightKeyMixin, metaclass=PoolMeta):
    __name__ = 'stock.move'
    _millwright_key_message = 'millwright.msg_millwright_key_unique'
