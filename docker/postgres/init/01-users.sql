-- Users for the compose stack: the simulator's user ids (u000001 .. u001000 with its default
-- --users 1000), so the enrichment's join finds a profile. The table has the columns the users
-- CDC creates (usersMapping() in src/connectors/postgres/users-cdc.ts; a unit test compares them);
-- the CDC adds its change table and trigger at start and publishes these rows in its snapshot.
CREATE TABLE IF NOT EXISTS users (id text PRIMARY KEY, name text, email text, tier text, updated_at timestamptz NOT NULL DEFAULT now());

INSERT INTO users (id, name, email, tier)
SELECT 'u' || lpad(n::text, 6, '0'),
       'User ' || n,
       'user' || n || '@example.com',
       (ARRAY['free', 'plus', 'pro'])[1 + n % 3]
FROM generate_series(1, 1000) AS n
ON CONFLICT (id) DO NOTHING;
