-- A read's transaction, closed in the same round trip as its statements (tui/db/connect.py).
commit
