-- The platform's database: one schema and one login role per service; a role can touch only its
-- own schema (it owns it; nobody else has USAGE). Idempotent: safe to run on every `make up`.
-- psql variables: dbname, password, services (comma separated).
\set ON_ERROR_STOP on
SELECT format('CREATE DATABASE %I', :'dbname') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname')\gexec
\connect :"dbname"
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', s)
  FROM unnest(string_to_array(:'services', ',')) AS s WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = s)\gexec
SELECT format('ALTER ROLE %I PASSWORD %L', s, :'password') FROM unnest(string_to_array(:'services', ',')) AS s\gexec
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', s, s) FROM unnest(string_to_array(:'services', ',')) AS s\gexec
SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s) FROM unnest(string_to_array(:'services', ',')) AS s\gexec
SELECT format('ALTER ROLE %I SET search_path = %I', s, s) FROM unnest(string_to_array(:'services', ',')) AS s\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'dbname', s) FROM unnest(string_to_array(:'services', ',')) AS s\gexec
