//! Talking to a live API server: which cluster config to use, reading the
//! objects that name CIDRs, and the opt-in service-range probe.
//!
//! Owns: [`ConfigChoice`] (`--kubeconfig`/`--context`/`--in-cluster` map to
//! explicit kube-rs constructors; the default tries the kubeconfig
//! (`$KUBECONFIG`, else `~/.kube/config`) and then the in-cluster service
//! account — the order of `kube::Config::infer` — and a failure names every
//! source tried), [`fetch`] (the list/get calls, every one optional) and
//! [`probe_service_cidrs`]. Leaves the meaning of objects to `extract`.
//!
//! Invariant: a source that is not served (404, 503) or not allowed (403) is
//! a warning naming it and the RBAC rule it needs, never a failure; anything
//! else (server unreachable, 401, 5xx) stops the run with the server URL.
//! Objects are returned as JSON values with `apiVersion` and `kind` set, so
//! live and offline (`kubectl get -o yaml`) go through the same extraction.

use std::path::PathBuf;

use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::Value;

use crate::cidr::{parse_cidr, NetworkType};
use crate::error::{Error, Result};
use crate::k8s::Found;

/// Which cluster to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChoice {
    /// kubeconfig (`$KUBECONFIG`, else `~/.kube/config`), else in-cluster.
    Infer,
    /// A kubeconfig: `path` (else `$KUBECONFIG`/`~/.kube/config`) and `context` (else its current-context).
    Kubeconfig {
        /// `--kubeconfig FILE`.
        path: Option<PathBuf>,
        /// `--context NAME`.
        context: Option<String>,
    },
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the token and CA
    /// under `/var/run/secrets/kubernetes.io/serviceaccount/`).
    InCluster,
}

/// A client and what it is connected to.
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The API server URL (for messages).
    pub url: String,
    /// The kubeconfig context used, if any (a cluster-name fallback).
    pub context: Option<String>,
    /// How the config was found, for the user: `kubeconfig /x (context kind-a)`, `in-cluster service account`.
    pub how: String,
    /// The namespace the probe uses: the context's namespace, the pod's, or `default`.
    pub namespace: String,
}

const IN_CLUSTER: &str = "the in-cluster service account (KUBERNETES_SERVICE_HOST/_PORT and /var/run/secrets/kubernetes.io/serviceaccount/)";

/// Build a client for `choice`.
pub async fn connect(choice: &ConfigChoice) -> Result<Connection> {
    let (config, context, how) = match choice {
        ConfigChoice::InCluster => {
            let c = Config::incluster().map_err(|e| Error::Other(format!("cannot use {IN_CLUSTER}: {}", chain(&e))))?;
            (c, None, "in-cluster service account".to_string())
        }
        ConfigChoice::Kubeconfig { path, context } => from_kubeconfig(path.as_ref(), context.clone())
            .await
            .map_err(|m| Error::Other(format!("cannot use the kubeconfig: {m}")))?,
        ConfigChoice::Infer => match from_kubeconfig(None, None).await {
            Ok(found) => found,
            Err(kube_err) => match Config::incluster() {
                Ok(c) => (c, None, "in-cluster service account".to_string()),
                Err(in_err) => {
                    return Err(Error::Other(format!(
                        "no Kubernetes cluster found; tried the kubeconfig ({kube_err}) and {IN_CLUSTER} ({}); \
                         give --kubeconfig FILE, --context NAME or --in-cluster, or read a dump with --from FILE",
                        chain(&in_err)
                    )))
                }
            },
        },
    };
    let url = config.cluster_url.to_string();
    let namespace = config.default_namespace.clone();
    let client = Client::try_from(config)
        .map_err(|e| Error::Other(format!("kubernetes API at {url}: cannot build a client: {}", chain(&e))))?;
    Ok(Connection { client, url, context, how, namespace })
}

/// A config from a kubeconfig file; the error is one line naming the file.
async fn from_kubeconfig(
    path: Option<&PathBuf>,
    context: Option<String>,
) -> std::result::Result<(Config, Option<String>, String), String> {
    let (kc, file) = match path {
        Some(p) => (Kubeconfig::read_from(p).map_err(|e| chain(&e))?, p.display().to_string()),
        None => {
            let file = std::env::var("KUBECONFIG").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "~/.kube/config".into());
            (Kubeconfig::read().map_err(|e| format!("{file}: {}", chain(&e)))?, file)
        }
    };
    let ctx = context.clone().or_else(|| kc.current_context.clone());
    let opts = KubeConfigOptions { context: context.clone(), cluster: None, user: None };
    let config = Config::from_custom_kubeconfig(kc, &opts).await.map_err(|e| format!("{file}: {}", chain(&e)))?;
    let how = match &ctx {
        Some(c) => format!("kubeconfig {file} (context {c})"),
        None => format!("kubeconfig {file}"),
    };
    Ok((config, ctx, how))
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// What [`fetch`] read.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Every object, with `apiVersion` and `kind` set.
    pub objects: Vec<Value>,
    /// Sources that could not be read (not served, forbidden), one line each.
    pub warnings: Vec<String>,
    /// What was read: `nodes: 3`, ...
    pub read: Vec<String>,
}

