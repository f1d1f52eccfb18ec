//! `netmap collect-cidrs` against a real HTTP server on 127.0.0.1 that
//! answers like a Kubernetes API server, reached by the real kube-rs client
//! in the real `netmap` binary through a generated kubeconfig.
//!
//! The server serves the external fixtures (a kind cluster's Nodes and
//! CiliumNodes, Calico IPPools) as API list responses — items without
//! `kind`/`apiVersion`, paginated with `continue` tokens — plus our own
//! ServiceCIDRs, kubeadm-config and cilium-config, and answers some
//! resources with 403 (forbidden) and 404 (API group not installed, plain
//! text like a real API server) to prove those are warnings, not failures.
//! The dry-run probe gets a 422 Status worded like the API server's.
//! Also here: the `deploy/` manifests parse and grant only reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/external");

/// A canned answer: status, body, content type.
#[derive(Clone)]
struct Answer(u16, String, &'static str);

fn ok(v: Value) -> Answer {
    Answer(200, v.to_string(), "application/json")
}

/// A Kubernetes `Status` error body.
fn status(code: u16, reason: &str, message: &str) -> Answer {
    let body = json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message": message, "reason": reason, "code": code});
    Answer(code, body.to_string(), "application/json")
}

/// What a real API server answers for an API group it does not serve.
fn not_served() -> Answer {
    Answer(404, "404 page not found\n".into(), "text/plain; charset=utf-8")
}

/// The fake API server: canned answers keyed by `METHOD /path` (plus
/// `?continue=TOKEN` for later pages), and a log of every request.
#[derive(Default)]
struct Fake {
    routes: HashMap<String, Answer>,
    log: Mutex<Vec<String>>,
}

async fn handle(State(fake): State<Arc<Fake>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let query = uri.query().unwrap_or("");
    fake.log.lock().unwrap().push(format!("{method} {uri} {}", String::from_utf8_lossy(&body)));
    let cont = query.split('&').find_map(|kv| kv.strip_prefix("continue=")).map(|t| format!("?continue={t}")).unwrap_or_default();
    let key = format!("{method} {}{cont}", uri.path());
    // A POST may be answered per requested clusterIP: `POST /path#192.0.2.1`.
    let ip = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["spec"]["clusterIP"].as_str().map(str::to_string));
    let by_ip = ip.and_then(|ip| fake.routes.get(&format!("{key}#{ip}")));
    let Answer(code, body, ctype) = by_ip.or_else(|| fake.routes.get(&key)).cloned().unwrap_or_else(not_served);
    (StatusCode::from_u16(code).unwrap(), [("content-type", ctype)], body).into_response()
}

/// Start the server on 127.0.0.1:0 in its own thread; returns its URL.
fn start(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = fake.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(handle).with_state(state);
            axum::serve(l, app).await.unwrap();
        });
    });
    (format!("http://{addr}"), fake)
}

/// A scratch directory under the target dir, fresh per test.
fn workdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-kube").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A kubeconfig with two contexts on `server`: `kind-east` (current) and
/// `other` (namespace `probe-ns`).
fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         contexts:\n- name: kind-east\n  context:\n    cluster: fake\n    user: nobody\n\
         - name: other\n  context:\n    cluster: fake\n    user: nobody\n    namespace: probe-ns\n\
         current-context: kind-east\nusers:\n- name: nobody\n  user: {{}}\n"
    );
    let p = dir.join("kubeconfig");
    std::fs::write(&p, text).unwrap();
    p
}

