//! The verdict memo (sql/0022): a block whose peers are memoised gets, row for
//! row, what the rule's views give; an entry is used only for its own peer,
//! only while its generation is the current one (push, push --cluster-domain
//! and apply-schema --refresh-dictionary start a new one), and never by an
//! INSERT that carries a deduplication token, so a batch sent again is still
//! stored once.

use std::collections::BTreeSet;

use netmap::clickhouse::memo;

use crate::parity::{
    cidr_csv, classifier, compare_rows, corpus, expected, expected_rows, fetch_raw, insert_spans, raw_rows_dedup,
    span_rows,
};
use crate::replay::OwnServer;
use crate::{copy_sql, server_url, Db};

/// Apply the project's migrations numbered before `version` (`"0025"`), with `extra`
/// apply-schema flags: a database as an older netmap left it.
fn apply_before(db: &Db, version: &str, extra: &[&str]) {
    let dir = std::env::temp_dir().join(format!("netmap-live-{}-{}", db.name, std::process::id()));
    copy_sql(&dir, Some(version));
    db.apply_schema(&[&["--sql-dir", dir.to_str().unwrap()], extra].concat());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rule's rows for a corpus, then the same peers again under other
/// callers: the second block is all hits and equals the rule row for row.
#[test]
fn memo_hits_equal_the_rule_row_for_row() {
    let Some(db) = Db::fresh("memo_hits") else {
        return;
    };
    db.apply_schema(&[]);
    db.push(&cidr_csv(), &[]);
    let c = classifier();
    let rows = span_rows(&corpus(1500));
    insert_spans(&db, &rows).unwrap();
    compare_rows(&expected_rows(&c, &rows), &raw_rows_dedup(&db));
    // Every peer with a verdict was memoised, once.
    let peers: BTreeSet<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| expected(&c, &r.src, &r.k8s_cluster_name, &r.dest, &r.dest_ip).is_some())
        .map(|r| (r.k8s_cluster_name.as_str(), r.dest.as_str(), r.dest_ip.as_str()))
        .collect();
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), peers.len() as u64);

    db.exec("TRUNCATE TABLE network_raw");
    let again: Vec<_> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.src = format!("again-{}", r.src);
            r.timestamp += 1_000_000_000_000;
            r
        })
        .collect();
    insert_spans(&db, &again).unwrap();
    compare_rows(&expected_rows(&c, &again), &raw_rows_dedup(&db));
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), peers.len() as u64, "no peer classified again");
}

/// Insert one span from `src` to `dest_ip` in cluster prod; `settings` is
/// an INSERT's SETTINGS clause or empty.
fn span(db: &Db, src: &str, dest_ip: &str, settings: &str) {
    db.exec(&format!(
        "INSERT INTO spans (timestamp, k8s_cluster_name, src, dest, dest_ip) {settings} \
         VALUES ('2024-05-01 12:00:00', 'prod', '{src}', '', '{dest_ip}')"
    ));
}

/// (kind, matched_type, hint) of src's rows.
fn verdicts(db: &Db, src: &str) -> Vec<(String, String, String)> {
    fetch_raw(db, &format!("WHERE src = '{src}'")).into_iter().map(|r| (r.kind, r.matched_type, r.hint)).collect()
}

/// Store a made-up verdict (world, hint `documentation`) for prod's peer `ip`: `h2` and
/// `generation` as given, the right ones when `None`.
fn poison(db: &Db, ip: &str, h2: Option<u64>, generation: Option<u64>) {
    let g = generation.unwrap_or_else(|| db.rt.block_on(memo::generation(&db.ch)).unwrap());
    let h2 = h2.map_or_else(|| format!("farmFingerprint64('prod', '', '{ip}')"), |h| h.to_string());
    db.exec(&format!(
        "INSERT INTO verdict_memo SELECT cityHash64('prod', '', '{ip}'), ({h2}, {g}, 'world', '', '', 'documentation')"
    ));
}

