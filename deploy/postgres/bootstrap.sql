-- One schema and one login role per service in the current database; a role can touch only its
-- own schema (it owns it; nobody else has USAGE). Idempotent: safe to run on every start.
-- Reads two settings the caller sets first in the same session (each role its own password):
--   SET medaid.services = 'wallet,relationship,payment,clearing';
--   SET medaid.passwords = '{"wallet": "...", "relationship": "...", ...}';
DO $bootstrap$
DECLARE
    svc text;
    db  text := current_database();
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    FOREACH svc IN ARRAY string_to_array(current_setting('medaid.services'), ',') LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', svc);
        END IF;
        IF coalesce(current_setting('medaid.passwords')::jsonb ->> svc, '') = '' THEN
            RAISE EXCEPTION 'no password for role % in medaid.passwords', svc;
        END IF;
        EXECUTE format('ALTER ROLE %I PASSWORD %L', svc, current_setting('medaid.passwords')::jsonb ->> svc);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, svc);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', svc, db, svc);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, svc);
    END LOOP;
END
$bootstrap$;
