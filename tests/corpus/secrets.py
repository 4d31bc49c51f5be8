# ruff: noqa: S608, E501  (data: SQL-shaped texts holding fake secrets)
"""Secrets as they turn up in pg_cron jobs, run messages and HTTP job arguments.

Each entry is a text shaped like the real thing (a command, a header, a connection string,
an error message) and the secret it holds. The values are fake, generated in the right
alphabet and length for their kind, so that no real credential is in this repository;
`fake()` is deterministic so that every run tests the same texts.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"
UPPER_NUM = string.ascii_uppercase + string.digits


def fake(kind: str, length: int, alphabet: str = ALNUM) -> str:
    """A fixed random string: the same `kind` always gives the same value."""
    rng = random.Random(f"{kind}:{length}")  # noqa: S311  # fake test data, not crypto
    return "".join(rng.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class Secret:
    kind: str  # what it is, for test ids
    text: str  # the text it stands in
    secret: str  # what must never be shown

    def pieces(self) -> list[str]:
        """The secret, and for long ones each half: a partial leak fails as well."""
        out = [self.secret]
        if len(self.secret) >= 16:
            half = len(self.secret) // 2
            out += [self.secret[:half], self.secret[half:]]
        return out


def _jwt(kind: str) -> str:
    return ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJ" + fake(kind + "p", 60, B64URL)
            + "." + fake(kind + "s", 43, B64URL))


AWS_ID = "AKIA" + fake("aws-id", 16, UPPER_NUM)
AWS_SECRET = fake("aws-secret", 40, B64)
GH = "ghp_" + fake("ghp", 36)
PW1 = "Tr0ub4dor&3-" + fake("pw1", 6)
PW2 = "c0rrect-h0rse-" + fake("pw2", 8)
SERVICE_JWT = _jwt("service")
ANON_JWT = _jwt("anon")
PEM_BODY = "\n".join(fake(f"pem{i}", 64, B64) for i in range(6))

SECRETS: list[Secret] = [
    # -- SQL: role passwords, FDW options, settings, named arguments ----------------------
    Secret("alter-role", f"ALTER ROLE report_reader PASSWORD '{PW1}'", PW1),
    Secret("alter-role-with-encrypted",
           f"ALTER ROLE app WITH LOGIN ENCRYPTED PASSWORD '{PW2}' VALID UNTIL 'infinity'", PW2),
    Secret("create-user", f"CREATE USER etl_loader WITH PASSWORD 'Etl!{fake('cu', 12)}';",
           f"Etl!{fake('cu', 12)}"),
    Secret("alter-user-scram",
           "ALTER USER app PASSWORD 'SCRAM-SHA-256$4096:" + fake("salt", 24, B64) + "=$"
           + fake("stored", 43, B64) + "=:" + fake("server", 43, B64) + "='",
           fake("stored", 43, B64)),
    Secret("user-mapping",
           "CREATE USER MAPPING FOR etl SERVER warehouse OPTIONS (user 'etl', password "
           f"'wh-{fake('um', 14)}')", f"wh-{fake('um', 14)}"),
    Secret("alter-user-mapping",
           "ALTER USER MAPPING FOR CURRENT_USER SERVER legacy OPTIONS (SET password "
           f"'{fake('aum', 18)}')", fake("aum", 18)),
    Secret("set-config", "SELECT set_config('app.secret_token', "
           f"'{fake('sc', 32, HEX)}', false)", fake("sc", 32, HEX)),
    Secret("set-config-jwt", "select set_config('app.settings.jwt_secret', "
           f"'{fake('jwts', 40)}', true);", fake("jwts", 40)),
    Secret("alter-database-set", "ALTER DATABASE postgres SET app.settings.service_role_key "
           f"TO '{fake('adb', 28)}'", fake("adb", 28)),
    Secret("set-local", f"SET LOCAL app.api_token = 'tok-{fake('sl', 20)}'",
           f"tok-{fake('sl', 20)}"),
    Secret("named-arrow", "SELECT auth.rotate_credentials(p_user => 'svc', p_password => "
           f"'{PW1}x')", PW1 + "x"),
    Secret("named-colon-eq", "select vault.update_secret(id := 'b1f6c2e3-0000-4000-8000-"
           f"000000000001', new_secret := 'rot-{fake('ncq', 16)}')",
           f"rot-{fake('ncq', 16)}"),
    Secret("vault-create-positional",
           f"SELECT vault.create_secret('{fake('vcp', 30)}', 'stripe_api_key', 'Stripe')",
           fake("vcp", 30)),
    Secret("vault-create-named", "select vault.create_secret(new_secret => "
           f"'{fake('vcn', 24)}', new_name => 'resend_key')", fake("vcn", 24)),
    Secret("doubled-quote", "ALTER ROLE app PASSWORD 'it''s-" + fake("dq", 10) + "'",
           "it''s-" + fake("dq", 10)),
    Secret("doubled-quote-pair", "select jsonb_build_object('password', 'o''brien-"
           + fake("dqp", 10) + "')", "o''brien-" + fake("dqp", 10)),
    Secret("dollar-quoted", f"SELECT app.set_smtp(p_password => $${fake('dlq', 18)}$$)",
           fake("dlq", 18)),
    Secret("dollar-tag", f"SELECT app.set_key(api_key => $k${fake('dlt', 22)}$k$)",
           fake("dlt", 22)),
    Secret("e-string", f"ALTER ROLE svc PASSWORD E'pa\\'ss-{fake('es', 10)}'",
           f"ss-{fake('es', 10)}"),
    Secret("pgcrypto-sym", "UPDATE users SET ssn_enc = pgp_sym_encrypt(ssn, "
           f"'{fake('pgp', 26)}') WHERE ssn_enc IS NULL", fake("pgp", 26)),
    Secret("pgcrypto-decrypt", "SELECT pgp_sym_decrypt(card::bytea, 'cardkey-"
           f"{fake('pgd', 16)}') FROM payments", f"cardkey-{fake('pgd', 16)}"),
    Secret("hmac", f"select encode(hmac(payload, 'whk-{fake('hm', 20)}', 'sha256'), 'hex')",
           f"whk-{fake('hm', 20)}"),
    Secret("crypt", f"SELECT crypt('{PW2}!', gen_salt('bf'))", PW2 + "!"),
    # -- connection strings -----------------------------------------------------------------
    Secret("dblink-conninfo", "SELECT dblink_exec('host=10.0.4.12 port=5432 dbname=billing "
           f"user=etl password={fake('dbl', 16)}', 'CALL billing.close_day()')",
           fake("dbl", 16)),
    Secret("conninfo-quoted", "SELECT * FROM dblink('host=replica dbname=app user=ro "
           "password=''" + "s3 cr3t " + fake("cq", 8) + "''', 'select 1') AS t(x int)",
           "s3 cr3t " + fake("cq", 8)),
    Secret("conninfo-spaces", f"host=db.internal port=5432 password = {fake('csp', 14)} "
           "sslmode=require", fake("csp", 14)),
    Secret("conninfo-backslash", f"host=db user=u password='we\\'ird{fake('cbs', 10)}'",
           f"ird{fake('cbs', 10)}"),
    Secret("uri-postgres", f"postgresql://etl:{fake('up', 20)}@db.prod.internal:5432/app",
           fake("up", 20)),
    Secret("uri-postgres-at-in-password",
           f"postgres://admin:p@ss{fake('upa', 10)}@10.1.2.3/postgres", f"ss{fake('upa', 10)}"),
    Secret("uri-query-password", "postgresql://app@db/app?sslmode=require&password="
           + fake("uqp", 18), fake("uqp", 18)),
    Secret("jdbc", "jdbc:postgresql://db:5432/app?user=report&password="
           + fake("jdbc", 16) + "&ssl=true", fake("jdbc", 16)),
    Secret("mysql-uri", f"mysql://root:{fake('my', 16)}@mysql.legacy:3306/shop",
           fake("my", 16)),
    Secret("redis-uri", f"redis://:{fake('rd', 24)}@cache.internal:6379/0", fake("rd", 24)),
    Secret("mongodb-srv", f"mongodb+srv://app:{fake('mg', 18)}@cluster0.abcde.mongodb.net/db",
           fake("mg", 18)),
    Secret("amqp", f"amqp://worker:{fake('amqp', 16)}@rabbit.internal:5672/%2F",
           fake("amqp", 16)),
    Secret("ado-net", f"Server=tcp:sql.example.net,1433;User Id=app;Password={fake('ado', 16)};",
           fake("ado", 16)),
    Secret("odbc-pwd", f"Driver={{ODBC Driver 18}};Server=mssql;UID=sa;PWD={fake('odbc', 14)};",
           fake("odbc", 14)),
    Secret("azure-storage", "DefaultEndpointsProtocol=https;AccountName=backups;AccountKey="
           + fake("azs", 86, B64) + "==;EndpointSuffix=core.windows.net",
           fake("azs", 86, B64)),
    Secret("azure-servicebus", "Endpoint=sb://ns.servicebus.windows.net/;"
           "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="
           + fake("asb", 43, B64) + "=", fake("asb", 43, B64)),
    Secret("pgpassword-env", f"PGPASSWORD={fake('pge', 16)} pg_dump -h db app > /backup/app.sql",
           fake("pge", 16)),
    Secret("mysql-pwd-env", f"MYSQL_PWD='{fake('mpe', 14)}' mysqldump shop", fake("mpe", 14)),
    Secret("sentry-dsn", f"https://{fake('sdsn', 32, HEX)}@o450123.ingest.sentry.io/5512345",
           fake("sdsn", 32, HEX)),
    # -- HTTP headers (as pg_net arguments and as JSON) ----------------------------------
    Secret("bearer-jwt", f"jsonb_build_object('Authorization', 'Bearer {SERVICE_JWT}')",
           SERVICE_JWT),
    Secret("apikey-jwt", f"""'{{"apikey": "{ANON_JWT}"}}'::jsonb""", ANON_JWT),
    Secret("basic-auth", "headers := jsonb_build_object('Authorization', 'Basic "
           + fake("basic", 32, B64) + "=')", fake("basic", 32, B64)),
    Secret("x-functions-key", """headers => '{"x-functions-key": \""""
           + fake("azf", 54, B64URL) + """=="}'::jsonb""", fake("azf", 54, B64URL)),
    Secret("ocp-apim", "jsonb_build_object('Ocp-Apim-Subscription-Key', '"
           + fake("apim", 32, HEX) + "')", fake("apim", 32, HEX)),
    Secret("x-goog-api-key", "jsonb_build_object('X-Goog-Api-Key', 'gk-"
           + fake("goog", 20) + "')", "gk-" + fake("goog", 20)),
    Secret("x-auth-token", """'{"X-Auth-Token": "gAAAAAB""" + fake("xat", 30, B64URL)
           + """"}'""", fake("xat", 30, B64URL)),
    Secret("private-token", "jsonb_build_object('PRIVATE-TOKEN', 'pt-" + fake("gpt", 20)
           + "')", "pt-" + fake("gpt", 20)),
    Secret("x-vault-token", """'{"X-Vault-Token": "hvs.""" + fake("xvt", 24) + """"}'""",
           fake("xvt", 24)),
    Secret("dd-api-key", "jsonb_build_object('DD-API-KEY', '" + fake("dd", 32, HEX)
           + "', 'DD-APPLICATION-KEY', '" + fake("dda", 40, HEX) + "')", fake("dd", 32, HEX)),
    Secret("dd-app-key", "jsonb_build_object('DD-API-KEY', 'k', 'DD-APPLICATION-KEY', 'app-"
           + fake("ddb", 20) + "')", "app-" + fake("ddb", 20)),
    Secret("cookie", """'{"Cookie": "_session_id=""" + fake("ck", 24, HEX)
           + """; theme=dark; csrftoken=""" + fake("ckc", 20) + """"}'""",
           fake("ck", 24, HEX)),
    Secret("cookie-second", """'{"Cookie": "theme=dark; sessionid=""" + fake("ck2", 22)
           + """"}'""", fake("ck2", 22)),
    Secret("x-api-key", "jsonb_build_object('x-api-key', 'live_" + fake("xak", 20) + "')",
           "live_" + fake("xak", 20)),
    Secret("x-shopify", """{"X-Shopify-Access-Token": "shpat_""" + fake("shop", 32, HEX)
           + """"}""", fake("shop", 32, HEX)),
    Secret("x-honeycomb-team", """{"X-Honeycomb-Team": "hc""" + fake("hny", 20) + """"}""",
           fake("hny", 20)),
    Secret("circle-token", "jsonb_build_object('Circle-Token', 'cc-" + fake("circ", 20)
           + "')", "cc-" + fake("circ", 20)),
    Secret("x-hub-signature", """{"X-Hub-Signature-256": "sha256=""" + fake("hub", 64, HEX)
           + """"}""", fake("hub", 64, HEX)),
    Secret("stripe-signature", "'Stripe-Signature', 't=1712345678,v1=" + fake("sts", 30)
           + "'", fake("sts", 30)),
    Secret("proxy-authorization", "'Proxy-Authorization', 'Basic " + fake("pxa", 24, B64)
           + "'", fake("pxa", 24, B64)),
    Secret("authorization-token-scheme", "'Authorization', 'token " + fake("tks", 20) + "'",
           fake("tks", 20)),
    Secret("authorization-raw", """{"Authorization": \"""" + fake("raw", 28) + """"}""",
           fake("raw", 28)),
    Secret("sentry-auth", "X-Sentry-Auth: Sentry sentry_version=7, sentry_key="
           + fake("snk", 32, HEX) + ", sentry_client=raven", fake("snk", 32, HEX)),
    Secret("hstore-arrow", "'password' => 'hs-" + fake("hsa", 14) + "'", "hs-" + fake("hsa", 14)),
    Secret("escaped-json", r"""'{\"api_key\": \"""" + fake("esj", 22) + r"""\"}'""",
           fake("esj", 22)),
    # -- URLs: webhooks, signed URLs, keys in queries ---------------------------------
    Secret("slack-webhook", "url := 'https://hooks.slack.com/services/T0" + fake("sl1", 8, UPPER_NUM)
           + "/B0" + fake("sl2", 8, UPPER_NUM) + "/" + fake("slw", 24) + "'", fake("slw", 24)),
    Secret("discord-webhook", "https://discord.com/api/webhooks/1234567890123456789/"
           + fake("dw", 68, B64URL), fake("dw", 68, B64URL)),
    Secret("teams-webhook", "https://contoso.webhook.office.com/webhookb2/"
           "7f3c1f9e-0000-4000-8000-000000000000@72f988bf/IncomingWebhook/"
           + fake("teams", 32, HEX) + "/d1b2", fake("teams", 32, HEX)),
    Secret("telegram-bot", "https://api.telegram.org/bot6123456789:AA" + fake("tg", 33, B64URL)
           + "/sendMessage", fake("tg", 33, B64URL)),
    Secret("zapier-hook", "https://hooks.zapier.com/hooks/catch/1234567/" + fake("zap", 7).lower()
           + "/", fake("zap", 7).lower()),
    Secret("ifttt", "https://maker.ifttt.com/trigger/backup_done/with/key/"
           + fake("ifttt", 22, B64URL), fake("ifttt", 22, B64URL)),
    Secret("azure-sas", "https://backups.blob.core.windows.net/dumps/app.sql?sv=2022-11-02&"
           "ss=b&srt=o&sp=rw&se=2026-12-31T00:00:00Z&sig=" + fake("sas", 43, ALNUM) + "%3D",
           fake("sas", 43, ALNUM)),
    Secret("s3-presigned", "https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIA" + fake("s3c", 16, UPPER_NUM)
           + "%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature="
           + fake("s3s", 64, HEX), fake("s3s", 64, HEX)),
    Secret("s3-credential", "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA"
           + fake("s3k", 16, UPPER_NUM) + "%2F20261129&X-Amz-Date=20261129T000000Z",
           fake("s3k", 16, UPPER_NUM)),
    Secret("google-maps-key", "https://maps.googleapis.com/maps/api/geocode/json?address=x&key="
           + fake("gmk", 20), fake("gmk", 20)),
    Secret("oauth-code", "https://app.example.com/callback?code=" + fake("oac", 20)
           + "&state=xyz", fake("oac", 20)),
    Secret("access-token-query", "https://graph.facebook.com/v19.0/me?access_token=EAAB"
           + fake("fb", 40), fake("fb", 40)),
    Secret("token-query", "https://api.example.com/export?format=csv&token=" + fake("tq", 18),
           fake("tq", 18)),
    Secret("google-chat", "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key="
           + fake("gck", 20) + "&token=" + fake("gct", 30), fake("gct", 30)),
    Secret("url-userinfo-https", "https://deploy:" + fake("uuh", 16) + "@git.example.com/x.git",
           fake("uuh", 16)),
    # -- token shapes ----------------------------------------------------------------------
    Secret("aws-access-key-id", f"aws_access_key_id = {AWS_ID}", AWS_ID),
    Secret("aws-access-key-bare", f"copy from 's3://b/x' credentials 'id {AWS_ID}x'", AWS_ID),
    Secret("aws-secret-key", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET} aws s3 cp", AWS_SECRET),
    Secret("aws-secret-key-unkeyed", f"SELECT aws_s3.table_import_from_s3('t', '', '(format csv)',"
           f" 'bucket', 'key.csv', 'us-east-1', 'AKIAEXAMPLEEXAMPLE00', '{AWS_SECRET}')",
           AWS_SECRET),
    Secret("aws-session-token", "aws_session_token=IQoJb3JpZ2luX2Vj" + fake("ast", 60, B64),
           fake("ast", 60, B64)),
    Secret("github-pat-classic", f"git clone https://{GH}@github.com/acme/ops.git", GH),
    Secret("github-pat-fine", "github_pat_11A" + fake("ghf", 19, UPPER_NUM) + "_"
           + fake("ghf2", 59), fake("ghf2", 59)),
    Secret("github-oauth", "gho_" + fake("gho", 36), "gho_" + fake("gho", 36)),
    Secret("github-app", "GITHUB_TOKEN: ghs_" + fake("ghs", 36), fake("ghs", 36)),
    Secret("gitlab-pat", "glpat-" + fake("glp", 20, B64URL), fake("glp", 20, B64URL)),
    Secret("gitlab-runner", "GR1348941" + fake("glr", 20, B64URL), fake("glr", 20, B64URL)),
    Secret("slack-bot", "xoxb-2" + fake("sb1", 11, string.digits) + "-"
           + fake("sb2", 13, string.digits) + "-" + fake("sb3", 24), fake("sb3", 24)),
    Secret("slack-user", "xoxp-" + fake("sp1", 12, string.digits) + "-" + fake("sp2", 32, HEX),
           fake("sp2", 32, HEX)),
    Secret("slack-app", "xapp-1-A" + fake("sa1", 10, UPPER_NUM) + "-" + fake("sa2", 30, HEX),
           fake("sa2", 30, HEX)),
    Secret("stripe-live", "sk_live_51" + fake("stl", 96), fake("stl", 96)),
    Secret("stripe-restricted", "rk_live_" + fake("str", 24), fake("str", 24)),
    Secret("stripe-test", "sk_test_" + fake("stt", 24), fake("stt", 24)),
    Secret("stripe-webhook", "whsec_" + fake("stw", 32), fake("stw", 32)),
    Secret("openai", "sk-proj-" + fake("oa", 48, B64URL), fake("oa", 48, B64URL)),
    Secret("openai-legacy", "sk-" + fake("oal", 48), fake("oal", 48)),
    Secret("anthropic", "sk-ant-api03-" + fake("ant", 93, B64URL) + "AA", fake("ant", 93, B64URL)),
    Secret("sendgrid", "SG." + fake("sg1", 22, B64URL) + "." + fake("sg2", 43, B64URL),
           fake("sg2", 43, B64URL)),
    Secret("twilio-api-key", "SK" + fake("twk", 32, HEX), fake("twk", 32, HEX)),
    Secret("twilio-auth", "TWILIO_AUTH_TOKEN=" + fake("twa", 32, HEX), fake("twa", 32, HEX)),
    Secret("google-api-key", "AIza" + fake("gak", 35, B64URL), fake("gak", 35, B64URL)),
    Secret("google-oauth-access", "ya29.a0" + fake("ya", 60, B64URL), fake("ya", 60, B64URL)),
    Secret("google-client-secret", "GOCSPX-" + fake("gcs", 28, B64URL), fake("gcs", 28, B64URL)),
    Secret("mailgun", "key-" + fake("mgk", 32, HEX), fake("mgk", 32, HEX)),
    Secret("mailchimp", fake("mc", 32, HEX) + "-us21", fake("mc", 32, HEX)),
    Secret("npm", "//registry.npmjs.org/:_authToken=npm_" + fake("npm", 36), fake("npm", 36)),
    Secret("pypi", "pypi-AgEIcHlwaS5vcmc" + fake("pypi", 60, B64URL), fake("pypi", 60, B64URL)),
    Secret("dockerhub", "dckr_pat_" + fake("dck", 27, B64URL), fake("dck", 27, B64URL)),
    Secret("huggingface", "hf_" + fake("hf", 34), fake("hf", 34)),
    Secret("digitalocean", "dop_v1_" + fake("do", 64, HEX), fake("do", 64, HEX)),
    Secret("vault-token", "VAULT_TOKEN=hvs." + fake("hvs", 24), fake("hvs", 24)),
    Secret("databricks", "dapi" + fake("dbx", 32, HEX), fake("dbx", 32, HEX)),
    Secret("linear", "lin_api_" + fake("lin", 40), fake("lin", 40)),
    Secret("supabase-pat", "sbp_" + fake("sbp", 40, HEX), fake("sbp", 40, HEX)),
    Secret("supabase-secret", "sb_secret_" + fake("sbs", 31, B64URL), fake("sbs", 31, B64URL)),
    Secret("atlassian", "ATATT3xFfGF0" + fake("atl", 180, B64URL), fake("atl", 180, B64URL)),
    Secret("telegram-token", "TELEGRAM=6123456789:AA" + fake("tgt", 33, B64URL),
           fake("tgt", 33, B64URL)),
    Secret("jwt-bare", f"select net.http_get('https://x/rest/v1/t', headers := "
           f"jsonb_build_object('x-client-info', '{ANON_JWT}'))", ANON_JWT),
    Secret("random-key-unkeyed", "SELECT notify_partner('" + fake("rku", 40) + "')",
           fake("rku", 40)),
    # -- PEM blocks ---------------------------------------------------------------------
    Secret("pem-rsa", "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY
           + "\n-----END RSA PRIVATE KEY-----", PEM_BODY.split("\n")[2]),
    Secret("pem-pkcs8-escaped", r"""'{"private_key": "-----BEGIN PRIVATE KEY-----\n"""
           + PEM_BODY.replace("\n", "\\n") + r"""\n-----END PRIVATE KEY-----\n"}'""",
           PEM_BODY.split("\n")[3]),
    Secret("pem-openssh-cut", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY[:150],
           PEM_BODY.split("\n")[1]),
    Secret("pem-ec-in-literal", "INSERT INTO keys(pem) VALUES ('-----BEGIN EC PRIVATE KEY-----"
           "\n" + PEM_BODY[:130] + "\n-----END EC PRIVATE KEY-----')", PEM_BODY.split("\n")[0]),
    # -- messages, logs, shell lines ------------------------------------------------------
    Secret("psql-error-conninfo", "ERROR:  could not establish connection\nDETAIL:  connection "
           f"to server at \"10.0.0.5\", port 5432 failed: password={fake('pec', 12)} rejected",
           fake("pec", 12)),
    Secret("curl-user", f"curl -sf -u backup:{fake('cu2', 16)} https://nas.internal/api/snapshot",
           fake("cu2", 16)),
    Secret("curl-header", f"curl -H 'Authorization: Bearer {fake('ch', 40, B64URL)}' "
           "https://api.example.com/v1/sync", fake("ch", 40, B64URL)),
    Secret("yaml-line", f"smtp:\n  host: mail.example.com\n  password: {fake('yml', 18)}\n",
           fake("yml", 18)),
    Secret("env-secret", f"export STRIPE_SECRET_KEY=sk_live_{fake('ess', 24)}",
           fake("ess", 24)),
    Secret("client-secret-json", f'{{"client_id": "ops-bot", "client_secret": "{fake("cs", 32)}"}}',
           fake("cs", 32)),
    Secret("http-error-echo", "ERROR:  HTTP 401 from https://api.example.com/v2/report?api_key="
           + fake("hee", 24) + ": unauthorized", fake("hee", 24)),
    Secret("raise-notice", "NOTICE:  rotating key, new token: " + fake("rn", 26), fake("rn", 26)),
    Secret("mysql-identified", "CREATE USER 'etl'@'%' IDENTIFIED BY '" + fake("mid", 16) + "'",
           fake("mid", 16)),
    Secret("pagerduty", "Authorization: Token token=" + fake("pd", 20, B64URL),
           fake("pd", 20, B64URL)),
]

