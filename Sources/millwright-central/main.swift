import MillwrightCore

// The central arrives with the store-and-forward issue; until then it says so plainly.
let message = """
    millwright-central \(MillwrightVersion.current): not built yet.
    The central (ingest from edges, deduplication, ERP/MES reconciliation) is the next
    milestone. The edge agent (millwright-edge) is ready: see README.md.
    """
print(message)