fn poisoned() -> Vec<(String, String, String)> {
    vec![("world".into(), String::new(), "documentation".into())]
}

fn pod() -> Vec<(String, String, String)> {
    vec![("pod".into(), "pod_cidr".into(), String::new())]
}

/// A planted entry shows which way a span went: the memo (the planted
/// verdict) or the rule's views (the true one).
#[test]
fn memo_entries_are_used_only_while_current() {
    let Some(db) = Db::fresh("memo_rules") else {
        return;
    };
    db.apply_schema(&[]);
    let cidrs = "cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n";
    db.push(cidrs, &[]);
    let g1 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert!(g1 > 0, "a push starts a generation");

    span(&db, "first", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "first"), pod());
    // The entry is used: a planted verdict comes back.
    poison(&db, "10.244.1.1", None, None);
    span(&db, "hit", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "hit"), poisoned());
    // Not by an INSERT with a deduplication token.
    span(&db, "token", "10.244.1.1", "SETTINGS insert_deduplication_token = 'tok-1'");
    assert_eq!(verdicts(&db, "token"), pod());
    // Not for another peer whose first hash clashes (the second differs).
    poison(&db, "10.244.1.1", Some(12345), None);
    span(&db, "clash", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "clash"), pod());
    // Not from an older generation.
    poison(&db, "10.244.1.1", None, Some(g1 - 1));
    span(&db, "old", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "old"), pod());

    // A push of other CIDRs starts a new generation and empties the memo.
    poison(&db, "10.244.1.1", None, None);
    db.push("cluster_name,network_type,cidr_block\nprod,node_cidr,10.244.0.0/16\n", &[]);
    let g2 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert_eq!(g2, g1 + 1);
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 0);
    span(&db, "pushed", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "pushed"), vec![("node".into(), "node_cidr".into(), String::new())]);
    // So do a cluster domain and a dictionary refresh.
    poison(&db, "10.244.1.1", None, None);
    db.push(cidrs, &["--cluster-domain", "corp.internal"]);
    span(&db, "domain", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "domain"), pod());
    let g3 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert!(g3 > g2);
    poison(&db, "10.244.1.1", None, None);
    db.apply_schema(&["--refresh-dictionary"]);
    span(&db, "refreshed", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "refreshed"), pod());
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), g3 + 1);
}

/// A push that changes nothing keeps the memo (sql/0023): the dictionary
/// already serves what it would reload, so the generation and the entries
/// stay, and are used. The same cluster domain pushed again keeps it too; a
/// change of either starts a new generation.
#[test]
fn a_push_that_changes_nothing_keeps_the_memo() {
    let Some(db) = Db::fresh("memo_keep") else {
        return;
    };
    db.apply_schema(&[]);
    let cidrs = "cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n";
    db.push(cidrs, &[]);
    let g1 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    span(&db, "first", "10.244.1.1", "");
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 1);

    let err = db.push(cidrs, &[]);
    assert!(err.contains("trie already current; dictionary already serves it (verdict memo kept)"), "{err}");
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), g1);
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 1, "the entry is kept");
    poison(&db, "10.244.1.1", None, None);
    span(&db, "kept", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "kept"), poisoned(), "and used");

    // A cluster domain: the first push of one reloads, the same again does not.
    db.push(cidrs, &["--cluster-domain", "corp.internal"]);
    let g2 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert_eq!(g2, g1 + 1);
    poison(&db, "10.244.1.1", None, None);
    db.push(cidrs, &["--cluster-domain", "corp.internal"]);
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), g2);
    span(&db, "same-domain", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "same-domain"), poisoned());
    // Another domain, the CIDRs the same: the domain dictionary is reloaded.
    db.push(cidrs, &["--cluster-domain", "other.internal"]);
    let g3 = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert_eq!(g3, g2 + 1);
    span(&db, "other-domain", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "other-domain"), pod());

    // Other CIDRs: a new trie, reloaded, a new generation.
    let err = db.push("cluster_name,network_type,cidr_block\nprod,node_cidr,10.244.0.0/16\n", &[]);
    assert!(err.contains("; dictionary reloaded"), "{err}");
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), g3 + 1);
    span(&db, "changed", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "changed"), vec![("node".into(), "node_cidr".into(), String::new())]);
}

