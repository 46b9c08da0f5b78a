-- Every session that ends (signed out, replaced at sign-in, dropped once expired, its user or
-- display removed, its user's password changed) is announced on callboard_sessions: the sha256 of
-- its key in hex, comma-separated, at most 100 to a payload (PostgreSQL refuses 8,000 bytes). Each
-- dashboard process stops pushing to that session's pages on hearing it, without asking the
-- database before each push (dashboard/session_watch.py). A statement trigger with the deleted rows
-- as a table, so that removing a display with a hundred screens signed in sends one or two payloads.
CREATE FUNCTION announce_ended_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    hashes text;
BEGIN
    FOR hashes IN
        SELECT string_agg(encode(id_hash, 'hex'), ',')
        FROM (SELECT id_hash, (row_number() OVER () - 1) / 100 AS part FROM ended) numbered
        GROUP BY part
    LOOP
        PERFORM pg_notify('callboard_sessions', hashes);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
REFERENCING OLD TABLE AS ended
FOR EACH STATEMENT EXECUTE FUNCTION announce_ended_sessions();
