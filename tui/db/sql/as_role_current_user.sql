-- Who this session acts as now (a SET ROLE changes it; session_user stays the login).
select current_user
