-- Take on the job's role for the enclosing transaction only: SET LOCAL ends with it, so no
-- client that a transaction pooler hands this server connection to next inherits the role.
set local role {role}