/// A batch sent again with its token is stored once, although the first
/// attempt memoised its peers (the second would otherwise go the memo's way
/// and its rows would carry another dependent-block token).
#[test]
fn a_batch_sent_again_with_its_token_is_stored_once() {
    let Some(db) = Db::fresh("memo_retry") else {
        return;
    };
    db.apply_schema(&[]);
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    let settings =
        "SETTINGS insert_deduplication_token = 'batch-1', deduplicate_blocks_in_dependent_materialized_views = 1";
    span(&db, "a", "10.244.7.7", settings);
    assert!(db.rt.block_on(memo::entries(&db.ch)).unwrap() > 0, "the first attempt memoised its peer");
    span(&db, "a", "10.244.7.7", settings);
    assert_eq!(db.count("SELECT count() FROM spans"), 1);
    assert_eq!(db.count("SELECT count() FROM network_raw"), 1);
    assert_eq!(db.count("SELECT sum(calls) FROM network_connections"), 1);
}

/// A server restart empties the memo (it lives in memory) and starts again at
/// generation 0; spans are classified by the rule's views and memoised again.
#[test]
fn a_restart_empties_the_memo() {
    if server_url().is_none() {
        return;
    }
    let server = OwnServer::start("memo-restart");
    let db = server.db("netmap_t_memo_restart");
    db.apply_schema(&[]);
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    span(&db, "before", "10.244.1.1", "");
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 1);
    server.stop();
    server.restart();
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), 0);
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 0);
    span(&db, "after", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "after"), pod());
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 1);
    // Generation 0's entries are used until the next push.
    poison(&db, "10.244.1.1", None, None);
    span(&db, "hit", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "hit"), poisoned());
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), 1);
    span(&db, "pushed", "10.244.1.1", "");
    assert_eq!(verdicts(&db, "pushed"), pod());
}

/// A full memo (1,000,000 entries, its generation's among them) takes no
/// more: a new peer is classified by the rule's views every time, and
/// correctly.
#[test]
fn a_full_memo_takes_no_more_peers() {
    let Some(db) = Db::fresh("memo_full") else { return };
    db.apply_schema(&[]);
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    db.exec("INSERT INTO verdict_memo SELECT number + 1, (0, 0, 'world', '', '', '') FROM numbers(999998)");
    span(&db, "last", "10.244.1.1", "");
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 999_999, "the last place taken");
    span(&db, "full-1", "10.244.2.2", "");
    span(&db, "full-2", "10.244.2.2", "");
    assert_eq!(verdicts(&db, "full-1"), pod());
    assert_eq!(verdicts(&db, "full-2"), pod());
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 999_999, "not memoised");
}