assert len(SECRETS) >= 100, len(SECRETS)
assert len({s.kind for s in SECRETS}) == len(SECRETS), "kinds must be unique"
for _s in SECRETS:
    assert _s.secret in _s.text, _s.kind

# What must stay readable: references to secrets, never the secrets themselves.
READABLE: list[tuple[str, str]] = [
    ("select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key'",
     "service_role_key"),
    ("'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets "
     "where name = 'edge_key')", "edge_key"),
    ("headers := jsonb_build_object('apikey', current_setting('app.settings.anon_key'))",
     "app.settings.anon_key"),
    ("PGPASSWORD=$DB_PASSWORD pg_dump app", "$DB_PASSWORD"),
    ("password authentication failed for user \"report_reader\"", "report_reader"),
    ("SET session_replication_role = replica", "replica"),
    ("select net.http_post(url := 'https://abc.supabase.co/functions/v1/adapter-health')",
     "https://abc.supabase.co/functions/v1/adapter-health"),
    ("delete from cron.job_run_details where end_time < now() - interval '7 days'",
     "cron.job_run_details"),
    ("CALL maintenance.refresh('9f1c2d3e-4b5a-4c6d-8e7f-001122334455')",
     "9f1c2d3e-4b5a-4c6d-8e7f-001122334455"),
    ("refresh materialized view concurrently reporting.mv_CustomerLifetimeValue2024Q4",
     "mv_CustomerLifetimeValue2024Q4"),
    ("SELECT partman.run_maintenance(p_analyze := false, p_jobmon := true)", "p_jobmon := true"),
    ("COPY public.orders TO '/var/lib/postgresql/exports/orders_2026_11_29.csv' (FORMAT csv)",
     "/var/lib/postgresql/exports/orders_2026_11_29.csv"),
]
