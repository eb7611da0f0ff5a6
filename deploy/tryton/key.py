# The idempotency key the Millwright integration sets on what it creates, so
# that it can look a record up by its key before (re)creating it: an answer
# lost after Tryton committed never doubles a stock move or a work cycle.
from sql import Null

from trytond.model import Index, Unique, fields


class MillwrightKeyMixin(object):
    __slots__ = ()

    # Not readonly=True: in Tryton 8.2 a readonly field is also refused on
    # RPC create/write ("You are not allowed to modify the field ...").
    millwright_key = fields.Char(
        "Millwright Key", strip=False,
        help="Idempotency key set by the Millwright integration.")

    # The ir.message shown when a second record with the same key is created.
    _millwright_key_message = None

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('millwright_key_unique', Unique(t, t.millwright_key),
                cls._millwright_key_message),
            ]
        cls._sql_indexes.add(
            Index(
                t, (t.millwright_key, Index.Equality()),
                where=t.millwright_key != Null))

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('millwright_key', None)
        return super().copy(records, default=default)
