-- netmap: source signoz
-- sql/0025 for SigNoz's trace table: the memo's probe moves into the view
-- that reads it, so a SigNoz span goes through one view less per INSERT:
--
--   before: ${signoz_table} -> signoz_to_stream -> span_stream -> span_stream_probe_mv -> probed_spans
--   after:  ${signoz_table} -> signoz_probe_mv -> probed_spans
--
-- The inner SELECT is sql/0015's, unchanged (which spans, and how dest,
-- dest_ip and protocol are read from their attributes); the outer one is
-- sql/0025's probe. Created before signoz_to_stream is dropped: an INSERT in
-- that instant may be counted twice, none is lost.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.signoz_probe_mv ${on_cluster}
TO ${database}.probed_spans
AS WITH ${database}_memo_entry(k8s_cluster_name, dest, dest_ip) AS m
SELECT
    timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind,
    tupleElement(m, 4) AS matched_type,
    tupleElement(m, 5) AS matched_cidr,
    tupleElement(m, 6) AS hint,
    ${database}_memo_hit(m, k8s_cluster_name, dest, dest_ip) AS hit
FROM
(
    SELECT
        s.timestamp AS timestamp,
        s.resources_string['k8s.cluster.name'] AS k8s_cluster_name,
        s.resources_string['service.name'] AS src,
        multiIf(
            s.attributes_string['peer.service'] != '', s.attributes_string['peer.service'],
            s.attributes_string['server.address'] != '', s.attributes_string['server.address'],
            s.attributes_string['net.peer.name'] != '', s.attributes_string['net.peer.name'],
            s.attributes_string['url.full'] != '', ${database}_url_host(${database}_trim(s.attributes_string['url.full'])),
            s.attributes_string['http.url'] != '', ${database}_url_host(${database}_trim(s.attributes_string['http.url'])),
            s.attributes_string['db.name']) AS dest,
        multiIf(
            s.attributes_string['network.peer.address'] != '', s.attributes_string['network.peer.address'],
            s.attributes_string['net.sock.peer.addr'] != '', s.attributes_string['net.sock.peer.addr'],
            s.attributes_string['net.peer.ip']) AS dest_ip,
        multiIf(
            s.attributes_string['db.system'] != '', s.attributes_string['db.system'],
            s.attributes_string['messaging.system'] != '', s.attributes_string['messaging.system'],
            s.attributes_string['rpc.system'] != '', s.attributes_string['rpc.system'],
            s.attributes_string['network.protocol.name'] != '', s.attributes_string['network.protocol.name'],
            s.attributes_string['http.request.method'] != '' OR s.attributes_string['http.method'] != ''
                OR s.attributes_string['url.full'] != '' OR s.attributes_string['http.url'] != '', 'http',
            '') AS protocol,
        s.duration_nano AS duration_ns,
        toUInt8(s.status_code = 2 OR s.has_error) AS is_error
    FROM ${signoz_table} AS s
    WHERE s.kind IN (3, 4)
);
DROP VIEW IF EXISTS ${database}.signoz_to_stream ${on_cluster} SYNC;