/// One resource to list, with the versions to try in order.
struct ListSource {
    group: &'static str,
    versions: &'static [&'static str],
    kind: &'static str,
    plural: &'static str,
}

const NODES: ListSource = ListSource { group: "", versions: &["v1"], kind: "Node", plural: "nodes" };
const SERVICE_CIDRS: ListSource =
    ListSource { group: "networking.k8s.io", versions: &["v1", "v1beta1"], kind: "ServiceCIDR", plural: "servicecidrs" };
const CILIUM_NODES: ListSource = ListSource { group: "cilium.io", versions: &["v2"], kind: "CiliumNode", plural: "ciliumnodes" };
/// Calico's CRDs, then its API server's aggregated v3 API (same pools).
const CALICO_POOLS: &[ListSource] = &[
    ListSource { group: "crd.projectcalico.org", versions: &["v1"], kind: "IPPool", plural: "ippools" },
    ListSource { group: "projectcalico.org", versions: &["v3"], kind: "IPPool", plural: "ippools" },
];
/// ConfigMaps read by name in kube-system.
const CONFIGMAPS: [&str; 2] = ["kubeadm-config", "cilium-config"];

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn group_label(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// How one API call ended, when it did not return objects.
enum Miss {
    /// 404 / 503: not served here (or the named object does not exist).
    Absent(String),
    /// 403: RBAC says no.
    Forbidden(String),
}

fn classify(e: kube::Error, url: &str, what: &str) -> Result<Miss> {
    if let kube::Error::Api(s) = &e {
        let msg = if s.message.is_empty() { s.reason.clone() } else { s.message.clone() };
        match s.code {
            404 | 503 => return Ok(Miss::Absent(format!("{} ({})", msg.trim(), s.code))),
            403 => return Ok(Miss::Forbidden(msg.trim().to_string())),
            _ => {}
        }
    }
    Err(Error::Other(format!("kubernetes API at {url}: {what}: {}", chain(&e))))
}

/// Read every object that names CIDRs. Missing or forbidden sources become warnings.
pub async fn fetch(conn: &Connection) -> Result<Fetched> {
    let mut out = Fetched::default();
    list_first(conn, &[NODES], &mut out).await?;
    list_first(conn, &[SERVICE_CIDRS], &mut out).await?;
    for name in CONFIGMAPS {
        let ar = resource("", "v1", "ConfigMap", "configmaps");
        let api: Api<DynamicObject> = Api::namespaced_with(conn.client.clone(), "kube-system", &ar);
        let what = format!("get configmap kube-system/{name}");
        match api.get(name).await {
            Ok(obj) => {
                out.objects.push(with_type(obj, &ar));
                out.read.push(format!("configmap/kube-system/{name}"));
            }
            Err(e) => match classify(e, &conn.url, &what)? {
                Miss::Absent(m) => out.warnings.push(format!("skipped configmap kube-system/{name}: not found: {m}")),
                Miss::Forbidden(m) => out.warnings.push(format!(
                    "skipped configmap kube-system/{name}: forbidden: {m} (needs get on configmaps in kube-system)"
                )),
            },
        }
    }
    list_first(conn, &[CILIUM_NODES], &mut out).await?;
    list_first(conn, CALICO_POOLS, &mut out).await?;
    Ok(out)
}

/// List the first served (source, version); warn when none is.
async fn list_first(conn: &Connection, sources: &[ListSource], out: &mut Fetched) -> Result<()> {
    let mut tried = Vec::new();
    let mut last = String::new();
    for src in sources {
        for version in src.versions {
            let ar = resource(src.group, version, src.kind, src.plural);
            tried.push(ar.api_version.clone());
            match list_all(conn, &ar).await? {
                Ok(objs) => {
                    out.read.push(format!("{}: {}", group_label(src.group, src.plural), objs.len()));
                    out.objects.extend(objs);
                    return Ok(());
                }
                Err(Miss::Absent(m)) => last = m,
                Err(Miss::Forbidden(m)) => {
                    out.warnings.push(format!(
                        "skipped {} {}: forbidden: {m} (needs list on {})",
                        ar.api_version,
                        src.plural,
                        group_label(src.group, src.plural)
                    ));
                    return Ok(());
                }
            }
        }
    }
    let names: Vec<String> = sources.iter().map(|s| group_label(s.group, s.plural)).collect();
    let mut names_dedup = names.clone();
    names_dedup.dedup();
    out.warnings.push(format!(
        "skipped {}: not served by this cluster (tried {}; last answer: {last})",
        names_dedup.join(", "),
        tried.join(", ")
    ));
    Ok(())
}

/// Every object of one resource, following `continue` tokens.
async fn list_all(conn: &Connection, ar: &ApiResource) -> Result<std::result::Result<Vec<Value>, Miss>> {
    let api: Api<DynamicObject> = Api::all_with(conn.client.clone(), ar);
    let what = format!("list {} {}", ar.api_version, ar.plural);
    let mut objs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        match api.list(&lp).await {
            Ok(list) => {
                objs.extend(list.items.into_iter().map(|o| with_type(o, ar)));
                token = list.metadata.continue_.filter(|t| !t.is_empty());
                if token.is_none() {
                    return Ok(Ok(objs));
                }
            }
            Err(e) => return classify(e, &conn.url, &what).map(Err),
        }
    }
}

