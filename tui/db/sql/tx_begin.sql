-- A read's transaction, opened in the same round trip as its statements (tui/db/connect.py).
begin
