import GRDB

/// Where each column of a `messages` row is, found once per result set. `row["name"]` looks a name up
/// case-insensitively, lower-casing it on every call: fifteen lookups per leased message were 2.6% of the pipeline's
/// CPU while it drained a backlog.
struct MessageColumns {
    let seq, id, source, idempotencyKey, orderingKey, correlationId, contentType, body, headers, status, attempts,
        availableAt, leaseOwner, leaseExpiresAt, acceptedAt, updatedAt, lastError, retryBase, retrySince: Int

    /// The positions in `row`, which must have every column of the table (the store's own `SELECT *` and
    /// `RETURNING *`; a missing one means the schema and this code disagree, a bug, not bad input).
    init(_ row: Row) {
        let names = Array(row.columnNames)
        func at(_ name: String) -> Int {
            guard let index = names.firstIndex(of: name) else {
                preconditionFailure("the messages row has no column '\(name)' (columns: \(names.joined(separator: ", ")))")
            }
            return index
        }
        (seq, id, source, idempotencyKey, orderingKey) = (at("seq"), at("id"), at("source"), at("idempotency_key"), at("ordering_key"))
        (correlationId, contentType, body, headers) = (at("correlation_id"), at("content_type"), at("body"), at("headers"))
        (status, attempts, availableAt, leaseOwner) = (at("status"), at("attempts"), at("available_at"), at("lease_owner"))
        (leaseExpiresAt, acceptedAt, updatedAt, lastError) = (at("lease_expires_at"), at("accepted_at"), at("updated_at"), at("last_error"))
        (retryBase, retrySince) = (at("retry_base"), at("retry_since"))
    }
}
