//! `kubectl get … -o json|yaml` dumps in, plain Kubernetes objects out: the
//! offline side of `netmap collect-cidrs --from FILE`.
//!
//! Owns: reading a dump file (`-` = stdin) as JSON (one value, or several
//! concatenated) or YAML (one or more `---` documents), and flattening lists
//! (`kind: List` or `kind: NodeList` … with `items`) into single objects.
//! Leaves what an object *means* to `k8s::extract`, which serves the live
//! path too. Invariant: every object handed out has a string `apiVersion`
//! and `kind` (list items without them inherit the list's, as API list
//! responses omit them); a document that is not a Kubernetes object is an
//! error naming the file and the document, never skipped silently.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::{display_path, Error, Origin, Result};

/// Read every Kubernetes object in the dump at `path` (`-` = stdin).
pub fn read_objects(path: &Path) -> Result<Vec<Value>> {
    let name = display_path(path);
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(|e| Error::io(path, e))?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| Error::io(path, e))?;
    }
    parse_objects(&text, &name)
}

/// Parse a dump's text; `name` is used in messages.
pub fn parse_objects(text: &str, name: &str) -> Result<Vec<Value>> {
    let docs = parse_documents(text, name)?;
    if docs.is_empty() {
        return Err(Error::input(
            Origin::new(name, 0),
            "no Kubernetes objects found (expected `kubectl get ... -o yaml` or `-o json` output)",
        ));
    }
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        flatten(doc, name, i + 1, &mut out)?;
    }
    Ok(out)
}

/// The documents of a JSON or YAML text, empty YAML documents dropped.
fn parse_documents(text: &str, name: &str) -> Result<Vec<Value>> {
    let first = text.trim_start().chars().next();
    if matches!(first, Some('{') | Some('[')) {
        let mut docs = Vec::new();
        for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            let v = v.map_err(|e| Error::input(Origin::new(name, e.line() as u64), format!("invalid JSON: {e}")))?;
            match v {
                // A bare JSON array of objects is accepted like a List.
                Value::Array(items) => docs.extend(items),
                other => docs.push(other),
            }
        }
        return Ok(docs);
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options()).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        Error::input(Origin::new(name, line), format!("invalid YAML: {}", one_line(&e.to_string())))
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Parse one YAML document (a ConfigMap's embedded `ClusterConfiguration`).
pub fn parse_yaml_value(text: &str) -> std::result::Result<Value, String> {
    serde_saphyr::from_str_with_options::<Value>(text, yaml_options())
        .map_err(|e| format!("invalid YAML: {}", one_line(&e.to_string())))
}

/// serde-saphyr's defaults are tuned for configuration files; a cluster dump
/// (thousands of nodes with their image lists) needs a larger budget.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 100_000_000;
    budget.max_events = 400_000_000;
    budget.max_total_scalar_bytes = 1 << 32;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts
}

/// The first line of a possibly multi-line parser message (snippets dropped).
fn one_line(s: &str) -> String {
    let first = s.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Push `doc` (a single object or a list of them) onto `out`.
fn flatten(doc: Value, name: &str, n: usize, out: &mut Vec<Value>) -> Result<()> {
    let where_ = || Origin::new(name, 0);
    let Value::Object(mut map) = doc else {
        return Err(Error::input(
            where_(),
            format!("document {n} is not a Kubernetes object (a {}, not a mapping with apiVersion and kind)", json_type(&doc)),
        ));
    };
    let kind = map.get("kind").and_then(Value::as_str).map(str::to_string);
    let api_version = map.get("apiVersion").and_then(Value::as_str).map(str::to_string);
    let (Some(kind), Some(api_version)) = (kind, api_version) else {
        return Err(Error::input(
            where_(),
            format!("document {n} is not a Kubernetes object (no apiVersion and kind)"),
        ));
    };
    let is_list = kind.ends_with("List") && matches!(map.get("items"), Some(Value::Array(_)));
    if !is_list {
        out.push(Value::Object(map));
        return Ok(());
    }
    let Some(Value::Array(items)) = map.remove("items") else { unreachable!("checked above") };
    // `NodeList` items may omit their kind (API responses do); `List` items must carry it.
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    for (j, item) in items.into_iter().enumerate() {
        let Value::Object(mut obj) = item else {
            return Err(Error::input(where_(), format!("document {n}: items[{j}] is not an object")));
        };
        if !obj.get("kind").is_some_and(Value::is_string) {
            match item_kind {
                Some(k) => {
                    obj.insert("kind".into(), Value::from(k));
                }
                None => {
                    return Err(Error::input(where_(), format!("document {n}: items[{j}] has no kind")));
                }
            }
        }
        if !obj.get("apiVersion").is_some_and(Value::is_string) {
            if item_kind.is_none() {
                return Err(Error::input(where_(), format!("document {n}: items[{j}] has no apiVersion")));
            }
            obj.insert("apiVersion".into(), Value::from(api_version.as_str()));
        }
        out.push(Value::Object(obj));
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_multi_document_and_lists() {
        let text = "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
        let objs = parse_objects(text, "x.yaml").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0]["kind"], "Node");
        assert_eq!(objs[1]["metadata"]["name"], "b");
    }

    #[test]
    fn api_list_items_inherit_kind() {
        let text = r#"{"apiVersion":"v1","kind":"NodeList","items":[{"metadata":{"name":"n1"}}]}"#;
        let objs = parse_objects(text, "x.json").unwrap();
        assert_eq!(objs[0]["kind"], "Node");
        assert_eq!(objs[0]["apiVersion"], "v1");
    }

    #[test]
    fn concatenated_json() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"Node\"}\n{\"apiVersion\":\"v1\",\"kind\":\"Node\"}\n";
        assert_eq!(parse_objects(text, "x.json").unwrap().len(), 2);
    }

    #[test]
    fn not_kubernetes_objects() {
        let e = parse_objects("a: 1\n", "x.yaml").unwrap_err().to_string();
        assert_eq!(e, "x.yaml: document 1 is not a Kubernetes object (no apiVersion and kind)");
        let e = parse_objects("- 1\n- 2\n", "x.yaml").unwrap_err().to_string();
        assert!(e.contains("a sequence"), "{e}");
        let e = parse_objects("", "x.yaml").unwrap_err().to_string();
        assert!(e.contains("no Kubernetes objects"), "{e}");
        let e = parse_objects("a: [1,\n", "x.yaml").unwrap_err().to_string();
        assert!(e.starts_with("x.yaml:") && e.contains("invalid YAML"), "{e}");
        let e = parse_objects("{\"a\":", "x.json").unwrap_err().to_string();
        assert!(e.starts_with("x.json:1: invalid JSON"), "{e}");
    }
}
