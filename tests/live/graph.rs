//! The graph pictures as a person sees them: `netmap classify -o html` on the
//! fixtures, opened in headless Chromium (Debian's `chromium`), laid out by
//! Graphviz's `dot`. Asserts on the rendered DOM (the node labels are there
//! after layout) and on the screenshot's pixels (outside destinations are
//! filled with the external colour; a control page with that style removed
//! must fail the same check). `scripts/install-chromium` installs chromium and
//! graphviz when missing; the test skips, saying why, only when that fails.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The exact fills of src/graph.rs (`EXTERNAL_FILL`, `INSIDE_FILL`).
const EXTERNAL: [u8; 3] = [0xff, 0xa9, 0x4d];
const INSIDE: [u8; 3] = [0xd0, 0xeb, 0xff];

fn on_path(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Chromium and dot present, installing them when missing; `Err(why)` when impossible.
fn tools() -> Result<(), String> {
    if on_path("chromium") && on_path("dot") {
        return Ok(());
    }
    let script = Path::new(ROOT).join("scripts/install-chromium");
    let out = Command::new(&script).output().map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !on_path("chromium") || !on_path("dot") {
        return Err(format!(
            "{} did not install chromium and graphviz ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netmap-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir is writable");
    d
}

/// Run chromium headless on `page` with `extra` flags, a fresh profile and a time limit.
fn chromium(page: &Path, extra: &[String], dir: &Path) -> std::process::Output {
    let profile = dir.join(format!("profile-{}", extra.len()));
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("chromium can be waited on").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish on {} within 90 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("chromium output")
}

fn screenshot(page: &Path, png: &Path, dir: &Path) {
    let out = chromium(page, &[format!("--screenshot={}", png.display()), "--window-size=1400,1000".into()], dir);
    assert!(png.exists(), "chromium wrote no screenshot ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// Pixels of `png` within 6 per channel of `rgb`.
fn count_pixels(png: &Path, rgb: [u8; 3]) -> usize {
    let mut d = png::Decoder::new(BufReader::new(File::open(png).expect("screenshot exists")));
    d.set_transformations(png::Transformations::normalize_to_color8());
    let mut r = d.read_info().expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size().expect("fits in memory")];
    let info = r.next_frame(&mut buf).expect("one frame");
    let step = info.color_type.samples();
    assert!(step >= 3, "a colour screenshot, got {:?}", info.color_type);
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| p[..3].iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6))
        .count()
}

#[test]
fn html_map_shows_labels_and_external_nodes() {
    if let Err(why) = tools() {
        println!("SKIP html_map_shows_labels_and_external_nodes: {why}");
        return;
    }
    let dir = tempdir("graph");
    let fixtures = Path::new(ROOT).join("fixtures");
    let out = Command::new(env!("CARGO_BIN_EXE_netmap"))
        .current_dir(&fixtures)
        .args(["classify", "--cidrs", "cidrs.csv", "--input", "spans.csv", "-o", "html"])
        .output()
        .expect("netmap runs");
    assert!(out.status.success(), "netmap -o html failed: {}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8(out.stdout).expect("utf-8 HTML");
    // Self-contained: no scripts, no links; the only URLs are the SVG namespace names.
    let urls = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "").replace("xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "");
    assert!(!html.contains("<script") && !html.contains("<link") && !urls.contains("http://") && !urls.contains("https://"), "not self-contained: {html}");
    let page = dir.join("map.html");
    std::fs::write(&page, &html).expect("page written");

    // (1) The rendered DOM has every node label as SVG text, and the page's parts.
    let dom = chromium(&page, &["--dump-dom".into()], &dir);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg"), "no SVG in the DOM: {dom}");
    for label in [
        "frontend",
        "product-service",
        "api.stripe.com",
        "169.254.169.254:80",
        "payments.default.svc.cluster.local",
        "localhost:9000",
        "cluster prod",
        "cluster stage",
        "prod: outside the cluster",
    ] {
        assert!(dom.contains(&format!(">{label}</text>")), "label {label:?} is not drawn: {dom}");
    }
    for part in ["<title>spans.csv · netmap</title>", "Legend", "Edges by kind", "Top outside destinations"] {
        assert!(dom.contains(part), "{part:?} missing from the page");
    }

    // (2) Outside destinations are drawn in the external colour: the three
    // hexagons are far more than the legend's swatch.
    let shot = dir.join("map.png");
    screenshot(&page, &shot, &dir);
    let external = count_pixels(&shot, EXTERNAL);
    let inside = count_pixels(&shot, INSIDE);
    assert!(external >= 3000, "only {external} pixels of the external fill {EXTERNAL:?}: style lost? ({})", shot.display());
    assert!(inside >= 3000, "only {inside} pixels of the inside fill {INSIDE:?}");

    // Control: the same page with the nodes' external fill removed fails the check.
    let control = dir.join("control.html");
    std::fs::write(&control, html.replace("fill=\"#ffa94d\"", "fill=\"#ffffff\"")).expect("control written");
    let control_shot = dir.join("control.png");
    screenshot(&control, &control_shot, &dir);
    let left = count_pixels(&control_shot, EXTERNAL);
    println!("pixels: external {external}, inside {inside}, control without the external fill {left}");
    assert!(left < 3000 && left < external / 3, "control still has {left} external pixels (page: {external})");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn svg_renders_hostile_names_exactly() {
    if let Err(why) = tools() {
        println!("SKIP svg_renders_hostile_names_exactly: {why}");
        return;
    }
    let dir = tempdir("graph-hostile");
    let input = dir.join("hostile.csv");
    std::fs::write(
        &input,
        "timestamp,k8s_cluster_name,src,dest,dest_ip,protocol,duration_ns,is_error\n\
         2024-05-01T12:00:00Z,prod,\"we\"\"ird\\\\n<b>&amp;\",api.example.com,,http,1,0\n\
         2024-05-01T12:00:00Z,prod,\"multi\nline\",名前.example.com,,http,1,0\n\
         2024-05-01T12:00:00Z,prod,\"x]; n1 -> n2 [\",end,,\"p\"\"r|o;t#o\",1,1\n",
    )
    .expect("input written");
    let out = Command::new(env!("CARGO_BIN_EXE_netmap"))
        .args(["classify", "--cidrs"])
        .arg(Path::new(ROOT).join("fixtures/cidrs.csv"))
        .arg("--input")
        .arg(&input)
        .args(["-o", "svg"])
        .output()
        .expect("netmap runs");
    assert!(out.status.success(), "netmap -o svg failed: {}", String::from_utf8_lossy(&out.stderr));
    let svg = String::from_utf8(out.stdout).expect("utf-8 SVG");
    // Graphviz drew each name as written: XML-escaped once, nothing interpreted.
    for text in [
        r">we&quot;ird\\n&lt;b&gt;&amp;amp;</text>",
        r">multi\nline</text>",
        ">名前.example.com</text>",
        ">x]; n1 &#45;&gt; n2 [</text>",
        ">p&quot;r|o;t#o: 1 call, 1 err</text>",
    ] {
        assert!(svg.contains(text), "{text:?} not in the SVG:\n{svg}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
