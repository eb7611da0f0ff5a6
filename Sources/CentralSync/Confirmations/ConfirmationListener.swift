/// Takes the MES's confirmations (`MESConfirmation`) published on `mes.confirmations` and books
/// each (`ConfirmationBook`): a yield move, a scrap move, a work cycle and its consumed lots, which
/// the dispatcher delivers exactly once. A message is acknowledged only once booked or refused.
public typealias ConfirmationListener = BookListener<ConfirmationBook>