/// The object as JSON with `apiVersion` and `kind` (list items lack them).
fn with_type(obj: DynamicObject, ar: &ApiResource) -> Value {
    let mut v = serde_json::to_value(&obj).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.entry("apiVersion").or_insert_with(|| Value::from(ar.api_version.as_str()));
        m.entry("kind").or_insert_with(|| Value::from(ar.kind.as_str()));
    }
    v
}

/// The out-of-range ClusterIPs the probe asks for: documentation addresses
/// (RFC 5737, RFC 3849) that no real service range contains.
pub const PROBE_ADDRESSES: [(&str, &str); 2] = [("IPv4", "192.0.2.1"), ("IPv6", "2001:db8::1")];

/// The name of the Service the dry-run would create.
pub const PROBE_SERVICE: &str = "netmap-service-cidr-probe";

/// What the probe learned.
#[derive(Debug, Default)]
pub struct Probed {
    /// Service ranges read from the rejections.
    pub found: Vec<Found>,
    /// Per family, what happened when no range was learned.
    pub notes: Vec<String>,
    /// Failures that stopped a family's probe (forbidden, ...).
    pub warnings: Vec<String>,
}

/// Ask the API server, per IP family, to dry-run create a Service whose
/// clusterIP is outside any real range, and read the valid range from the
/// rejection. `dryRun=All`: nothing is created.
pub async fn probe_service_cidrs(conn: &Connection) -> Result<Probed> {
    let ar = resource("", "v1", "Service", "services");
    let api: Api<DynamicObject> = Api::namespaced_with(conn.client.clone(), &conn.namespace, &ar);
    let pp = PostParams { dry_run: true, field_manager: Some("netmap".into()) };
    let mut out = Probed::default();
    for (family, ip) in PROBE_ADDRESSES {
        let svc = DynamicObject::new(PROBE_SERVICE, &ar).within(&conn.namespace).data(serde_json::json!({
            "spec": {
                "type": "ClusterIP",
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ipFamilies": [family],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "protocol": "TCP"}]
            }
        }));
        let source = format!("probe: dry-run Service clusterIP {ip} rejected");
        match api.create(&pp, &svc).await {
            Ok(_) => out.notes.push(format!(
                "probe {family}: the dry-run accepted clusterIP {ip} (nothing was created); no range learned"
            )),
            Err(kube::Error::Api(s)) if s.code == 403 => out.warnings.push(format!(
                "probe {family}: forbidden: {} (needs create on services in namespace {}; dry-run only)",
                s.message, conn.namespace
            )),
            Err(kube::Error::Api(s)) => {
                let nets = parse_valid_range(&s.message);
                if nets.is_empty() {
                    out.notes.push(format!("probe {family}: no service range in the answer ({}): {}", s.code, s.message));
                }
                for net in nets {
                    out.found.push(Found { network_type: NetworkType::Service, cidr: net, source: source.clone() });
                }
            }
            Err(e) => out.warnings.push(format!("probe {family}: kubernetes API at {}: {}", conn.url, chain(&e))),
        }
    }
    Ok(out)
}

/// The CIDRs after "The range of valid IPs is" in an API server rejection,
/// e.g. `... failed to allocate IP 192.0.2.1: the provided IP (192.0.2.1) is
/// not in the valid range. The range of valid IPs is 10.96.0.0/12`.
pub fn parse_valid_range(message: &str) -> Vec<ipnet::IpNet> {
    const MARK: &str = "range of valid ips is";
    let lower = message.to_ascii_lowercase();
    let Some(at) = lower.find(MARK) else { return Vec::new() };
    message[at + MARK.len()..]
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .map(|w| w.trim_matches(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '/')).trim_end_matches('.'))
        .filter(|w| w.contains('/'))
        .filter_map(|w| parse_cidr(w).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_from_rejections() {
        // Current wording (K8s ≥ 1.20 ipallocator).
        let m = "Service \"netmap-service-cidr-probe\" is invalid: spec.clusterIPs: Invalid value: []string{\"192.0.2.1\"}: failed to allocate IP 192.0.2.1: the provided IP (192.0.2.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12";
        assert_eq!(parse_valid_range(m), ["10.96.0.0/12".parse::<ipnet::IpNet>().unwrap()]);
        // Older wording.
        let m = "spec.clusterIPs: Invalid value: []string{\"1.1.1.1\"}: failed to allocated ip:1.1.1.1 with error:provided IP is not in the valid range. The range of valid IPs is 10.32.0.0/12.";
        assert_eq!(parse_valid_range(m), ["10.32.0.0/12".parse::<ipnet::IpNet>().unwrap()]);
        let m = "... The range of valid IPs is fd00:10:96::/112";
        assert_eq!(parse_valid_range(m), ["fd00:10:96::/112".parse::<ipnet::IpNet>().unwrap()]);
        assert!(parse_valid_range("spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster").is_empty());
    }
}
