-- Who may see the dashboard and the API, and what they did (docs/security.md). Passwords and
-- every secret handed out (session cookies, display and API tokens, one-time sign-in links) are
-- stored only as hashes: a copy of this database signs nobody in.
CREATE TABLE users (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL UNIQUE CHECK (name ~ '^[^[:space:][:cntrl:]]{1,100}$'),
    role          text        NOT NULL CHECK (role IN ('wall', 'supervisor', 'manager', 'admin')),
    password_hash text        NOT NULL,  -- argon2id, with its parameters and salt
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Screens signed in with the wall role by opening their URL; removed when revoked.
CREATE TABLE displays (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (name ~ '^[^[:space:][:cntrl:]]{1,100}$'),
    token_hash bytea       NOT NULL UNIQUE,  -- sha256 of the URL's token
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Bearer tokens of programs using /api/v1; removed when revoked.
CREATE TABLE api_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE CHECK (name ~ '^[^[:space:][:cntrl:]]{1,100}$'),
    role         text        NOT NULL CHECK (role IN ('wall', 'supervisor', 'manager', 'admin')),
    token_hash   bytea       NOT NULL UNIQUE,  -- sha256 of the token
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- A browser signed in: a person (user_id) or a display (display_id), never both. The cookie holds
-- a random key; its sha256 is the id. The CSRF token guards the session's own form posts.
CREATE TABLE sessions (
    id_hash    bytea       PRIMARY KEY,
    user_id    bigint      REFERENCES users ON DELETE CASCADE,
    display_id bigint      REFERENCES displays ON DELETE CASCADE,
    csrf_token text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK ((user_id IS NULL) <> (display_id IS NULL))
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_display ON sessions (display_id) WHERE display_id IS NOT NULL;

-- One-time sign-in links (the demo prints one for its admin): used once, or expired.
CREATE TABLE sign_in_links (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

-- Failed sign-ins, counted per user name and per client address over a window, by every
-- dashboard process alike.
CREATE TABLE sign_in_failures (
    at        timestamptz NOT NULL,
    user_name text        NOT NULL,
    address   text        NOT NULL
);
CREATE INDEX sign_in_failures_by_name ON sign_in_failures (user_name, at);
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, at);

-- Who did what and when: sign-ins and their failures, sign-outs, acknowledgements, and changes
-- of users, tokens and displays.
CREATE TABLE audit_log (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,  -- a user's or display's name, an API token's, or "command line"
    action  text        NOT NULL CHECK (action IN (
                'sign_in', 'sign_in_failed', 'sign_out', 'display_signed_in',
                'alert_acknowledged', 'alert_resolved',
                'user_added', 'user_removed', 'user_role_changed', 'user_password_changed',
                'token_added', 'token_revoked', 'display_added', 'display_revoked')),
    subject text,              -- what it was done to: a user, token or display name, an alert id
    address text               -- the client's address, for what came over HTTP
);
CREATE INDEX audit_log_at ON audit_log (at);
