/// Takes inspection results (`InspectionResult`) published on `mes.inspections` and books each
/// (`QualityBook`): a failed one holds its lot in the ERP, a passed one releases it. A message is
/// acknowledged only once booked or refused.
public typealias InspectionListener = BookListener<QualityBook>
