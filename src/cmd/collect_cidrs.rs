//! `netmap collect-cidrs`: a cluster's own CIDRs, from its API server or
//! from `kubectl` dumps, as records `push` stores and `classify` reads.
//!
//! Glue only: picks the source (live via `k8s::live`, offline via
//! `input::kubectl`), runs the one extraction (`k8s::extract`), settles the
//! cluster name, adds mesh peers, de-duplicates/summarizes (`k8s`) and
//! writes `cluster_name,network_type,cidr_block,source` rows. Everything it
//! decides is said on stderr: where the name came from, what was skipped
//! and why, what could not be read.

use std::path::PathBuf;

use crate::cidr::{read_cidr_file, NetworkType};
use crate::cmd::{Messages, OutputArgs, EXIT_STATUS};
use crate::error::{display_path, Error, Result};
use crate::input::kubectl::read_objects;
use crate::k8s::live::{self, ConfigChoice};
use crate::k8s::{dedupe_sorted, mesh_remote_nodes, summarize, Extracted, Found};
use crate::output::{self, Cell, RowWriter};

/// The long help of `netmap collect-cidrs` (the `Command` variant uses it).
pub const LONG_ABOUT: &str = "\
Learn a cluster's pod, service and node CIDRs from Kubernetes.

Live (default): reads Nodes (spec.podCIDRs, InternalIP/ExternalIP),
ServiceCIDRs (networking.k8s.io v1, else v1beta1), the kube-system
ConfigMaps kubeadm-config and cilium-config, CiliumNodes and Calico
IPPools. Every source is optional: one that is not served or not allowed
is a warning, not a failure. The cluster config is the kubeconfig
($KUBECONFIG, else ~/.kube/config), else the in-cluster service account.

Offline: --from FILE reads `kubectl get ... -o yaml|json` output
(a List, single objects, or multi-document YAML).

Cluster name: --cluster-name, else cilium-config's cluster-name (unless
it is `default`), else the kubeconfig context name.

Cluster mesh: --mesh-peer FILE takes another cluster's collect-cidrs
output; its node_cidr records become this cluster's remote_node_cidr.

Examples:
  netmap collect-cidrs -o table
  netmap collect-cidrs --context prod --cluster-name prod --probe-service-cidr -o csv > prod.csv
  kubectl get nodes,configmaps -A -o yaml | netmap collect-cidrs --from - --cluster-name prod
  netmap collect-cidrs --mesh-peer west.csv -o csv | netmap push --input -";

/// Options of `netmap collect-cidrs` (see [`LONG_ABOUT`]).
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// Read `kubectl get ... -o yaml|json` output instead of a live cluster (`-` = stdin).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["kubeconfig", "context", "in_cluster", "probe_service_cidr"])]
    pub from: Vec<PathBuf>,

    /// The kubeconfig file to use [default: $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use [default: its current-context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Use the pod's service account only (no kubeconfig).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    pub in_cluster: bool,

    /// The cluster's name in the records [default: cilium-config cluster-name, else the context name].
    #[arg(long, value_name = "NAME", env = "NETMAP_CLUSTER_NAME")]
    pub cluster_name: Option<String>,

    /// When no source names the service range, learn it from a server-side
    /// dry-run create of a Service with an out-of-range clusterIP (creates
    /// nothing; needs `create` on services in the context's namespace).
    #[arg(long)]
    pub probe_service_cidr: bool,

    /// Merge node addresses into the prefixes they fill completely (exact aggregation).
    #[arg(long)]
    pub summarize: bool,

    /// Another cluster's collect-cidrs output (CSV/JSON); its node_cidr records become remote_node_cidr.
    #[arg(long, value_name = "FILE")]
    pub mesh_peer: Vec<PathBuf>,

    /// Shared output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output columns; `crate::cidr::read_cidr_file` reads them back (`source` included).
pub const COLUMNS: [&str; 4] = ["cluster_name", "network_type", "cidr_block", "source"];

/// The cluster name `cilium-config` carries when nobody set one.
const CILIUM_DEFAULT_NAME: &str = "default";

