-- The values of the Vault secrets a job's HTTP call reads, by name (every one this role may
-- read when the call names none), read as the job's role in the evaluation's read-only
-- transaction. They are never shown: they are cut out of whatever is shown.
select decrypted_secret
from vault.decrypted_secrets
where decrypted_secret is not null
  and (cardinality(%(names)s::text[]) = 0 or name = any(%(names)s::text[]))
limit 1000
