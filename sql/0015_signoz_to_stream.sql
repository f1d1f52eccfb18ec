-- netmap: source signoz
-- SigNoz's trace table -> span_stream (applied only with --source signoz).
-- Client and producer spans (kind 3, 4). The cluster is the resource
-- attribute k8s.cluster.name, the caller the resource's service.name.
-- dest: the most human name of the peer, first non-empty of peer.service,
--   server.address, net.peer.name, the host of url.full / http.url, db.name.
-- dest_ip: the socket address, first non-empty of network.peer.address,
--   net.sock.peer.addr, net.peer.ip.
-- protocol: db.system, messaging.system, rpc.system, network.protocol.name,
--   else `http` when the span has an HTTP method or URL, else ''.
-- is_error: status code 2 (error) or has_error.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.signoz_to_stream ${on_cluster}
TO ${database}.span_stream
AS SELECT
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
WHERE s.kind IN (3, 4);
