# Adds an idempotency key to stock.move so that the Millwright integration
# can look a move up by its key before (re)creating it.
from sql import Null

from trytond.model import Index, Unique, fields
from trytond.pool import PoolMeta


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    # Not readonly=True: in Tryton 8.2 a readonly field is also refused on
    # RPC create/write ("You are not allowed to modify the field ...").
    millwright_key = fields.Char(
        "Millwright Key", strip=False,
        help="Idempotency key set by the Millwright integration.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('millwright_key_unique', Unique(t, t.millwright_key),
                'millwright.msg_millwright_key_unique'),
            ]
        cls._sql_indexes.add(
            Index(
                t, (t.millwright_key, Index.Equality()),
                where=t.millwright_key != Null))

    @classmethod
    def copy(cls, moves, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('millwright_key', None)
        return super().copy(moves, default=default)
