# Quality holds on stock lots for the Millwright integration; registered only
# where stock_lot is activated. An inspection result from a lab or an MES
# holds a lot (its quantity in the warehouse storage moves to a hold location
# outside any warehouse, so nothing can be assigned from it) or releases it
# (the quantity moves back), in one transaction, once per result key.
import datetime as dt

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'

    millwright_quality = fields.Selection([
            (None, ""),
            ('held', "Held"),
            ('released', "Released"),
            ], "Quality State", readonly=True,
        help="Set by the Millwright integration from inspection results.")
    millwright_quality_at = fields.DateTime(
        "Quality Result Time", readonly=True,
        help="When the inspection that set the quality state was made.")
    millwright_quality_note = fields.Char("Quality Note", readonly=True)
    millwright_quality_key = fields.Char(
        "Quality Result Key", readonly=True, strip=False,
        help="The Millwright key of the result that set the quality state.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'millwright_quality_result': RPC(readonly=False),
                })

    @classmethod
    def millwright_quality_result(
            cls, lot_id, result, at, note, storage_id, hold_id, key):
        """Applies one inspection result to a lot, in this transaction.

        result: 'fail' (hold) or 'pass' (release); at: the inspection's ISO
        time; key: the result's idempotency key, set on the move (key + '#1').
        Returns {'state', 'moved', 'applied'}: applied is 'now', 'before' (this
        key was applied already) or 'superseded' (a later result was; nothing
        is changed).
        """
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Date = pool.get('ir.date')
        if result not in {'pass', 'fail'}:
            raise ValueError(f"result must be 'pass' or 'fail', not {result!r}")
        lot = cls(lot_id)
        when = dt.datetime.fromisoformat(at.replace('Z', '+00:00')).replace(
            tzinfo=None)
        earlier = Move.search([('millwright_key', '=', key + '#1')])
        if earlier or lot.millwright_quality_key == key:
            return {'state': lot.millwright_quality,
                'moved': sum(m.quantity for m in earlier), 'applied': 'before'}
        if lot.millwright_quality_at and when < lot.millwright_quality_at:
            return {'state': lot.millwright_quality, 'moved': 0,
                'applied': 'superseded'}
        storage, hold = Location(storage_id), Location(hold_id)
        source, target = (storage, hold) if result == 'fail' else (hold, storage)
        with Transaction().set_context(
                locations=[source.id], stock_date_end=Date.today(),
                with_childs=True):
            quantity = cls(lot_id).quantity
        moved = 0
        if quantity and quantity > 0:
            company = Transaction().context.get('company')
            if company is None:
                company = pool.get('company.company').search([], limit=1)[0].id
            # The caller may write lots (checked by the RPC); the moves are the
            # module's own doing, as Tryton's shipments do theirs.
            with without_check_access():
                move = Move(
                    product=lot.product, lot=lot, quantity=quantity,
                    unit=lot.product.default_uom, from_location=source,
                    to_location=target, company=company,
                    effective_date=Date.today(), millwright_key=key + '#1')
                move.save()
                # Reserved from the lot's stock, then done (Tryton does not
                # let a move out of a storage be done unreserved). Short of it
                # (moved meanwhile), nothing of this call stays; it is retried.
                if not Move.assign_try([move]):
                    raise ValueError(
                        f"lot {lot.number}: {quantity} no longer in "
                        f"{source.rec_name}")
                Move.do([move])
            moved = quantity
        state = 'held' if result == 'fail' else 'released'
        # The quality fields are readonly to people (the integration sets them).
        with without_check_access():
            cls.write([lot], {
                    'millwright_quality': state,
                    'millwright_quality_at': when,
                    'millwright_quality_note': (note or '')[:200],
                    'millwright_quality_key': key,
                    })
        return {'state': state, 'moved': moved, 'applied': 'now'}