/// Run the real binary with only `kubeconfig` to find a cluster.
fn netmap(dir: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netmap"))
        .arg("collect-cidrs")
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", dir)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("NETMAP_CLUSTER_NAME")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(o: &Output) -> String {
    format!("status {:?}\n--- stdout\n{}--- stderr\n{}", o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// Fixture objects of `kind`, as API list items (no kind/apiVersion).
fn fixture_items(file: &str, kind: &str) -> Option<Vec<Value>> {
    let path = Path::new(FIXTURES).join(file);
    if !path.exists() {
        println!("skipped: {} is absent", path.display());
        return None;
    }
    let objs = netmap::input::kubectl::read_objects(&path).unwrap();
    Some(
        objs.into_iter()
            .filter(|o| o["kind"] == kind)
            .map(|mut o| {
                let m = o.as_object_mut().unwrap();
                m.remove("kind");
                m.remove("apiVersion");
                o
            })
            .collect(),
    )
}

fn list(api_version: &str, kind: &str, items: &[Value], cont: Option<&str>) -> Value {
    let mut meta = json!({"resourceVersion": "1000"});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({"apiVersion": api_version, "kind": format!("{kind}List"), "metadata": meta, "items": items})
}

fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"kube-system"},"data":data})
}

const KUBEADM_CLUSTER_CONFIGURATION: &str = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n\
kubernetesVersion: v1.24.4\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16,fd00:10:244::/56\n  serviceSubnet: 10.96.0.0/12,fd00:10:96::/112\n";

/// Nodes of the dual-stack kind fixture, served in two pages.
fn add_nodes(routes: &mut HashMap<String, Answer>) -> Option<()> {
    let nodes = fixture_items("cilium-controlplane/dualstack-v1.24-init.yaml", "Node")?;
    assert_eq!(nodes.len(), 3);
    routes.insert("GET /api/v1/nodes".into(), ok(list("v1", "Node", &nodes[..2], Some("page-2"))));
    routes.insert("GET /api/v1/nodes?continue=page-2".into(), ok(list("v1", "Node", &nodes[2..], None)));
    Some(())
}

