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
    millwright_quality_keys = fields.Text(
        "Quality Result Keys", readonly=True,
        help="Every result key applied to the lot, one per line.")

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
        time; key: the result's idempotency key, set on the moves (key + '#n').
        A hold moves the lot's free quantity in every location under
        storage_id to hold_id (one move per location); a release moves what is
        in hold_id back to storage_id. Returns {'state', 'moved', 'reserved',
        'applied'}: applied is 'now', 'before' (this key was applied already)
        or 'superseded' (a later result was; nothing is changed); reserved is
        what of the lot other moves had reserved and was not held.
        """
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        ModelAccess = pool.get('ir.model.access')
        Date = pool.get('ir.date')
        if result not in {'pass', 'fail'}:
            raise ValueError(f"result must be 'pass' or 'fail', not {result!r}")
        # What the moves below do in the module's name, the caller must be
        # allowed to do: change lots and make stock moves.
        ModelAccess.check('stock.lot', 'write')
        ModelAccess.check('stock.move', 'create')
        lot = cls(lot_id)
        # One result at a time per lot: the checks below hold until commit.
        cls.lock([lot])
        when = dt.datetime.fromisoformat(at.replace('Z', '+00:00'))
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        # Tryton keeps whole seconds: compare as stored.
        when = when.replace(microsecond=0)
        applied = set((lot.millwright_quality_keys or '').split())
        earlier = Move.search([('millwright_key', 'like', key + '#%')])
        if earlier or key in applied:
            return {'state': lot.millwright_quality, 'reserved': 0,
                'moved': sum(m.quantity for m in earlier), 'applied': 'before'}
        if lot.millwright_quality_at and when < lot.millwright_quality_at:
            return {'state': lot.millwright_quality, 'moved': 0, 'reserved': 0,
                'applied': 'superseded'}
        storage, hold = Location(storage_id), Location(hold_id)
        if result == 'fail':
            # Every storage location under the warehouse storage, each on its
            # own: stock in a bin is moved from the bin.
            sources = [l.id for l in Location.search([
                        ('parent', 'child_of', [storage.id]),
                        ('type', '=', 'storage')])]
            if hold.id in sources:
                raise ValueError(
                    f"the hold location {hold.rec_name} is inside the "
                    f"warehouse storage {storage.rec_name}: nothing would be "
                    "held; give a location outside every warehouse")
            target = hold
        else:
            sources, target = [hold.id], storage
        today = Date.today()
        company = Transaction().context.get('company')
        if company is None:
            company = pool.get('company.company').search([], limit=1)[0].id

        def by_location(assigned):
            with Transaction().set_context(
                    stock_date_end=today, stock_assign=assigned,
                    company=company):
                quantities = Product.products_by_location(
                    sources, with_childs=False,
                    grouping=('product', 'lot'),
                    grouping_filter=([lot.product.id], [lot.id]))
            return {k[0]: q for k, q in quantities.items()
                if k[2] == lot.id and q > 0}

        on_hand = by_location(False)
        free = by_location(True)
        reserved = sum(on_hand.values()) - sum(free.values())
        moved = 0
        if free:
            # The caller's rights were checked above; the moves are the
            # module's own doing, as Tryton's shipments do theirs.
            with without_check_access():
                moves = []
                for n, (location_id, quantity) in enumerate(
                        sorted(free.items()), 1):
                    move = Move(
                        product=lot.product, lot=lot, quantity=quantity,
                        unit=lot.product.default_uom,
                        from_location=Location(location_id),
                        to_location=target, company=company,
                        effective_date=today,
                        millwright_key=f'{key}#{n}')
                    move.save()
                    moves.append(move)
                # Reserved from the lot's free stock where it is, then done
                # (Tryton does not let a move out of a storage be done
                # unreserved). Short of it, nothing of this call stays.
                if not Move.assign_try(moves, with_childs=False):
                    raise ValueError(
                        f"lot {lot.number}: its stock changed while it was "
                        "being moved; try again")
                Move.do(moves)
                moved = sum(m.quantity for m in moves)
        state = 'held' if result == 'fail' else 'released'
        with without_check_access():
            cls.write([lot], {
                    'millwright_quality': state,
                    'millwright_quality_at': when,
                    'millwright_quality_note': (note or '')[:1000],
                    'millwright_quality_key': key,
                    'millwright_quality_keys': '\n'.join(sorted(applied | {key})),
                    })
        return {'state': state, 'moved': moved, 'reserved': reserved,
            'applied': 'now'}
