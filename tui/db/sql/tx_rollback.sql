-- A transaction whose statements must leave nothing, closed in their round trip.
rollback
