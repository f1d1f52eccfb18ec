-- The classification rule in SQL: src/rule.rs (Classifier::classify_span),
-- statement for statement. The live parity tests (tests/live) prove the two
-- agree row for row, garbage included. Every function here is total: only
-- non-throwing functions (match, extract, position, toIPv6OrNull), so one bad
-- row can never fail an insert.
--
-- The steps are put together, in rule.rs's order, by the view that applies
-- them (0010_classify_spans.sql): ClickHouse expands a SQL function at every
-- use of a parameter, so the view computes each step once as a column and
-- passes columns on (one function calling another with a big argument
-- makes the query tree explode).
--
-- User-defined functions are global in ClickHouse, so each name carries the
-- database (`netmap_ip_verdict` for the database `netmap`): two netmap
-- databases on one server never share or overwrite each other's rule.
-- An address is an IPv6 value throughout; IPv4 is ::ffff:a.b.c.d, the same
-- unified space as src/cidr.rs and the IP_TRIE dictionary.

-- str::trim: Unicode White_Space at both ends. Fast path: a string starting
-- and ending with printable ASCII is returned as is, without a regex.
CREATE OR REPLACE FUNCTION ${database}_trim ${on_cluster} AS (s) -> if(
    s = '' OR (substring(s, 1, 1) > ' ' AND substring(s, 1, 1) < '\x7F' AND substring(s, -1, 1) > ' ' AND substring(s, -1, 1) < '\x7F'),
    s,
    replaceRegexpAll(s, '^[\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]+|[\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]+$', ''));

-- is_port: 1-5 ASCII digits, at most 65535.
CREATE OR REPLACE FUNCTION ${database}_is_port ${on_cluster} AS (p) ->
    match(p, '^[0-9]{1,5}$') AND toUInt32OrZero(p) <= 65535;

-- Ipv4Addr::from_str: four decimal octets 0-255, no leading zeros.
CREATE OR REPLACE FUNCTION ${database}_is_v4 ${on_cluster} AS (s) ->
    match(s, '^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}$');

-- Ipv6Addr::from_str: 8 groups of 1-4 hex digits, or fewer around one `::`
-- (which stands for at least one group); an embedded IPv4 only as the last
-- two groups; no zone, no brackets.
CREATE OR REPLACE FUNCTION ${database}_is_v6 ${on_cluster} AS (s) ->
    match(s, '^(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){6}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|::(?:(?:[0-9A-Fa-f]{1,4}:){0,5}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?)|[0-9A-Fa-f]{1,4}::(?:(?:[0-9A-Fa-f]{1,4}:){0,4}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){1}::(?:(?:[0-9A-Fa-f]{1,4}:){0,3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,4})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){2}::(?:(?:[0-9A-Fa-f]{1,4}:){0,2}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,3})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){3}::(?:(?:[0-9A-Fa-f]{1,4}:){0,1}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,2})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){4}::(?:(?:[0-9A-Fa-f]{1,4}:){0,0}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,1})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){5}::(?:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,0})?)|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){6}::)$');

-- parse_v6_zoned: `addr%zone` (zone non-empty) or `addr`, IPv6 only.
CREATE OR REPLACE FUNCTION ${database}_v6_zoned ${on_cluster} AS (s) -> if(
    position(s, '%') = 0,
    if(${database}_is_v6(s), toIPv6OrNull(s), NULL),
    if(position(s, '%') < length(s) AND ${database}_is_v6(substring(s, 1, position(s, '%') - 1)),
       toIPv6OrNull(substring(s, 1, position(s, '%') - 1)), NULL));

-- parse_ip, `[...]` branch; `rest` is what follows the `[`:
-- `[v6]` or `[v6]:port`, the address optionally zoned.
CREATE OR REPLACE FUNCTION ${database}_ip_bracketed ${on_cluster} AS (rest) -> if(
    position(rest, ']') > 0
        AND (position(rest, ']') = length(rest)
             OR (substring(rest, position(rest, ']') + 1, 1) = ':' AND ${database}_is_port(substring(rest, position(rest, ']') + 2)))),
    ${database}_v6_zoned(substring(rest, 1, position(rest, ']') - 1)),
    NULL);

