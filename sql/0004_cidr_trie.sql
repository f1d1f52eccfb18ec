-- The flattened prefix table behind the IP_TRIE dictionary (0006), one row per
-- distinct prefix of all clusters' active CIDRs, per trie version.
--   prefix:  the prefix in one IPv6 space; IPv4 as ::ffff:a.b.c.d/(len+96).
--   entries: `,HEX:R:CIDR,HEX:R:CIDR,...,` one item per cluster that has any
--            prefix covering this one: HEX = hex(cluster_name) (uppercase, so
--            any name is safe), R = rank of the winning type in Cilium's order
--            (1 pod, 2 service, 3 node, 4 remote-node) and CIDR = the most
--            specific prefix of that type (as users write it) covering it.
-- Because every row carries the winners of all the prefixes containing it,
-- the trie's longest match alone answers "first type, most specific prefix"
-- for any cluster. `netmap push` computes it (src/cidr.rs) and writes a new
-- version, then its marker in cidr_trie_versions (0005).
CREATE TABLE IF NOT EXISTS ${database}.cidr_trie ${on_cluster}
(
    version UInt64,
    prefix String,
    entries String
)
ENGINE = ${replicated}MergeTree
ORDER BY (version, prefix);