/// Run `netmap collect-cidrs`.
pub fn run(args: Args) -> Result<()> {
    let format = args.output.format();
    // Refuse graph formats before talking to a cluster.
    RowWriter::new(format, &COLUMNS, Box::new(std::io::sink()))?;

    let mut ex = Extracted::default();
    let mut context = None;
    let what: String;
    if !args.from.is_empty() {
        let stdin_count = args.from.iter().filter(|p| p.as_os_str() == "-").count();
        if stdin_count > 1 {
            return Err(Error::Usage("--from - (stdin) can be given only once".into()));
        }
        for path in &args.from {
            for obj in read_objects(path)? {
                ex.add_object(&obj);
            }
        }
        what = args.from.iter().map(|p| display_path(p)).collect::<Vec<_>>().join(", ");
        if let Some(s) = ex.ignored_summary() {
            Messages::say(s);
        }
    } else {
        let choice = if args.in_cluster {
            ConfigChoice::InCluster
        } else if args.kubeconfig.is_some() || args.context.is_some() {
            ConfigChoice::Kubeconfig { path: args.kubeconfig.clone(), context: args.context.clone() }
        } else {
            ConfigChoice::Infer
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
        let found_before_probe;
        (context, what, found_before_probe) = rt.block_on(async {
            let conn = live::connect(&choice).await?;
            Messages::say(format!("reading {} via {}", conn.url, conn.how));
            let fetched = live::fetch(&conn).await?;
            for w in &fetched.warnings {
                Messages::warn(w);
            }
            let read = if fetched.read.is_empty() { "nothing".to_string() } else { fetched.read.join(", ") };
            Messages::say(format!("read {read}"));
            for obj in &fetched.objects {
                ex.add_object(obj);
            }
            let mut probed = None;
            if args.probe_service_cidr {
                let known = ex.found.iter().any(|f| f.network_type == NetworkType::Service);
                if known {
                    Messages::say("service range already known; --probe-service-cidr not needed");
                } else {
                    probed = Some(live::probe_service_cidrs(&conn).await?);
                }
            }
            Ok::<_, Error>((conn.context.clone(), conn.url.clone(), probed))
        })?;
        if let Some(p) = found_before_probe {
            for w in &p.warnings {
                Messages::warn(w);
            }
            for n in &p.notes {
                Messages::say(n);
            }
            ex.found.extend(p.found);
        }
    }
    for w in &ex.warnings {
        Messages::warn(w);
    }
    for s in &ex.skipped {
        Messages::say(format!("skipped {s}"));
    }
    // The records have no place for it; push takes it (`push --cluster-domain`).
    for (d, from) in &ex.cluster_domains {
        if crate::rule::normalize_cluster_domain(d).ok().as_deref() != Some(crate::rule::DEFAULT_CLUSTER_DOMAIN) {
            Messages::say(format!("cluster domain {d:?} ({from}): push with --cluster-domain {d} so that names under it count as services"));
        }
    }

    let cluster = cluster_name(&args, &ex, context.as_deref(), !args.from.is_empty())?;

    let mut found: Vec<Found> = std::mem::take(&mut ex.found);
    for peer in &args.mesh_peer {
        let name = display_path(peer);
        let records = read_cidr_file(peer)?;
        let remote = mesh_remote_nodes(&records, &cluster, &name)?;
        Messages::say(format!("mesh peer {name}: {} node CIDRs as remote_node_cidr", remote.len()));
        found.extend(remote);
    }
    if found.is_empty() {
        return Err(Error::Other(format!(
            "found no CIDRs in {what} (no Nodes with podCIDRs or addresses, ServiceCIDRs, kubeadm-config, cilium-config, CiliumNodes or Calico IPPools)"
        )));
    }
    let mut records = dedupe_sorted(found);
    if args.summarize {
        records = summarize(records);
    }
    if !records.iter().any(|r| r.network_type == NetworkType::Service) {
        Messages::warn(if args.from.is_empty() && !args.probe_service_cidr {
            "no source named the service range; --probe-service-cidr can learn it (dry-run, creates nothing)"
        } else {
            "no service range found"
        });
    }
    let mut w = RowWriter::new(format, &COLUMNS, output::stdout())?;
    for r in &records {
        w.row(&[
            Cell::Str(&cluster),
            Cell::Str(r.network_type.as_str()),
            Cell::String(r.cidr.to_string()),
            Cell::Str(&r.source),
        ])?;
    }
    w.finish()?;
    let counts: Vec<String> = NetworkType::ALL
        .iter()
        .map(|t| (t, records.iter().filter(|r| r.network_type == *t).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    let n = records.len();
    Messages::say(format!("{n} CIDR{} for cluster {cluster:?}: {}", if n == 1 { "" } else { "s" }, counts.join(", ")));
    Ok(())
}

/// `--cluster-name`, else cilium-config's (unless `default`), else the context.
fn cluster_name(args: &Args, ex: &Extracted, context: Option<&str>, offline: bool) -> Result<String> {
    if let Some(n) = args.cluster_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Messages::say(format!("cluster name {n:?} from --cluster-name"));
        return Ok(n.to_string());
    }
    let named: Vec<&(String, String)> =
        ex.cluster_names.iter().filter(|(n, _)| !n.is_empty() && n != CILIUM_DEFAULT_NAME).collect();
    if let Some((n, src)) = named.first() {
        if let Some((other, osrc)) = named.iter().find(|(o, _)| o != n) {
            Messages::warn(format!("{osrc} says {other:?}, but {src} said {n:?} first; using {n:?}"));
        }
        Messages::say(format!("cluster name {n:?} from {src}"));
        return Ok(n.clone());
    }
    let default_note = if ex.cluster_names.iter().any(|(n, _)| n == CILIUM_DEFAULT_NAME) {
        " (cilium-config's cluster-name is the unset value \"default\")"
    } else {
        ""
    };
    if let Some(c) = context.filter(|c| !c.is_empty()) {
        Messages::say(format!("cluster name {c:?} from the kubeconfig context{default_note}"));
        return Ok(c.to_string());
    }
    let cilium = if default_note.is_empty() {
        "cilium-config names none"
    } else {
        "cilium-config's cluster-name is the unset value \"default\""
    };
    let context_part = if offline { "a dump has no kubeconfig context" } else { "the in-cluster config has no context name" };
    Err(Error::Usage(format!(
        "no cluster name: {context_part} and {cilium}; give --cluster-name NAME (or set NETMAP_CLUSTER_NAME)"
    )))
}
