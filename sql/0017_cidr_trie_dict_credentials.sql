-- The trie dictionary of 0006 again, now logging its source query in with
-- the connection's own user and password (issue 7).
--
-- A ClickHouse dictionary source authenticates its query like any client,
-- even when it runs inside the server. Without USER/PASSWORD it logs in as
-- `default` with an empty password: on a server where `default` has a
-- password every dictionary load failed, and with it every insert through
-- the views (classify_spans calls dictGet) and every `netmap push` (which
-- reloads the dictionary).
--
-- The dictionary_auth placeholder below renders `USER '<user>' PASSWORD
-- '<password>'` from the connection apply-schema uses (CLICKHOUSE_USER, CLICKHOUSE_PASSWORD; no
-- PASSWORD when none is set). The server keeps them in the dictionary's
-- definition and shows the password as [HIDDEN] in SHOW CREATE and system
-- tables; netmap never prints it (apply-schema --dry-run shows [HIDDEN]).
-- After a password change, `netmap apply-schema --refresh-dictionary`
-- creates the dictionary again with the current credentials.
--
-- Same structure, source query and layout as 0006; CREATE OR REPLACE swaps
-- it in place (the views refer to it by name).
CREATE OR REPLACE DICTIONARY ${database}.cidr_trie_dict ${on_cluster}
(
    prefix String,
    entries String DEFAULT ''
)
PRIMARY KEY prefix
SOURCE(CLICKHOUSE(QUERY 'SELECT prefix, entries FROM ${database}.cidr_trie WHERE version = (SELECT max(version) FROM ${database}.cidr_trie_versions)' ${dictionary_auth}))
LAYOUT(IP_TRIE)
LIFETIME(0);
