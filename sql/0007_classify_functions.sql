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

-- parse_v6_zoned's zone: `addr%zone` -> addr; `addr%` (empty zone) -> ''.
CREATE OR REPLACE FUNCTION ${database}_unzone ${on_cluster} AS (x) -> if(
    position(x, '%') = 0,
    x,
    if(position(x, '%') < length(x), substring(x, 1, position(x, '%') - 1), ''));

-- parse_ip, `[...]` branch: `[v6]` or `[v6]:port`.
CREATE OR REPLACE FUNCTION ${database}_bracket_ok ${on_cluster} AS (s) ->
    position(s, ']') > 0
    AND (position(s, ']') = length(s)
         OR (substring(s, position(s, ']') + 1, 1) = ':' AND ${database}_is_port(substring(s, position(s, ']') + 2))));

-- parse_ip, `ipv4:port` branch applies: the text after the first `:` is a port.
CREATE OR REPLACE FUNCTION ${database}_has_port ${on_cluster} AS (s) ->
    position(s, ':') > 0 AND ${database}_is_port(substring(s, position(s, ':') + 1));

-- parse_ip, step 1 of 2, on a trimmed string: the text that must be an
-- address, and which family it may be ('6': IPv6 only, from `[...]` or a
-- zone; '4': IPv4 only, from `ipv4:port`; 'a': either). '' is never one.
CREATE OR REPLACE FUNCTION ${database}_ip_text ${on_cluster} AS (s) -> multiIf(
    startsWith(s, '['), if(${database}_bracket_ok(s), ${database}_unzone(substring(s, 2, position(s, ']') - 2)), ''),
    position(s, '%') > 0, ${database}_unzone(s),
    ${database}_has_port(s), substring(s, 1, position(s, ':') - 1),
    s);
CREATE OR REPLACE FUNCTION ${database}_ip_family ${on_cluster} AS (s) -> multiIf(
    startsWith(s, '[') OR position(s, '%') > 0, '6',
    ${database}_has_port(s), '4',
    'a');

