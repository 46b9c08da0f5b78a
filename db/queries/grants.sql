-- Least privilege in PostgreSQL (`callboard db grant`, db/grants.py, docs/security.md): group roles
-- without login, what each may do, and login users in them. Every block is safe to run again.

-- name: create_roles
-- The group roles, made unless they exist.
DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['callboard_migrator', 'callboard_ingest', 'callboard_dashboard', 'callboard_alerts']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role);
        END IF;
    END LOOP;
END
$$;

-- name: grant_privileges
-- Who owns what and who may do what, on every table, view, sequence and function of the schema
-- as it is now (run again after a migration).
DO $$
DECLARE
    -- The tables the dashboard writes: alert acknowledgements, and sign-in's sessions, one-time
    -- links, failed attempts, audit log, tokens' last use and passwords' rehashing.
    dashboard_writes text[] := ARRAY['alerts', 'alert_events', 'notifications', 'sessions', 'sign_in_links',
                                     'sign_in_failures', 'audit_log', 'api_tokens', 'users'];
    -- The tables the dashboard deletes from: sessions ended and expired, one-time links used,
    -- failed attempts forgotten, and the audit log's entries past their keep period.
    dashboard_deletes text[] := ARRAY['sessions', 'sign_in_links', 'sign_in_failures', 'audit_log'];
    -- The tables the alert service writes: the alerts, their state changes and the outbox.
    alerts_writes text[] := ARRAY['alerts', 'alert_events', 'notifications'];
    -- The key of the callers' numbers' hashes: whoever reads it can tell which number a hash is of.
    hash_key text := 'caller_hash_key';
    -- The tables partitioned by time, whose days and months the ingest makes (and drops).
    partitioned_by_ingest text[] := ARRAY['event_log'] || ARRAY(SELECT parent FROM monthly_tables);
    object record;
BEGIN
    -- callboard_migrator owns the schema and everything in it but the tables partitioned by time
    -- (the event log by day, the monthly tables by month), which the ingest owns: it makes their
    -- days and months, and drops old days. The migrator acts as the ingest too.
    EXECUTE format('ALTER SCHEMA public OWNER TO callboard_migrator');
    GRANT callboard_ingest TO callboard_migrator;
    FOR object IN
        SELECT c.relname AS name, c.relkind AS kind,
               c.relname = ANY(partitioned_by_ingest)
                   OR coalesce(p.inhparent::regclass::text = ANY(partitioned_by_ingest), false) AS by_ingest
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_inherits p ON p.inhrelid = c.oid
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO %I', object.name,
                       CASE WHEN object.by_ingest THEN 'callboard_ingest' ELSE 'callboard_migrator' END);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure AS signature, p.proname AS name
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO callboard_migrator', object.signature);
    END LOOP;
    -- Each day's table of the event log is made by the ingest, as the ingest, whoever logs in for it.
    ALTER FUNCTION event_log_partition(date) OWNER TO callboard_ingest;
    ALTER FUNCTION event_log_partition(date) SECURITY DEFINER SET search_path = public, pg_temp;

    GRANT USAGE ON SCHEMA public TO callboard_ingest, callboard_dashboard, callboard_alerts;
    GRANT CREATE ON SCHEMA public TO callboard_ingest;  -- the event log's days
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM callboard_ingest, callboard_dashboard, callboard_alerts;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM callboard_ingest, callboard_dashboard, callboard_alerts;

    -- Everyone reads the floor, the figures and the alerts; only the ingest reads the hash key.
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO callboard_ingest, callboard_dashboard, callboard_alerts;
    EXECUTE format('REVOKE SELECT ON %I FROM callboard_dashboard, callboard_alerts', hash_key);
    -- The ingest writes the event log and every table derived from it: all but the alerts' and
    -- the dashboard's own.
    FOR object IN
        SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND c.relname <> ALL (dashboard_writes || alerts_writes || ARRAY[hash_key, 'schema_migrations'])
    LOOP
        EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I TO callboard_ingest', object.name);
    END LOOP;
    FOR object IN SELECT unnest(dashboard_writes) AS name LOOP
        EXECUTE format('GRANT INSERT, UPDATE ON %I TO callboard_dashboard', object.name);
    END LOOP;
    FOR object IN SELECT unnest(dashboard_deletes) AS name LOOP
        EXECUTE format('GRANT DELETE ON %I TO callboard_dashboard', object.name);
    END LOOP;
    FOR object IN SELECT unnest(alerts_writes) AS name LOOP
        EXECUTE format('GRANT INSERT, UPDATE ON %I TO callboard_alerts', object.name);
    END LOOP;
    -- The id sequences of the tables each writes.
    FOR object IN
        SELECT s.relname AS name, t.relname AS table_name
        FROM pg_class s
        JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_namespace n ON n.oid = s.relnamespace
        WHERE n.nspname = 'public' AND s.relkind = 'S'
    LOOP
        IF object.table_name = ANY(dashboard_writes) THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %I TO callboard_dashboard', object.name);
        END IF;
        IF object.table_name = ANY(alerts_writes) THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %I TO callboard_alerts', object.name);
        END IF;
        IF NOT object.table_name = ANY(dashboard_writes || alerts_writes) THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE %I TO callboard_ingest', object.name);
        END IF;
    END LOOP;
END
$$;

-- name: login_user
-- The statements that make login user $1 a member of group role $2 with password $3: made if
-- missing, else given the password (quoted by format, never by hand).
SELECT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = $1::text)
            THEN format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $3::text)
            ELSE format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $3::text) END AS make,
       format('GRANT %I TO %I', $2::text, $1::text) AS membership;

-- name: roles_exist
-- Whether every one of the group roles $1 exists (`callboard db grant` has been run on this server).
SELECT count(*) = cardinality($1::text[]) FROM pg_roles WHERE rolname = any($1::text[]);
