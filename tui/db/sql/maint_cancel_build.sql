-- Ask the server to cancel our own index build (its backend pid).
select pg_cancel_backend(%(pid)s)
