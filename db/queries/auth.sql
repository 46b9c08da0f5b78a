-- Users, sessions, display and API tokens, sign-in failures and the audit log
-- (db/migrations/0014). Secrets are looked up by their sha256, never stored in the clear.

-- name: add_user
-- A user named $1 with role $2 and password hash $3; no row if the name is taken.
INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: remove_user
-- Remove the user named $1 (their sessions go with them).
DELETE FROM users WHERE name = $1 RETURNING id;

-- name: set_role
-- Give the user named $1 the role $2: every session of theirs ends, so that no page left open, nor
-- its live push, goes on with what the old role could see. The user's id, or no row when there is
-- no such user.
WITH changed AS (
    UPDATE users SET role = $2 WHERE name = $1 RETURNING id
), ended AS (
    DELETE FROM sessions s USING changed WHERE s.user_id = changed.id
)
SELECT id FROM changed;

-- name: list_users
-- Every user, by name.
SELECT name, role, created_at FROM users ORDER BY name;

-- name: count_admins
-- How many users have the admin role.
SELECT count(*) FROM users WHERE role = 'admin';

-- name: user_by_name
-- The user named $1, with the hash to check a password against.
SELECT id, name, role, password_hash FROM users WHERE name = $1;

-- name: set_password
-- A new password for user $1 (its hash is $2): every session of theirs ends. The user's id, or no
-- row when there is no such user.
WITH changed AS (
    UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id
), ended AS (
    DELETE FROM sessions s USING changed WHERE s.user_id = changed.id
)
SELECT id FROM changed;

-- name: set_password_hash
-- Store the user $1's password again as $2 (a hash made with newer parameters).
UPDATE users SET password_hash = $2 WHERE id = $1;

-- name: start_session
-- A session $1 (sha256 of its key) for user $2 or display $3, with CSRF token $4, until $5.
INSERT INTO sessions (id_hash, user_id, display_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5);

-- name: session
-- The unexpired session $1 at $2: who holds it, their role and its CSRF token.
SELECT s.csrf_token, s.expires_at, coalesce(u.name, d.name) AS name,
       CASE WHEN s.display_id IS NULL THEN u.role ELSE 'wall' END AS role,
       s.display_id IS NOT NULL AS is_display
FROM sessions s
LEFT JOIN users u ON u.id = s.user_id
LEFT JOIN displays d ON d.id = s.display_id
WHERE s.id_hash = $1 AND s.expires_at > $2;

-- name: end_session
-- End the session $1 (at sign-out, or when a new one replaces it at sign-in).
DELETE FROM sessions WHERE id_hash = $1;

-- name: drop_expired_sessions
-- Forget sessions that expired before $1.
DELETE FROM sessions WHERE expires_at <= $1;

-- name: add_sign_in_link
-- A one-time sign-in link $1 (sha256 of its token) for the user named $2, until $3.
INSERT INTO sign_in_links (token_hash, user_id, expires_at)
SELECT $1, id, $3 FROM users WHERE name = $2
RETURNING user_id;

-- name: use_sign_in_link
-- Use the link $1 up, if it has not expired by $2: the user it signs in.
DELETE FROM sign_in_links l USING users u
WHERE l.token_hash = $1 AND l.expires_at > $2 AND u.id = l.user_id
RETURNING u.id, u.name, u.role;

-- name: add_sign_in_failure
-- A failed sign-in at $1 as user name $2 from address $3.
INSERT INTO sign_in_failures (at, user_name, address) VALUES ($1, $2, $3);

-- name: sign_in_failures
-- Failed sign-ins since $1 as user name $2, and from address $3.
SELECT (SELECT count(*) FROM sign_in_failures WHERE user_name = $2 AND at >= $1) AS by_name,
       (SELECT count(*) FROM sign_in_failures WHERE address = $3 AND at >= $1) AS by_address;

-- name: forget_sign_in_failures
-- Forget failures before $1 (older than the window they are counted over).
DELETE FROM sign_in_failures WHERE at < $1;

-- name: add_display
-- A display named $1 signed in by the token whose sha256 is $2; no row if the name is taken.
INSERT INTO displays (name, token_hash) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: display_by_token
-- The display whose token's sha256 is $1.
SELECT id, name FROM displays WHERE token_hash = $1;

-- name: list_displays
-- Every display, by name, with how many screens are signed in with it.
SELECT d.name, d.created_at, (SELECT count(*) FROM sessions s WHERE s.display_id = d.id) AS screens
FROM displays d ORDER BY d.name;

-- name: revoke_display
-- Remove the display named $1; every screen signed in with it is signed out.
DELETE FROM displays WHERE name = $1 RETURNING id;

-- name: add_token
-- An API token named $1 with role $2, whose sha256 is $3; no row if the name is taken.
INSERT INTO api_tokens (name, role, token_hash) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: use_token
-- The API token whose sha256 is $1, marked used at $2 (at most once a minute, to spare writes).
WITH found AS (SELECT id, name, role, last_used_at FROM api_tokens WHERE token_hash = $1),
     touched AS (UPDATE api_tokens t SET last_used_at = $2::timestamptz FROM found
                 WHERE t.id = found.id AND (found.last_used_at IS NULL
                                            OR found.last_used_at < $2::timestamptz - interval '1 minute'))
SELECT name, role FROM found;

-- name: list_tokens
-- Every API token, by name (never the token itself).
SELECT name, role, created_at, last_used_at FROM api_tokens ORDER BY name;

-- name: revoke_token
-- Remove the API token named $1.
DELETE FROM api_tokens WHERE name = $1 RETURNING id;

-- name: audit
-- Record that $1 did $2 to $3 from address $4.
INSERT INTO audit_log (actor, action, subject, address) VALUES ($1, $2, $3, $4);

-- name: audit_since
-- What was recorded since $1, oldest first.
SELECT at, actor, action, subject, address FROM audit_log WHERE at >= $1 ORDER BY id;

-- name: live_sessions
-- Which of the sessions $1 (sha256 of their keys) have neither ended nor expired by $2.
SELECT id_hash FROM sessions WHERE id_hash = any($1::bytea[]) AND expires_at > $2;

-- name: prune_audit_log
-- Delete at most $2 entries of the audit log made before $1, oldest first (entries being written
-- are skipped); how many.
WITH chosen AS (
    SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED
)
DELETE FROM audit_log a USING chosen WHERE a.id = chosen.id;