-- parse_ip on a trimmed string: [v6](:port), an IP, a zoned IPv6, ipv4:port.
CREATE OR REPLACE FUNCTION ${database}_ip_key_trimmed ${on_cluster} AS (s) -> multiIf(
    startsWith(s, '['), ${database}_ip_bracketed(substring(s, 2)),
    ${database}_is_v4(s) OR (position(s, ':') > 0 AND ${database}_is_v6(s)), toIPv6OrNull(s),
    position(s, '%') > 0, ${database}_v6_zoned(s),
    position(s, ':') > 0
        AND ${database}_is_port(substring(s, position(s, ':') + 1))
        AND ${database}_is_v4(substring(s, 1, position(s, ':') - 1)),
        toIPv6OrNull(substring(s, 1, position(s, ':') - 1)),
    NULL);

-- parse_ip: the address as an IPv6 value (IPv4 as ::ffff:a.b.c.d), or NULL.
CREATE OR REPLACE FUNCTION ${database}_ip_key ${on_cluster} AS (s) -> ${database}_ip_key_trimmed(${database}_trim(s));

-- parse_peer, URL branch: the host of the authority after the first `://`
-- (userinfo up to the last `@` dropped; ends at `/`, `?` or `#`).
CREATE OR REPLACE FUNCTION ${database}_url_host ${on_cluster} AS (t) ->
    extract(t, '://(?:[^/?#]*@)?([^/?#@]*)');

-- parse_peer, URL branch: the address in a URL's host, or NULL.
CREATE OR REPLACE FUNCTION ${database}_url_ip ${on_cluster} AS (t) ->
    if(position(t, '://') > 0, ${database}_ip_key(${database}_url_host(t)), NULL);

-- is_dns_name: 1-253 characters; labels of 1-63 of [A-Za-z0-9_-], not
-- starting or ending with `-`; the last label not all digits.
CREATE OR REPLACE FUNCTION ${database}_is_dns_name ${on_cluster} AS (h) ->
    length(h) BETWEEN 1 AND 253
    AND match(h, '^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$')
    AND NOT match(h, '(^|\\.)[0-9]+$');

-- parse_peer, name branch, on a trimmed peer string that is not an address:
-- URL -> host; `host:port` -> host; one trailing dot dropped; lowercased
-- when a valid DNS name, '' when invalid.
CREATE OR REPLACE FUNCTION ${database}_host_of ${on_cluster} AS (t) ->
    if(position(t, '://') > 0, ${database}_url_host(t), t);
CREATE OR REPLACE FUNCTION ${database}_strip_port ${on_cluster} AS (h) ->
    if(position(h, ':') > 0 AND ${database}_is_port(substring(h, position(h, ':') + 1)), substring(h, 1, position(h, ':') - 1), h);
CREATE OR REPLACE FUNCTION ${database}_strip_dot ${on_cluster} AS (h) ->
    if(endsWith(h, '.'), substring(h, 1, length(h) - 1), h);
CREATE OR REPLACE FUNCTION ${database}_valid_name ${on_cluster} AS (h) ->
    if(${database}_is_dns_name(h), lower(h), '');
CREATE OR REPLACE FUNCTION ${database}_name ${on_cluster} AS (t) ->
    ${database}_valid_name(${database}_strip_dot(${database}_strip_port(${database}_host_of(t))));

-- classify_name: localhost -> loopback; one label, *.svc, *.cluster.local ->
-- service; any other valid name -> world (hostname); '' (invalid) -> world (invalid).
CREATE OR REPLACE FUNCTION ${database}_name_verdict ${on_cluster} AS (n) -> multiIf(
    n = '', ('world', '', '', 'invalid'),
    n = 'localhost', ('loopback', '', '', ''),
    position(n, '.') = 0 OR endsWith(n, '.svc') OR endsWith(n, '.cluster.local'), ('service', '', '', ''),
    ('world', '', '', 'hostname'));