-- parse_ip, step 2 of 2: the address as an IPv6 value (IPv4 as
-- ::ffff:a.b.c.d, which is also canonical()'s unmapping), or NULL.
CREATE OR REPLACE FUNCTION ${database}_ip_of ${on_cluster} AS (text, family) -> multiIf(
    family = '6', if(${database}_is_v6(text), toIPv6OrNull(text), NULL),
    family = '4', if(${database}_is_v4(text), toIPv6OrNull(text), NULL),
    ${database}_is_v4(text) OR (position(text, ':') > 0 AND ${database}_is_v6(text)), toIPv6OrNull(text),
    NULL);

-- parse_peer, URL branch: the host of the authority after the first `://`
-- (userinfo up to the last `@` dropped; ends at `/`, `?` or `#`).
CREATE OR REPLACE FUNCTION ${database}_url_host ${on_cluster} AS (t) ->
    extract(t, '://(?:[^/?#]*@)?([^/?#@]*)');

-- is_dns_name: 1-253 characters; labels of 1-63 of [A-Za-z0-9_-], not
-- starting or ending with `-`; the last label not all digits.
CREATE OR REPLACE FUNCTION ${database}_is_dns_name ${on_cluster} AS (h) ->
    length(h) BETWEEN 1 AND 253
    AND match(h, '^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$')
    AND NOT match(h, '(^|\\.)[0-9]+$');

-- parse_peer, name branch (the view applies them in this order to the
-- host: the URL's host or the trimmed peer): `host:port` -> host; one
-- trailing dot dropped; lowercased when a valid DNS name, '' when invalid.
CREATE OR REPLACE FUNCTION ${database}_strip_port ${on_cluster} AS (h) ->
    if(position(h, ':') > 0 AND ${database}_is_port(substring(h, position(h, ':') + 1)), substring(h, 1, position(h, ':') - 1), h);
CREATE OR REPLACE FUNCTION ${database}_strip_dot ${on_cluster} AS (h) ->
    if(endsWith(h, '.'), substring(h, 1, length(h) - 1), h);
CREATE OR REPLACE FUNCTION ${database}_valid_name ${on_cluster} AS (h) ->
    if(${database}_is_dns_name(h), lower(h), '');

-- classify_name: localhost -> loopback; one label, *.svc, *.cluster.local ->
-- service; any other valid name -> world (hostname); '' (invalid) -> world (invalid).
CREATE OR REPLACE FUNCTION ${database}_name_verdict ${on_cluster} AS (n) -> multiIf(
    n = '', ('world', '', '', 'invalid'),
    n = 'localhost', ('loopback', '', '', ''),
    position(n, '.') = 0 OR endsWith(n, '.svc') OR endsWith(n, '.cluster.local'), ('service', '', '', ''),
    ('world', '', '', 'hostname'));

-- From here on an address is n = toUInt128(address): IPv4 is
-- 0xffff_a.b.c.d (::ffff:a.b.c.d), so integer tests replace range tests.
-- Loopback (127/8, ::1) or unspecified (0.0.0.0, ::).
CREATE OR REPLACE FUNCTION ${database}_is_loopback ${on_cluster} AS (n) ->
    n = 0 OR n = 1
    OR (bitShiftRight(n, 32) = 0xffff AND (bitShiftRight(bitAnd(n, 0xffffffff), 24) = 127 OR bitAnd(n, 0xffffffff) = 0));

-- hint_for_ip, same ranges, same order: IPv4 (a = the address as UInt32) ...
CREATE OR REPLACE FUNCTION ${database}_in4 ${on_cluster} AS (a, lo, hi) ->
    a >= IPv4StringToNum(lo) AND a <= IPv4StringToNum(hi);
CREATE OR REPLACE FUNCTION ${database}_hint4 ${on_cluster} AS (a) -> multiIf(
    bitShiftRight(a, 24) = 10, 'private',
    ${database}_in4(a, '172.16.0.0', '172.31.255.255'), 'private',
    ${database}_in4(a, '192.168.0.0', '192.168.255.255'), 'private',
    ${database}_in4(a, '100.64.0.0', '100.127.255.255'), 'shared',
    a = IPv4StringToNum('169.254.169.254'), 'cloud-metadata',
    ${database}_in4(a, '169.254.0.0', '169.254.255.255'), 'link-local',
    ${database}_in4(a, '224.0.0.0', '239.255.255.255'), 'multicast',
    ${database}_in4(a, '192.0.2.0', '192.0.2.255'), 'documentation',
    ${database}_in4(a, '198.51.100.0', '198.51.100.255'), 'documentation',
    ${database}_in4(a, '203.0.113.0', '203.0.113.255'), 'documentation',
    bitShiftRight(a, 24) = 0, 'reserved',
    bitShiftRight(a, 24) >= 240, 'reserved',
    'public');
-- ... and IPv6 (n as above): fd00:ec2::254, fc00::/7, fe80::/10, ff00::/8, 2001:db8::/32.
CREATE OR REPLACE FUNCTION ${database}_hint6 ${on_cluster} AS (n) -> multiIf(
    n = toUInt128(toIPv6('fd00:ec2::254')), 'cloud-metadata',
    bitShiftRight(n, 121) = 0x7e, 'unique-local',
    bitShiftRight(n, 118) = 0x3fa, 'link-local',
    bitShiftRight(n, 120) = 0xff, 'multicast',
    bitShiftRight(n, 96) = 0x20010db8, 'documentation',
    'public');
CREATE OR REPLACE FUNCTION ${database}_hint ${on_cluster} AS (n) ->
    if(bitShiftRight(n, 32) = 0xffff, ${database}_hint4(toUInt32(bitAnd(n, 0xffffffff))), ${database}_hint6(n));

-- The cluster's item `R:CIDR` in a trie row's entries, or ''; needle is
-- `,HEX:` with HEX = hex(cluster) (see sql/0004).
CREATE OR REPLACE FUNCTION ${database}_entry_at ${on_cluster} AS (entries, needle) -> if(
    position(entries, needle) = 0,
    '',
    substring(entries,
              position(entries, needle) + length(needle),
              position(entries, ',', position(entries, needle) + length(needle)) - position(entries, needle) - length(needle)));

-- The one dictionary lookup: the entries of the longest prefix containing k.
CREATE OR REPLACE FUNCTION ${database}_trie_entries ${on_cluster} AS (k) ->
    dictGet('${database}.cidr_trie_dict', 'entries', k);

-- classify_ip after loopback: the cluster's winner `R:CIDR`, else world with a hint.
CREATE OR REPLACE FUNCTION ${database}_entry_verdict ${on_cluster} AS (e, n) -> if(
    e = '',
    ('world', '', '', ${database}_hint(n)),
    (['pod', 'service', 'node', 'remote-node'][toUInt8OrZero(substring(e, 1, 1))],
     ['pod_cidr', 'service_cidr', 'node_cidr', 'remote_node_cidr'][toUInt8OrZero(substring(e, 1, 1))],
     substring(e, 3),
     ''));
