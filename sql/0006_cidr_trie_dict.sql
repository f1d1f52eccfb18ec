-- (IP) -> entries of the longest prefix containing it, for every cluster at once.
-- Reloaded by `netmap push` (SYSTEM RELOAD DICTIONARY); a reload swaps
-- atomically and a failed one keeps the old data. An empty trie answers ''.
CREATE DICTIONARY IF NOT EXISTS ${database}.cidr_trie_dict ${on_cluster}
(
    prefix String,
    entries String DEFAULT ''
)
PRIMARY KEY prefix
SOURCE(CLICKHOUSE(QUERY 'SELECT prefix, entries FROM ${database}.cidr_trie WHERE version = (SELECT max(version) FROM ${database}.cidr_trie_versions)'))
LAYOUT(IP_TRIE)
LIFETIME(0);