/// sql/0024 on a database that has run sql/0022's memo (schema at 0023, rows
/// in network_raw, the memo filled): the rows read the same after the
/// verdict columns became Enum8s, the new memo starts one generation above
/// the old one, the old memo's tables and views are gone, and spans are
/// classified as the rule says, through the new memo.
#[test]
fn verdict_enums_upgrade_keeps_rows_and_the_generation() {
    let Some(db) = Db::fresh("memo_upgrade") else { return };
    apply_before(&db, "0024", &[]);
    let old_memo = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'peer_memo'";
    assert_eq!(db.count(old_memo), 1);
    db.push(&cidr_csv(), &[]);
    let rows = span_rows(&corpus(300));
    insert_spans(&db, &rows).unwrap();
    let before = raw_rows_dedup(&db);
    let want = expected_rows(&classifier(), &rows);
    compare_rows(&want, &before);
    let g = db.rt.block_on(memo::generation(&db.ch)).unwrap();
    assert!(g >= 1, "a push starts a generation");
    assert!(db.rt.block_on(memo::entries(&db.ch)).unwrap() > 0);

    db.apply_schema(&[]);
    let enums = "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'network_raw' \
                 AND name IN ('kind', 'matched_type', 'hint') AND startsWith(type, 'Enum8(')";
    assert_eq!(db.count(enums), 3);
    assert_eq!(raw_rows_dedup(&db), before, "the same rows, read as text");
    assert_eq!(db.rt.block_on(memo::generation(&db.ch)).unwrap(), g + 1);
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), 0, "the new memo starts empty");
    let old = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN \
               ('peer_memo', 'memo_stream', 'memo_probe_mv', 'memo_hit_mv', 'classify_misses_mv', 'memo_fill_mv', \
               'classify_lookup_memo_mv')";
    assert_eq!(db.count(old), 0);

    // Classified again, then from the new memo, as the rule says.
    db.exec("TRUNCATE TABLE network_raw");
    insert_spans(&db, &rows).unwrap();
    assert!(db.rt.block_on(memo::entries(&db.ch)).unwrap() > 0);
    compare_rows(&want, &raw_rows_dedup(&db));
    let memoised = db.rt.block_on(memo::entries(&db.ch)).unwrap();
    db.exec("TRUNCATE TABLE network_raw");
    insert_spans(&db, &rows).unwrap();
    compare_rows(&want, &raw_rows_dedup(&db));
    assert_eq!(db.rt.block_on(memo::entries(&db.ch)).unwrap(), memoised, "no peer classified again");
}

/// The views that read `table` (in db's database unless `database.table`), sorted.
fn views_on(db: &Db, table: &str) -> Vec<String> {
    let (d, t) = table.split_once('.').unwrap_or((&db.name, table));
    let q = format!(
        "SELECT arrayJoin(arraySort(dependencies_table)) FROM system.tables WHERE database = '{d}' AND name = '{t}'"
    );
    db.rt.block_on(db.ch.run("test", db.ch.server_client().query_raw(&q).fetch_all::<String>())).unwrap()
}

/// Insert into SigNoz's `table` one client span from `src` to `dest_ip` in
/// cluster prod; `settings` is an INSERT's SETTINGS clause or empty.
fn signoz_span(db: &Db, table: &str, src: &str, dest_ip: &str, settings: &str) {
    db.exec_server(&format!(
        "INSERT INTO {table} (timestamp, kind, resources_string, attributes_string) {settings} \
         VALUES ('2024-05-01 12:00:00', 3, map('k8s.cluster.name', 'prod', 'service.name', '{src}'), \
         map('network.peer.address', '{dest_ip}'))"
    ));
}

/// sql/0025 and 0026, on a database with SigNoz's source that ran sql/0024:
/// each feeder (netmap's spans, SigNoz's table, and span_stream for other
/// sources) now looks the memo up itself, one view less on a block's way;
/// through each, a memoised peer takes its entry (a planted verdict comes
/// back), an INSERT with a deduplication token takes the rule's views, and
/// every span is counted once.
#[test]
fn every_feeder_probes_the_memo_itself() {
    let Some(db) = Db::fresh("memo_feeders") else { return };
    let table = crate::parity::signoz_table(&db);
    let signoz = ["--source", "signoz", "--signoz-table", table.as_str()];
    apply_before(&db, "0025", &signoz);
    assert_eq!(views_on(&db, &table), ["signoz_to_stream"]);
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    db.apply_schema(&signoz);

    assert_eq!(views_on(&db, "spans"), ["spans_probe_mv"]);
    assert_eq!(views_on(&db, &table), ["signoz_probe_mv"]);
    assert_eq!(views_on(&db, "span_stream"), ["span_stream_probe_mv"]);
    assert_eq!(views_on(&db, "probed_spans"), ["probed_hits_mv", "probed_misses_mv"]);
    let old = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN \
               ('spans_to_stream', 'signoz_to_stream', 'probe_mv')";
    assert_eq!(db.count(old), 0);

    let insert = |feeder: &str, src: &str, ip: &str, settings: &str| match feeder {
        "spans" => span(&db, src, ip, settings),
        "span_stream" => db.exec(&format!(
            "INSERT INTO span_stream (timestamp, k8s_cluster_name, src, dest, dest_ip) {settings} \
             VALUES ('2024-05-01 12:00:00', 'prod', '{src}', '', '{ip}')"
        )),
        _ => signoz_span(&db, &table, src, ip, settings),
    };
    for (n, feeder) in ["spans", "span_stream", "signoz"].into_iter().enumerate() {
        let ip = format!("10.244.7.{n}");
        insert(feeder, &format!("{feeder}-first"), &ip, "");
        assert_eq!(verdicts(&db, &format!("{feeder}-first")), pod(), "{feeder}");
        poison(&db, &ip, None, None);
        insert(feeder, &format!("{feeder}-hit"), &ip, "");
        assert_eq!(verdicts(&db, &format!("{feeder}-hit")), poisoned(), "{feeder}");
        let token = format!("SETTINGS insert_deduplication_token = 'tok-{feeder}'");
        insert(feeder, &format!("{feeder}-token"), &ip, &token);
        assert_eq!(verdicts(&db, &format!("{feeder}-token")), pod(), "{feeder}");
    }
    assert_eq!(db.count("SELECT count() FROM network_raw"), 9, "each span once");
    db.exec_server(&format!("DROP DATABASE IF EXISTS {}_src SYNC", db.name));
}

