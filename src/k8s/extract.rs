//! Kubernetes objects → CIDR findings: the one place that knows which field
//! of which object names a pod, service or node range.
//!
//! Owns: the mapping from objects (as `serde_json::Value`, whether they came
//! from a live API server or a `kubectl` dump) to [`Found`] records, the
//! cluster-name hints (`cilium-config`'s `cluster-name`), and the reasons a
//! range was deliberately left out. Leaves fetching to `k8s::live` and file
//! reading to `input::kubectl`. Invariant: nothing is dropped silently —
//! every object lands in `found`, `skipped` (with why), `warnings` (a bad
//! value, with the object and field) or the `ignored` count of its kind.
//!
//! What is read, and as what:
//! - `v1 Node`: `spec.podCIDRs` (else `spec.podCIDR`) → pod_cidr;
//!   `status.addresses` of type InternalIP/ExternalIP → node_cidr /32 or /128.
//! - `cilium.io/* CiliumNode`: `spec.ipam.podCIDRs` → pod_cidr.
//! - `networking.k8s.io/* ServiceCIDR`: `spec.cidrs` → service_cidr.
//! - ConfigMap `kubeadm-config`: its `ClusterConfiguration` YAML's
//!   `networking.podSubnet` → pod_cidr, `networking.serviceSubnet` →
//!   service_cidr (comma-separated when dual-stack).
//! - ConfigMap `cilium-config`: `cluster-pool-ipv4-cidr`,
//!   `cluster-pool-ipv6-cidr` → pod_cidr (space- or comma-separated lists),
//!   only when `ipam` is absent or a cluster-pool mode; `cluster-name` is a
//!   name hint. `ipv4-native-routing-cidr` is NOT used: it names where native
//!   routing works (often the whole VPC, nodes included), not the pods.
//! - Calico `IPPool` (`crd.projectcalico.org/v1`, `projectcalico.org/v3`):
//!   `spec.cidr` → pod_cidr when `allowedUses` is absent (Calico's default is
//!   Workload + Tunnel) or includes `Workload`; LoadBalancer-only or
//!   Tunnel-only pools are skipped. Disabled pools (`disabled: true`) are
//!   KEPT: disabling stops new allocations, but pods already running keep
//!   their addresses from the pool.
//! - Calico `Node` (`projectcalico.org/v3`, `crd.projectcalico.org/v1`):
//!   `spec.bgp.ipv4Address`/`ipv6Address` (address/prefix of the host) →
//!   node_cidr of the address alone.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::cidr::{parse_cidr, NetworkType};
use crate::input::kubectl::parse_yaml_value;

/// One CIDR learned from the cluster, before de-duplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What kind of range it is.
    pub network_type: NetworkType,
    /// The range (host bits zero).
    pub cidr: IpNet,
    /// Where it came from: `node/NAME spec.podCIDRs`, `configmap/kube-system/kubeadm-config networking.podSubnet`, ...
    pub source: String,
}

/// Everything learned from a set of objects.
#[derive(Debug, Default)]
pub struct Extracted {
    /// The ranges found, in object order.
    pub found: Vec<Found>,
    /// Cluster-name hints: (name, where it was read).
    pub cluster_names: Vec<(String, String)>,
    /// Cluster DNS domains named by the objects: (domain, where it was read).
    pub cluster_domains: Vec<(String, String)>,
    /// Ranges deliberately not used, each with the reason.
    pub skipped: Vec<String>,
    /// Values that could not be used (not a CIDR, not an address, bad YAML).
    pub warnings: Vec<String>,
    /// Objects of kinds that name no CIDR, counted per `kind`.
    pub ignored: BTreeMap<String, usize>,
}

impl Extracted {
    /// Read one object.
    pub fn add_object(&mut self, obj: &Value) {
        let kind = str_at(obj, &["kind"]).unwrap_or("");
        let api_version = str_at(obj, &["apiVersion"]).unwrap_or("");
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let name = str_at(obj, &["metadata", "name"]).unwrap_or("<unnamed>");
        match (group, kind) {
            ("", "Node") => self.node(obj, name),
            ("cilium.io", "CiliumNode") => self.cilium_node(obj, name),
            ("networking.k8s.io", "ServiceCIDR") => self.service_cidr(obj, name),
            ("", "ConfigMap") if name == "kubeadm-config" => self.kubeadm_config(obj),
            ("", "ConfigMap") if name == "cilium-config" => self.cilium_config(obj),
            ("crd.projectcalico.org" | "projectcalico.org", "IPPool") => self.ippool(obj, name),
            ("crd.projectcalico.org" | "projectcalico.org", "Node") => self.calico_node(obj, name),
            _ => *self.ignored.entry(if kind.is_empty() { "<no kind>".into() } else { kind.to_string() }).or_default() += 1,
        }
    }

