-- Run once by the postgres image, on an empty data directory, as the bootstrap superuser
-- (POSTGRES_USER, which Temporal also uses to create its own `temporal` and
-- `temporal_visibility` databases). CloudManager gets its own database, owned by a role that is
-- not a superuser (it runs the migrations), and the application connects as
-- `cloudmanager_app`, which owns nothing. Passwords: POSTGRES_PASSWORD and APP_DB_PASSWORD, read
-- from the container's environment by psql (\getenv needs psql 15 or later).

\set ON_ERROR_STOP on
\getenv app_password POSTGRES_PASSWORD
\getenv runtime_password APP_DB_PASSWORD

SELECT format('CREATE ROLE cloudmanager LOGIN PASSWORD %L', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudmanager')
\gexec

SELECT 'CREATE DATABASE cloudmanager OWNER cloudmanager ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'cloudmanager')
\gexec

SELECT format('CREATE ROLE cloudmanager_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'runtime_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudmanager_app')
\gexec

REVOKE ALL ON DATABASE cloudmanager FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE cloudmanager TO cloudmanager;
GRANT CONNECT ON DATABASE cloudmanager TO cloudmanager_app;
