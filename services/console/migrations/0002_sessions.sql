-- Sessions kept by the console (issue 29, ADR 0024). The cookie holds a random token; this table holds only its
-- SHA-256, so reading the table does not give anyone a session. A request is let in only while its session is
-- neither expired nor revoked and its operator is not disabled; the role is read from `operators` every time.
CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,                 -- hex SHA-256 of the cookie's token
    operator    text NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
    csrf        text NOT NULL,                    -- the token every form that changes something carries
    address     text NOT NULL,                    -- where the login came from (the socket's peer, not a header)
    created_at  timestamptz NOT NULL,             -- business time, like expires_at
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz                       -- logout, a password reset, or the operator disabled
);
CREATE INDEX sessions_by_operator ON sessions (operator) WHERE revoked_at IS NULL;

-- Failed logins, for throttling by name and by address (domain/access.py). The name is kept only when it is an
-- operator's (NULL: an unknown name), never the typed text. Rows older than the throttles' horizon are deleted.
CREATE TABLE login_failures (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,               -- business time
    operator  text,
    address   text NOT NULL
);
CREATE INDEX login_failures_by_operator ON login_failures (operator, at);
CREATE INDEX login_failures_by_address ON login_failures (address, at);