    /// A one-line description of the ignored objects, if any.
    pub fn ignored_summary(&self) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let total: usize = self.ignored.values().sum();
        let kinds: Vec<String> = self.ignored.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        Some(format!(
            "ignored {total} object{} of kinds that name no CIDR ({})",
            if total == 1 { "" } else { "s" },
            kinds.join(", ")
        ))
    }

    fn push(&mut self, network_type: NetworkType, cidr: IpNet, source: String) {
        self.found.push(Found { network_type, cidr, source });
    }

    /// Add every CIDR in `text` (separated by commas or whitespace).
    fn add_list(&mut self, t: NetworkType, text: &str, source: &str) {
        for part in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
            self.add_cidr(t, part, source);
        }
    }

    fn add_cidr(&mut self, t: NetworkType, text: &str, source: &str) {
        match parse_cidr(text) {
            Ok(net) => self.push(t, net, source.to_string()),
            Err(m) => self.warnings.push(format!("skipped {source}: {m}")),
        }
    }

    /// A host address (`10.0.0.1`, or `10.0.0.1/16` meaning that host) as a /32 or /128.
    fn add_host(&mut self, t: NetworkType, text: &str, source: &str) {
        let addr = text.split('/').next().unwrap_or("").trim();
        match addr.parse::<IpAddr>() {
            Ok(ip) => self.push(t, IpNet::from(ip), source.to_string()),
            Err(_) => self.warnings.push(format!("skipped {source}: {text:?} is not an IP address")),
        }
    }

    fn node(&mut self, obj: &Value, name: &str) {
        let spec = &obj["spec"];
        match spec.get("podCIDRs").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            Some(list) => {
                let source = format!("node/{name} spec.podCIDRs");
                for v in list {
                    self.add_string_cidr(NetworkType::Pod, v, &source);
                }
            }
            None => {
                if let Some(v) = spec.get("podCIDR").filter(|v| !v.is_null()) {
                    self.add_string_cidr(NetworkType::Pod, v, &format!("node/{name} spec.podCIDR"));
                }
            }
        }
        for a in obj["status"]["addresses"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let ty = a["type"].as_str().unwrap_or("");
            if ty == "InternalIP" || ty == "ExternalIP" {
                let source = format!("node/{name} {ty}");
                match a["address"].as_str() {
                    Some(s) => self.add_host(NetworkType::Node, s, &source),
                    None => self.warnings.push(format!("skipped {source}: address {} is not a string", a["address"])),
                }
            }
        }
    }

    fn add_string_cidr(&mut self, t: NetworkType, v: &Value, source: &str) {
        match v.as_str() {
            Some(s) => self.add_cidr(t, s, source),
            None => self.warnings.push(format!("skipped {source}: {v} is not a string")),
        }
    }

    fn cilium_node(&mut self, obj: &Value, name: &str) {
        let source = format!("ciliumnode/{name} spec.ipam.podCIDRs");
        for v in obj["spec"]["ipam"]["podCIDRs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            self.add_string_cidr(NetworkType::Pod, v, &source);
        }
    }

    fn service_cidr(&mut self, obj: &Value, name: &str) {
        let source = format!("servicecidr/{name} spec.cidrs");
        for v in obj["spec"]["cidrs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            self.add_string_cidr(NetworkType::Service, v, &source);
        }
    }

    fn configmap_source(obj: &Value) -> String {
        let ns = str_at(obj, &["metadata", "namespace"]).unwrap_or("kube-system");
        let name = str_at(obj, &["metadata", "name"]).unwrap_or("");
        format!("configmap/{ns}/{name}")
    }

    fn kubeadm_config(&mut self, obj: &Value) {
        let cm = Self::configmap_source(obj);
        let Some(text) = str_at(obj, &["data", "ClusterConfiguration"]) else {
            self.warnings.push(format!("skipped {cm}: no data.ClusterConfiguration"));
            return;
        };
        let cc = match parse_yaml_value(text) {
            Ok(v) => v,
            Err(m) => {
                self.warnings.push(format!("skipped {cm} ClusterConfiguration: {m}"));
                return;
            }
        };
        for (field, t) in [("podSubnet", NetworkType::Pod), ("serviceSubnet", NetworkType::Service)] {
            if let Some(s) = str_at(&cc, &["networking", field]) {
                self.add_list(t, s, &format!("{cm} networking.{field}"));
            }
        }
        if let Some(d) = str_at(&cc, &["networking", "dnsDomain"]).filter(|d| !d.trim().is_empty()) {
            self.cluster_domains.push((d.trim().to_string(), format!("{cm} networking.dnsDomain")));
        }
    }

    fn cilium_config(&mut self, obj: &Value) {
        let cm = Self::configmap_source(obj);
        let data = &obj["data"];
        if let Some(n) = data["cluster-name"].as_str() {
            self.cluster_names.push((n.trim().to_string(), format!("{cm} cluster-name")));
        }
        let ipam = data["ipam"].as_str().unwrap_or("").trim();
        let pool_mode = ipam.is_empty() || ipam.starts_with("cluster-pool");
        for key in ["cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr"] {
            let Some(v) = data[key].as_str().filter(|v| !v.trim().is_empty()) else { continue };
            if pool_mode {
                self.add_list(NetworkType::Pod, v, &format!("{cm} {key}"));
            } else {
                self.skipped.push(format!("{cm} {key} {:?}: ipam mode is {ipam:?}, not cluster-pool, so pods are not allocated from it", v.trim()));
            }
        }
    }

    fn ippool(&mut self, obj: &Value, name: &str) {
        let source = format!("ippool/{name} spec.cidr");
        let spec = &obj["spec"];
        let uses: Option<Vec<&str>> = spec["allowedUses"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
        if let Some(uses) = &uses {
            if !uses.contains(&"Workload") {
                self.skipped.push(format!(
                    "{source} {}: allowedUses [{}] has no Workload, so it is not a pod range",
                    spec["cidr"].as_str().unwrap_or("?"),
                    uses.join(", ")
                ));
                return;
            }
        }
        match spec.get("cidr") {
            Some(v) => self.add_string_cidr(NetworkType::Pod, v, &source),
            None => self.warnings.push(format!("skipped {source}: missing")),
        }
    }

    fn calico_node(&mut self, obj: &Value, name: &str) {
        for field in ["ipv4Address", "ipv6Address"] {
            if let Some(s) = obj["spec"]["bgp"][field].as_str() {
                self.add_host(NetworkType::Node, s, &format!("calico-node/{name} spec.bgp.{field}"));
            }
        }
    }
}