-- Loopback (127/8, ::1) or unspecified (0.0.0.0, ::).
CREATE OR REPLACE FUNCTION ${database}_is_loopback ${on_cluster} AS (k) ->
    k = toIPv6('::1') OR k = toIPv6('::') OR k = toIPv6('::ffff:0.0.0.0')
    OR (k >= toIPv6('::ffff:127.0.0.0') AND k <= toIPv6('::ffff:127.255.255.255'));

-- hint_for_ip, same ranges, same order.
CREATE OR REPLACE FUNCTION ${database}_in ${on_cluster} AS (k, lo, hi) -> k >= toIPv6(lo) AND k <= toIPv6(hi);
CREATE OR REPLACE FUNCTION ${database}_hint ${on_cluster} AS (k) -> multiIf(
    ${database}_in(k, '::ffff:10.0.0.0', '::ffff:10.255.255.255'), 'private',
    ${database}_in(k, '::ffff:172.16.0.0', '::ffff:172.31.255.255'), 'private',
    ${database}_in(k, '::ffff:192.168.0.0', '::ffff:192.168.255.255'), 'private',
    ${database}_in(k, '::ffff:100.64.0.0', '::ffff:100.127.255.255'), 'shared',
    k = toIPv6('::ffff:169.254.169.254'), 'cloud-metadata',
    ${database}_in(k, '::ffff:169.254.0.0', '::ffff:169.254.255.255'), 'link-local',
    ${database}_in(k, '::ffff:224.0.0.0', '::ffff:239.255.255.255'), 'multicast',
    ${database}_in(k, '::ffff:192.0.2.0', '::ffff:192.0.2.255'), 'documentation',
    ${database}_in(k, '::ffff:198.51.100.0', '::ffff:198.51.100.255'), 'documentation',
    ${database}_in(k, '::ffff:203.0.113.0', '::ffff:203.0.113.255'), 'documentation',
    ${database}_in(k, '::ffff:0.0.0.0', '::ffff:0.255.255.255'), 'reserved',
    ${database}_in(k, '::ffff:240.0.0.0', '::ffff:255.255.255.255'), 'reserved',
    k = toIPv6('fd00:ec2::254'), 'cloud-metadata',
    ${database}_in(k, 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'unique-local',
    ${database}_in(k, 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'link-local',
    ${database}_in(k, 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'multicast',
    ${database}_in(k, '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), 'documentation',
    'public');

-- The cluster's item `R:CIDR` in a trie row's entries, or ''.
CREATE OR REPLACE FUNCTION ${database}_entry_at ${on_cluster} AS (entries, needle) -> if(
    position(entries, needle) = 0,
    '',
    substring(entries,
              position(entries, needle) + length(needle),
              position(entries, ',', position(entries, needle) + length(needle)) - position(entries, needle) - length(needle)));

-- One dictionary lookup: the cluster's winner for the longest prefix containing k.
CREATE OR REPLACE FUNCTION ${database}_trie_entry ${on_cluster} AS (k, cluster) ->
    ${database}_entry_at(dictGet('${database}.cidr_trie_dict', 'entries', k), concat(',', hex(cluster), ':'));

CREATE OR REPLACE FUNCTION ${database}_entry_verdict ${on_cluster} AS (e, k) -> if(
    e = '',
    ('world', '', '', ${database}_hint(k)),
    (['pod', 'service', 'node', 'remote-node'][toUInt8OrZero(substring(e, 1, 1))],
     ['pod_cidr', 'service_cidr', 'node_cidr', 'remote_node_cidr'][toUInt8OrZero(substring(e, 1, 1))],
     substring(e, 3),
     ''));

-- classify_ip: loopback/unspecified, else the cluster's own CIDRs, else world.
CREATE OR REPLACE FUNCTION ${database}_ip_verdict ${on_cluster} AS (k, cluster) -> if(
    ${database}_is_loopback(k),
    ('loopback', '', '', ''),
    ${database}_entry_verdict(${database}_trie_entry(k, cluster), k));