#[test]
fn collect_cidrs_reads_every_source_and_survives_403_and_404() {
    let mut routes = HashMap::new();
    if add_nodes(&mut routes).is_none() {
        return;
    }
    let Some(mut pools) = fixture_items("projectcalico-calico/calico-lb-pools.yaml", "IPPool") else { return };
    let Some(more) = fixture_items("projectcalico-calico/confd-cluster_routes-default-input.yaml", "IPPool") else { return };
    pools.extend(more);
    routes.insert(
        "GET /apis/networking.k8s.io/v1/servicecidrs".into(),
        ok(list("networking.k8s.io/v1", "ServiceCIDR", &[json!({"metadata":{"name":"kubernetes"},
            "spec":{"cidrs":["10.96.0.0/12","fd00:10:96::/112"]}})], None)),
    );
    routes.insert(
        "GET /api/v1/namespaces/kube-system/configmaps/kubeadm-config".into(),
        ok(configmap("kubeadm-config", json!({"ClusterConfiguration": KUBEADM_CLUSTER_CONFIGURATION}))),
    );
    routes.insert(
        "GET /api/v1/namespaces/kube-system/configmaps/cilium-config".into(),
        ok(configmap("cilium-config", json!({"cluster-name":"east","cluster-id":"1","ipam":"cluster-pool",
            "cluster-pool-ipv4-cidr":"10.244.0.0/16","cluster-pool-ipv4-mask-size":"24"}))),
    );
    // RBAC says no to CiliumNodes: a warning, the run goes on.
    routes.insert(
        "GET /apis/cilium.io/v2/ciliumnodes".into(),
        status(403, "Forbidden", "ciliumnodes.cilium.io is forbidden: User \"system:serviceaccount:netmap:netmap\" cannot list resource \"ciliumnodes\" in API group \"cilium.io\" at the cluster scope"),
    );
    // No Calico CRD group (plain-text 404); the aggregated v3 API serves the pools.
    routes.insert("GET /apis/projectcalico.org/v3/ippools".into(), ok(list("projectcalico.org/v3", "IPPool", &pools, None)));
    let (url, fake) = start(Fake { routes, ..Default::default() });
    let dir = workdir("every-source");
    let kc = kubeconfig(&dir, &url);

    let out = netmap(&dir, &kc, &["-o", "csv"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "\
cluster_name,network_type,cidr_block,source
east,pod_cidr,10.244.0.0/16,configmap/kube-system/kubeadm-config networking.podSubnet; configmap/kube-system/cilium-config cluster-pool-ipv4-cidr
east,pod_cidr,10.244.0.0/24,node/dual-stack-control-plane spec.podCIDRs
east,pod_cidr,10.244.1.0/24,node/dual-stack-worker spec.podCIDRs
east,pod_cidr,10.244.2.0/24,node/dual-stack-worker2 spec.podCIDRs
east,pod_cidr,172.16.0.0/16,ippool/ippoolv4-2 spec.cidr
east,pod_cidr,172.17.0.0/16,ippool/ippoolv4-3 spec.cidr
east,pod_cidr,192.168.0.0/16,ippool/ippoolv4-1 spec.cidr
east,pod_cidr,2002::/64,ippool/ippoolv6-1 spec.cidr
east,pod_cidr,2010::/64,ippool/ippoolv6-2 spec.cidr
east,pod_cidr,fd00:10:244::/56,configmap/kube-system/kubeadm-config networking.podSubnet
east,pod_cidr,fd00:10:244::/64,node/dual-stack-control-plane spec.podCIDRs
east,pod_cidr,fd00:10:244:1::/64,node/dual-stack-worker spec.podCIDRs
east,pod_cidr,fd00:10:244:2::/64,node/dual-stack-worker2 spec.podCIDRs
east,service_cidr,10.96.0.0/12,servicecidr/kubernetes spec.cidrs; configmap/kube-system/kubeadm-config networking.serviceSubnet
east,service_cidr,fd00:10:96::/112,servicecidr/kubernetes spec.cidrs; configmap/kube-system/kubeadm-config networking.serviceSubnet
east,node_cidr,172.18.0.3/32,node/dual-stack-control-plane InternalIP
east,node_cidr,172.18.0.4/32,node/dual-stack-worker InternalIP
east,node_cidr,172.18.0.5/32,node/dual-stack-worker2 InternalIP
east,node_cidr,fc00:f853:ccd:e793::3/128,node/dual-stack-control-plane InternalIP
east,node_cidr,fc00:f853:ccd:e793::4/128,node/dual-stack-worker InternalIP
east,node_cidr,fc00:f853:ccd:e793::5/128,node/dual-stack-worker2 InternalIP
"
    );
    let stderr = text(&out.stderr);
    for want in [
        &format!("netmap: reading {url}/ via kubeconfig {} (context kind-east)", kc.display()),
        "netmap: read nodes: 3, servicecidrs.networking.k8s.io: 1, configmap/kube-system/kubeadm-config, configmap/kube-system/cilium-config, ippools.projectcalico.org: 7",
        "netmap: warning: skipped cilium.io/v2 ciliumnodes: forbidden: ciliumnodes.cilium.io is forbidden: User \"system:serviceaccount:netmap:netmap\" cannot list resource \"ciliumnodes\" in API group \"cilium.io\" at the cluster scope (needs list on ciliumnodes.cilium.io)",
        "netmap: skipped ippool/lb-pool-v4 spec.cidr 80.15.0.0/24: allowedUses [LoadBalancer] has no Workload, so it is not a pod range",
        "netmap: skipped ippool/lb-pool-v6 spec.cidr fdff::/64: allowedUses [LoadBalancer] has no Workload, so it is not a pod range",
        "netmap: cluster name \"east\" from configmap/kube-system/cilium-config cluster-name",
        "netmap: 21 CIDRs for cluster \"east\": 13 pod_cidr, 2 service_cidr, 6 node_cidr",
    ] {
        assert!(stderr.lines().any(|l| l == want), "missing stderr line {want:?}\n{}", show(&out));
    }
    // Only the Calico CRD group's absence is silent (the v3 API served the pools).
    assert!(!stderr.contains("not served"), "{stderr}");

    // Reads only: every request was a GET, and the node list was paginated.
    let log = fake.log.lock().unwrap().clone();
    assert!(log.iter().all(|l| l.starts_with("GET ")), "{log:#?}");
    assert!(log.iter().any(|l| l.starts_with("GET /api/v1/nodes?") && l.contains("continue=page-2")), "{log:#?}");

    // The CSV is what `netmap push` / `classify --cidrs` read back, sources included.
    let back = netmap::cidr::read_cidr_text(&stdout, "collected.csv").unwrap();
    assert_eq!(back.len(), 21);
    assert_eq!(back[0].source, "configmap/kube-system/kubeadm-config networking.podSubnet; configmap/kube-system/cilium-config cluster-pool-ipv4-cidr");
    assert!(back.iter().all(|r| r.cluster_name == "east" && r.is_active));

    // --cluster-name wins over cilium-config; --summarize merges the worker nodes.
    let out = netmap(&dir, &kc, &["-o", "jsonl", "--cluster-name", "prod-east", "--summarize"]);
    assert!(out.status.success(), "{}", show(&out));
    let rows: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let nodes: Vec<&str> = rows.iter().filter(|r| r["network_type"] == "node_cidr").map(|r| r["cidr_block"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["172.18.0.3/32", "172.18.0.4/31", "fc00:f853:ccd:e793::3/128", "fc00:f853:ccd:e793::4/127"]);
    assert!(rows.iter().all(|r| r["cluster_name"] == "prod-east"));
    assert!(text(&out.stderr).contains("netmap: cluster name \"prod-east\" from --cluster-name"));

    // Cluster mesh: west (offline) is meshed with east (the file written above).
    std::fs::write(dir.join("east.csv"), &stdout).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netmap"))
        .args(["collect-cidrs", "--from", "-", "--cluster-name", "west", "--mesh-peer", "east.csv", "-o", "csv"])
        .current_dir(&dir)
        .stdin(std::fs::File::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubectl/west-nodes.json")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let remote: Vec<String> = text(&out.stdout).lines().filter(|l| l.contains("remote_node_cidr")).map(str::to_string).collect();
    assert_eq!(
        remote,
        [
            "west,remote_node_cidr,172.18.0.3/32,mesh-peer/east node/dual-stack-control-plane InternalIP",
            "west,remote_node_cidr,172.18.0.4/32,mesh-peer/east node/dual-stack-worker InternalIP",
            "west,remote_node_cidr,172.18.0.5/32,mesh-peer/east node/dual-stack-worker2 InternalIP",
            "west,remote_node_cidr,fc00:f853:ccd:e793::3/128,mesh-peer/east node/dual-stack-control-plane InternalIP",
            "west,remote_node_cidr,fc00:f853:ccd:e793::4/128,mesh-peer/east node/dual-stack-worker InternalIP",
            "west,remote_node_cidr,fc00:f853:ccd:e793::5/128,mesh-peer/east node/dual-stack-worker2 InternalIP",
        ]
    );
}

#[test]
fn collect_cidrs_probes_the_service_range_with_a_dry_run() {
    let mut routes = HashMap::new();
    if add_nodes(&mut routes).is_none() {
        return;
    }
    // Nothing else names a range: no ServiceCIDR API (Status 404), no ConfigMaps, no Cilium, no Calico.
    for v in ["v1", "v1beta1"] {
        routes.insert(
            format!("GET /apis/networking.k8s.io/{v}/servicecidrs"),
            status(404, "NotFound", "the server could not find the requested resource"),
        );
    }
    for cm in ["kubeadm-config", "cilium-config"] {
        routes.insert(
            format!("GET /api/v1/namespaces/kube-system/configmaps/{cm}"),
            status(404, "NotFound", &format!("configmaps \"{cm}\" not found")),
        );
    }
    // The context `other` has namespace probe-ns; the probe creates there (dry-run).
    routes.insert(
        "POST /api/v1/namespaces/probe-ns/services#2001:db8::1".into(),
        status(422, "Invalid", "Service \"netmap-service-cidr-probe\" is invalid: spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster"),
    );
    routes.insert(
        "POST /api/v1/namespaces/probe-ns/services#192.0.2.1".into(),
        status(422, "Invalid", "Service \"netmap-service-cidr-probe\" is invalid: spec.clusterIPs: Invalid value: []string{\"192.0.2.1\"}: failed to allocate IP 192.0.2.1: the provided IP (192.0.2.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
    );
    let (url, fake) = start(Fake { routes, ..Default::default() });
    let dir = workdir("probe");
    let kc = kubeconfig(&dir, &url);

    let out = netmap(&dir, &kc, &["--context", "other", "--probe-service-cidr", "-o", "csv"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\nother,service_cidr,10.96.0.0/12,probe: dry-run Service clusterIP 192.0.2.1 rejected\n"),
        "{}",
        show(&out)
    );
    let stderr = text(&out.stderr);
    for want in [
        "netmap: warning: skipped servicecidrs.networking.k8s.io: not served by this cluster (tried networking.k8s.io/v1, networking.k8s.io/v1beta1; last answer: the server could not find the requested resource (404))",
        "netmap: warning: skipped configmap kube-system/kubeadm-config: not found: configmaps \"kubeadm-config\" not found (404)",
        "netmap: warning: skipped ciliumnodes.cilium.io: not served by this cluster (tried cilium.io/v2; last answer: 404 page not found (404))",
        "netmap: warning: skipped ippools.crd.projectcalico.org, ippools.projectcalico.org: not served by this cluster (tried crd.projectcalico.org/v1, projectcalico.org/v3; last answer: 404 page not found (404))",
        "netmap: cluster name \"other\" from the kubeconfig context",
    ] {
        assert!(stderr.lines().any(|l| l == want), "missing stderr line {want:?}\n{}", show(&out));
    }
    // A single-stack cluster refuses the IPv6 probe without a range: said, not fatal.
    assert!(
        stderr.lines().any(|l| l == "netmap: probe IPv6: no service range in the answer (422): Service \"netmap-service-cidr-probe\" is invalid: spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster"),
        "{stderr}"
    );

    // Every write was a dry run with an out-of-range address; nothing else was written.
    let log = fake.log.lock().unwrap().clone();
    let posts: Vec<&String> = log.iter().filter(|l| !l.starts_with("GET ")).collect();
    assert_eq!(posts.len(), 2, "{log:#?}");
    for p in &posts {
        assert!(p.starts_with("POST /api/v1/namespaces/probe-ns/services?") && p.contains("dryRun=All"), "{p}");
    }
    assert!(posts[0].contains("\"clusterIP\":\"192.0.2.1\""), "{}", posts[0]);
    assert!(posts[1].contains("\"clusterIP\":\"2001:db8::1\""), "{}", posts[1]);

    // Without --probe-service-cidr nothing is posted, and the gap is said.
    let before = fake.log.lock().unwrap().len();
    let out = netmap(&dir, &kc, &["-o", "csv"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!text(&out.stdout).contains("service_cidr"));
    assert!(text(&out.stderr).contains("netmap: warning: no source named the service range; --probe-service-cidr can learn it"));
    assert!(fake.log.lock().unwrap()[before..].iter().all(|l| l.starts_with("GET ")));
}

#[test]
fn collect_cidrs_falls_back_to_service_cidr_v1beta1() {
    let mut routes = HashMap::new();
    routes.insert(
        "GET /api/v1/nodes".into(),
        ok(list("v1", "Node", &[json!({"metadata":{"name":"solo"},"spec":{"podCIDR":"10.1.0.0/24"},
            "status":{"addresses":[{"type":"ExternalIP","address":"203.0.113.7"}]}})], None)),
    );
    routes.insert(
        "GET /apis/networking.k8s.io/v1beta1/servicecidrs".into(),
        ok(list("networking.k8s.io/v1beta1", "ServiceCIDR", &[json!({"metadata":{"name":"kubernetes"},"spec":{"cidrs":["10.2.0.0/16"]}})], None)),
    );
    let (url, _fake) = start(Fake { routes, ..Default::default() });
    let dir = workdir("v1beta1");
    let kc = kubeconfig(&dir, &url);
    let out = netmap(&dir, &kc, &["-o", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows,
        json!([
            {"cluster_name":"kind-east","network_type":"pod_cidr","cidr_block":"10.1.0.0/24","source":"node/solo spec.podCIDR"},
            {"cluster_name":"kind-east","network_type":"service_cidr","cidr_block":"10.2.0.0/16","source":"servicecidr/kubernetes spec.cidrs"},
            {"cluster_name":"kind-east","network_type":"node_cidr","cidr_block":"203.0.113.7/32","source":"node/solo ExternalIP"}
        ])
    );
}

#[test]
fn collect_cidrs_fails_clearly_without_a_cluster() {
    let dir = workdir("no-cluster");
    // No kubeconfig file and no in-cluster environment: both sources named.
    let out = netmap(&dir, &dir.join("missing-kubeconfig"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("netmap: no Kubernetes cluster found; tried the kubeconfig ("), "{stderr}");
    assert!(stderr.contains("missing-kubeconfig"), "{stderr}");
    assert!(stderr.contains("the in-cluster service account (KUBERNETES_SERVICE_HOST"), "{stderr}");
    assert!(stderr.contains("give --kubeconfig FILE, --context NAME or --in-cluster"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A server that is down: one line with its URL, exit 2.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let kc = kubeconfig(&dir, &format!("http://127.0.0.1:{port}"));
    let out = netmap(&dir, &kc, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with(&format!("netmap: kubernetes API at http://127.0.0.1:{port}/: list v1 nodes: ")), "{stderr}");

    // --in-cluster outside a pod says what it looked for.
    let out = netmap(&dir, &kc, &["--in-cluster"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).starts_with("netmap: cannot use the in-cluster service account"), "{}", show(&out));
}

/// Every YAML document under `deploy/`.
fn deploy_docs() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for obj in netmap::input::kubectl::read_objects(&f).unwrap_or_else(|e| panic!("{e}")) {
            out.push((name.clone(), obj));
        }
    }
    out
}

#[test]
fn deploy_manifests_parse_and_grant_only_reads() {
    let docs = deploy_docs();
    let kinds: Vec<String> = docs.iter().map(|(f, o)| format!("{f} {}", o["kind"].as_str().unwrap())).collect();
    for want in ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "CronJob"] {
        assert!(kinds.iter().any(|k| k.ends_with(&format!(" {want}"))), "no {want} in deploy/: {kinds:?}");
    }
    let reads = ["get", "list", "watch"];
    for (file, o) in &docs {
        let kind = o["kind"].as_str().unwrap();
        if kind != "ClusterRole" && kind != "Role" {
            continue;
        }
        let name = o["metadata"]["name"].as_str().unwrap();
        for rule in o["rules"].as_array().unwrap() {
            let verbs: Vec<&str> = rule["verbs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let resources: Vec<&str> = rule["resources"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            assert!(!verbs.contains(&"*") && !resources.contains(&"*"), "{file} {kind}/{name}: wildcard in {rule}");
            for v in &verbs {
                if reads.contains(v) {
                    continue;
                }
                // The one write: the opt-in probe's dry-run Service create, in its own Role.
                assert!(
                    *v == "create" && resources == ["services"] && kind == "Role" && file == "probe-rbac.yaml",
                    "{file} {kind}/{name} grants {v} on {resources:?}"
                );
            }
            if kind == "ClusterRole" {
                assert!(!resources.contains(&"configmaps") && !resources.contains(&"secrets"), "{file} {kind}/{name}: {resources:?} cluster-wide");
            }
        }
    }
    // The CronJob runs collect-cidrs then push, every 10 minutes, password from a Secret.
    let (_, cj) = docs.iter().find(|(_, o)| o["kind"] == "CronJob").unwrap();
    assert_eq!(cj["spec"]["schedule"], "*/10 * * * *");
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let cmd = c["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(" ");
    assert!(cmd.contains("netmap collect-cidrs") && cmd.contains("netmap push"), "{cmd}");
    let env = c["env"].as_array().unwrap();
    let pw = env.iter().find(|e| e["name"] == "CLICKHOUSE_PASSWORD").unwrap();
    assert!(pw["valueFrom"]["secretKeyRef"]["name"].is_string(), "{pw}");
    assert!(env.iter().any(|e| e["name"] == "CLICKHOUSE_URL"));
    let sa = pod["serviceAccountName"].as_str().unwrap();
    assert!(docs.iter().any(|(_, o)| o["kind"] == "ServiceAccount" && o["metadata"]["name"] == sa));
}