/// The string at a path of object keys.
fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(objs: &[Value]) -> Extracted {
        let mut ex = Extracted::default();
        for o in objs {
            ex.add_object(o);
        }
        ex
    }

    fn list(ex: &Extracted) -> Vec<String> {
        ex.found.iter().map(|f| format!("{} {} {}", f.network_type, f.cidr, f.source)).collect()
    }

    #[test]
    fn node_prefers_pod_cidrs_and_reads_addresses() {
        let ex = run(&[json!({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},
            "spec":{"podCIDR":"10.0.0.0/24","podCIDRs":["10.0.0.0/24","fd00::/64"]},
            "status":{"addresses":[{"type":"InternalIP","address":"192.168.1.5"},
                {"type":"Hostname","address":"n1"},{"type":"ExternalIP","address":"2001:db8::5"},
                {"type":"InternalIP","address":"bogus"}]}})]);
        assert_eq!(
            list(&ex),
            [
                "pod_cidr 10.0.0.0/24 node/n1 spec.podCIDRs",
                "pod_cidr fd00::/64 node/n1 spec.podCIDRs",
                "node_cidr 192.168.1.5/32 node/n1 InternalIP",
                "node_cidr 2001:db8::5/128 node/n1 ExternalIP",
            ]
        );
        assert_eq!(ex.warnings, ["skipped node/n1 InternalIP: \"bogus\" is not an IP address"]);
    }

    #[test]
    fn single_stack_node_uses_pod_cidr() {
        let ex = run(&[json!({"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"spec":{"podCIDR":"10.1.0.0/24"}})]);
        assert_eq!(list(&ex), ["pod_cidr 10.1.0.0/24 node/n spec.podCIDR"]);
    }

    #[test]
    fn kubeadm_config_dual_stack() {
        let cc = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16,fd00:10:244::/56\n  serviceSubnet: 10.96.0.0/12,fd00:10:96::/112\n";
        let ex = run(&[json!({"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":"kubeadm-config","namespace":"kube-system"},"data":{"ClusterConfiguration":cc}})]);
        assert_eq!(
            list(&ex),
            [
                "pod_cidr 10.244.0.0/16 configmap/kube-system/kubeadm-config networking.podSubnet",
                "pod_cidr fd00:10:244::/56 configmap/kube-system/kubeadm-config networking.podSubnet",
                "service_cidr 10.96.0.0/12 configmap/kube-system/kubeadm-config networking.serviceSubnet",
                "service_cidr fd00:10:96::/112 configmap/kube-system/kubeadm-config networking.serviceSubnet",
            ]
        );
        assert_eq!(ex.cluster_domains, [("cluster.local".to_string(), "configmap/kube-system/kubeadm-config networking.dnsDomain".to_string())]);
        let bad = run(&[json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kubeadm-config"},
            "data":{"ClusterConfiguration":"networking: [unclosed"}})]);
        assert!(bad.found.is_empty());
        assert!(bad.warnings[0].starts_with("skipped configmap/kube-system/kubeadm-config ClusterConfiguration: invalid YAML"), "{:?}", bad.warnings);
    }

    #[test]
    fn cilium_config_pools_and_name() {
        let ex = run(&[json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"cluster-name":"east","ipam":"cluster-pool","cluster-pool-ipv4-cidr":"10.0.0.0/9 10.128.0.0/9",
                "cluster-pool-ipv6-cidr":"","ipv4-native-routing-cidr":"10.0.0.0/8"}})]);
        assert_eq!(ex.cluster_names, [("east".to_string(), "configmap/kube-system/cilium-config cluster-name".to_string())]);
        assert_eq!(ex.found.len(), 2);
        let other = run(&[json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"kubernetes","cluster-pool-ipv4-cidr":"10.0.0.0/8"}})]);
        assert!(other.found.is_empty());
        assert!(other.skipped[0].contains("ipam mode is \"kubernetes\""), "{:?}", other.skipped);
    }

    #[test]
    fn calico_pools_skip_non_workload_keep_disabled() {
        let ex = run(&[
            json!({"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"lb"},"spec":{"cidr":"80.15.0.0/24","allowedUses":["LoadBalancer"]}}),
            json!({"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool","metadata":{"name":"pods"},"spec":{"cidr":"192.168.0.0/16","allowedUses":["Workload","Tunnel"]}}),
            json!({"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool","metadata":{"name":"old"},"spec":{"cidr":"172.16.0.0/16","disabled":true}}),
            json!({"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool","metadata":{"name":"tun"},"spec":{"cidr":"172.30.0.0/16","allowedUses":["Tunnel"]}}),
        ]);
        assert_eq!(list(&ex), ["pod_cidr 192.168.0.0/16 ippool/pods spec.cidr", "pod_cidr 172.16.0.0/16 ippool/old spec.cidr"]);
        assert_eq!(ex.skipped.len(), 2);
        assert!(ex.skipped[0].starts_with("ippool/lb spec.cidr 80.15.0.0/24: allowedUses [LoadBalancer]"));
    }

    #[test]
    fn host_bits_are_a_warning_naming_the_field() {
        let ex = run(&[json!({"apiVersion":"networking.k8s.io/v1","kind":"ServiceCIDR","metadata":{"name":"kubernetes"},"spec":{"cidrs":["10.96.0.1/12"]}})]);
        assert!(ex.found.is_empty());
        assert_eq!(ex.warnings, ["skipped servicecidr/kubernetes spec.cidrs: \"10.96.0.1/12\" has host bits set; did you mean 10.96.0.0/12?"]);
    }

    #[test]
    fn other_kinds_are_counted() {
        let ex = run(&[json!({"apiVersion":"v1","kind":"Service"}), json!({"apiVersion":"v1","kind":"Service"}), json!({"apiVersion":"apps/v1","kind":"DaemonSet"})]);
        assert_eq!(ex.ignored_summary().unwrap(), "ignored 3 objects of kinds that name no CIDR (DaemonSet: 1, Service: 2)");
    }
}
