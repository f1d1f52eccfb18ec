-- What each dictionary served when netmap last reloaded it: a push that
-- changes nothing leaves the verdict memo (sql/0022) as it is.
--
-- Until this migration every push reloaded its dictionary and started a new
-- memo generation, also when it changed nothing: with the CronJob pushing
-- every 10 minutes, every writer's next INSERTs classified all their peers
-- again. Now src/clickhouse/memo.rs (`refresh_dictionary`) reads the
-- version of the dictionary's source first (the trie's newest version; the
-- cluster domains a dictionary load would read, as text), and
-- reloads and starts a new generation only when it differs from the one
-- stored here. After a reload and a new generation it stores that version.
--
-- Why skipping is safe: a version v stored here was read before a reload
-- that succeeded, so the dictionary serves v or newer, and the memo's
-- generation was started after that reload. If the source still reads v,
-- no reload could change what the dictionary serves, so the memo's entries
-- are as good as after one. When the source has moved on, or nothing is
-- stored, the push reloads as before.
--
-- In memory like the memo (persistent = 0): after a server restart nothing
-- is stored, and the first push reloads. `apply-schema --refresh-dictionary`
-- always reloads. A dictionary reloaded by hand (SYSTEM RELOAD DICTIONARY)
-- is still not seen (sql/0022).
CREATE TABLE IF NOT EXISTS ${database}.memo_dictionaries ${on_cluster}
(
    dictionary String,
    source_version String
)
ENGINE = Join(ANY, LEFT, dictionary)
SETTINGS join_any_take_last_row = 1, persistent = 0;