/// SigNoz's source added to a database applied without it: sql/0015 and
/// sql/0026 apply together, so SigNoz's table feeds the probe directly: a
/// memoised peer takes its entry (a planted verdict comes back), and each
/// span is counted once.
#[test]
fn signoz_added_later_feeds_the_probe_directly() {
    let Some(db) = Db::fresh("memo_signoz_later") else { return };
    db.apply_schema(&[]);
    db.push("cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n", &[]);
    let table = crate::parity::signoz_table(&db);
    db.apply_schema(&["--source", "signoz", "--signoz-table", &table]);
    assert_eq!(views_on(&db, &table), ["signoz_probe_mv"]);
    signoz_span(&db, &table, "first", "10.244.3.3", "");
    assert_eq!(verdicts(&db, "first"), pod());
    poison(&db, "10.244.3.3", None, None);
    signoz_span(&db, &table, "second", "10.244.3.3", "");
    assert_eq!(verdicts(&db, "second"), poisoned());
    assert_eq!(db.count("SELECT count() FROM network_raw"), 2, "each span once");
    db.exec_server(&format!("DROP DATABASE IF EXISTS {}_src SYNC", db.name));
}

/// An upgrade that leaves --signoz-table out does not move a database to
/// another SigNoz table (sql/0026 builds its view on the table given and drops
/// the view that read the one before): apply-schema names the table the
/// database reads, exits 2 and applies nothing.
#[test]
fn an_upgrade_keeps_the_signoz_table_it_had() {
    let Some(db) = Db::fresh("memo_signoz_table") else { return };
    let table = crate::parity::signoz_table(&db);
    apply_before(&db, "0025", &["--source", "signoz", "--signoz-table", &table]);
    let o = db.netmap(&["apply-schema", "--source", "signoz"], None);
    assert_eq!(o.status.code(), Some(2), "{}", crate::stderr(&o));
    let want =
        format!("view signoz_to_stream reads {table}, not signoz_traces.signoz_index_v3: give --signoz-table {table}");
    assert!(crate::stderr(&o).contains(&want), "{}", crate::stderr(&o));
    assert_eq!(views_on(&db, &table), ["signoz_to_stream"], "nothing applied");
    let probe = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'spans_probe_mv'";
    assert_eq!(db.count(probe), 0, "nothing applied");
    db.apply_schema(&["--source", "signoz", "--signoz-table", &table]);
    assert_eq!(views_on(&db, &table), ["signoz_probe_mv"]);
    db.exec_server(&format!("DROP DATABASE IF EXISTS {}_src SYNC", db.name));
}
