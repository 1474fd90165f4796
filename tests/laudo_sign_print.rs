//! End to end through the `vistoria` binary: the sample laudo, its signature on a SoftHSM2
//! token (`vistoria sign`), checked by `openssl cms`, and its printing on a private CUPS with
//! the `cups-pdf` queue (§10, §14). Services run in temp dirs on loopback ports.
//!
//! cups-pdf reads its settings only from `/etc/cups/cups-pdf-<suffix>.conf`, so the test
//! writes one such file named after its port (output into its temp dir) and removes it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use vistoria_core::laudo::Laudo;
use vistoria_core::signing::verify_p7s;

const VISTORIA: &str = env!("CARGO_BIN_EXE_vistoria");
const CPF: &str = "52998224725";

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn vistoria(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(VISTORIA)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn sample(dir: &Path) -> Laudo {
    let out = vistoria(&["laudo", "sample", "--out", dir.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Laudo::from_canonical(&std::fs::read(dir.join("laudo.json")).unwrap()).unwrap()
}

/// Page count from `pdfinfo`.
fn pages(pdf: &Path) -> u32 {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Page 1 rendered at 40 dpi, grey.
fn render_gray(pdf: &Path, dir: &Path, name: &str) -> image::GrayImage {
    let prefix = dir.join(name);
    let ok = Command::new("pdftoppm")
        .args([
            "-r",
            "40",
            "-gray",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap()
        .success();
    assert!(ok, "pdftoppm {}", pdf.display());
    image::open(prefix.with_extension("png"))
        .unwrap()
        .to_luma8()
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Page size in points of page 1, from `pdfinfo`.
fn page_size_pt(pdf: &Path) -> (f64, f64) {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .unwrap()
        .to_owned();
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

/// Renders page 1 at 600 dpi and returns the PNG's width and height.
fn render_600dpi(pdf: &Path, dir: &Path) -> (u32, u32) {
    let prefix = dir.join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "600", "-f", "1", "-l", "1", "-png", "-singlefile"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read(prefix.with_extension("png")).unwrap();
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn assert_a4_600dpi(pdf: &Path, dir: &Path) {
    let (w, h) = page_size_pt(pdf);
    assert!(
        (w - 595.28).abs() < 1.0 && (h - 841.89).abs() < 1.0,
        "{w}×{h} pt"
    );
    let (px_w, px_h) = render_600dpi(pdf, dir);
    assert!(
        px_w.abs_diff(4961) <= 2 && px_h.abs_diff(7016) <= 2,
        "{px_w}×{px_h} px"
    );
}

#[test]
fn sample_laudo_is_canonical_a4_and_has_plate_and_number() {
    if !have("pdftotext") {
        eprintln!("SKIP: poppler-utils not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let laudo = sample(dir.path());
    assert_eq!(laudo.photos.len(), 12);
    let pdf = dir.path().join("laudo.pdf");
    assert_a4_600dpi(&pdf, dir.path());
    let text = pdftotext(&pdf);
    assert!(text.contains(&laudo.vehicle.plate), "{text}");
    assert!(text.contains(&laudo.number), "{text}");
    let fonts = Command::new("pdffonts").arg(&pdf).output().unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout);
    // Regular and bold, both embedded (printpdf names them F0, F1).
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(rows.len() >= 2, "{fonts}");
    assert!(
        rows.iter().all(|l| l.contains(" yes ")),
        "every font embedded:\n{fonts}"
    );
}

#[test]
fn vistoria_sign_on_softhsm_makes_a_p7s_openssl_accepts() {
    if !have("softhsm2-util") || !have("pkcs11-tool") || !have("openssl") {
        eprintln!("SKIP: softhsm2, opensc or openssl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let options = vistoria_core::signing::test_pki::Options {
        softhsm: true,
        ..Default::default()
    };
    vistoria_core::signing::test_pki::make(&pki, CPF, &options).unwrap();
    let laudo = sample(dir.path());
    let module = std::fs::read_to_string(pki.join("module.txt")).unwrap();
    let conf = pki.join("softhsm2.conf");
    let json = dir.path().join("laudo.json");
    let p7s = dir.path().join("laudo.json.p7s");
    let envs = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("CARD_PIN", "123456"),
    ];
    let out = vistoria(
        &[
            "sign",
            "--module",
            &module,
            "--pin-env",
            "CARD_PIN",
            "--cpf",
            CPF,
            "--roots",
            pki.join("ca.pem").to_str().unwrap(),
            json.to_str().unwrap(),
            "-o",
            p7s.to_str().unwrap(),
        ],
        &envs,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let verify = |content: &Path| {
        Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-binary",
                "-out",
                "/dev/null",
            ])
            .arg("-in")
            .arg(&p7s)
            .arg("-content")
            .arg(content)
            .arg("-CAfile")
            .arg(pki.join("ca.pem"))
            .status()
            .unwrap()
            .success()
    };
    assert!(verify(&json));
    let printed = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&p7s)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("2.16.76.1.7.1.1.2.3"), "{printed}");
    assert!(printed.contains("signingCertificateV2"), "{printed}");

    let content = std::fs::read(&json).unwrap();
    let signature = std::fs::read(&p7s).unwrap();
    assert_eq!(verify_p7s(&content, &signature, CPF).unwrap().cpf, CPF);
    assert!(
        content
            .windows(laudo.number.len())
            .any(|w| w == laudo.number.as_bytes())
    );

    let mut tampered = content.clone();
    tampered[1] ^= 0x01;
    let tampered_path = dir.path().join("tampered.json");
    std::fs::write(&tampered_path, &tampered).unwrap();
    assert!(!verify(&tampered_path));
    assert!(verify_p7s(&tampered, &signature, CPF).is_err());

    // Wrong PIN: the Portuguese message, and no .p7s written.
    let other = dir.path().join("other.p7s");
    let out = vistoria(
        &[
            "sign",
            "--module",
            &module,
            "--pin-env",
            "CARD_PIN",
            json.to_str().unwrap(),
            "-o",
            other.to_str().unwrap(),
        ],
        &[
            ("SOFTHSM2_CONF", conf.to_str().unwrap()),
            ("CARD_PIN", "999999"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PIN incorreto"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!other.exists());
}

struct Cups {
    child: Child,
    port: u16,
    dir: PathBuf,
    conf: PathBuf,
}

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.conf);
    }
}

fn start_cups(dir: &Path) -> Option<Cups> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    for sub in ["spool", "tmp", "state", "cache", "log", "ppd", "out"] {
        std::fs::create_dir_all(dir.join(sub)).ok()?;
    }
    // cupsd runs its filters as the unprivileged `lp` user: they must reach the private
    // folders (the test's temporary folder is 0700) and write temporary files.
    use std::os::unix::fs::PermissionsExt;
    let open =
        |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    if let Some(parent) = dir.parent() {
        open(parent, 0o755).ok()?;
    }
    open(dir, 0o755).ok()?;
    open(&dir.join("tmp"), 0o1777).ok()?;
    // cups-pdf writes as the anonymous user (`nobody`) for a job from an unknown user.
    open(&dir.join("out"), 0o1777).ok()?;
    let d = dir.display();
    std::fs::write(
        dir.join("cupsd.conf"),
        format!(
            "Listen 127.0.0.1:{port}\nLogLevel info\nBrowsing Off\nWebInterface No\nDefaultAuthType None\n\
             <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Policy default>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n</Policy>\n"
        ),
    )
    .ok()?;
    std::fs::write(
        dir.join("cups-files.conf"),
        format!(
            "ServerRoot {d}\nRequestRoot {d}/spool\nTempDir {d}/tmp\nStateDir {d}/state\nCacheDir {d}/cache\n\
             ErrorLog {d}/log/error_log\nAccessLog {d}/log/access_log\nPageLog {d}/log/page_log\n\
             ServerBin /usr/lib/cups\nDataDir /usr/share/cups\nFileDevice No\nSandboxing Relaxed\n"
        ),
    )
    .ok()?;
    let conf = PathBuf::from(format!("/etc/cups/cups-pdf-vt{port}.conf"));
    std::fs::write(
        &conf,
        format!("Out {d}/out\nAnonDirName {d}/out\nLabel 0\nLog {d}/log\n"),
    )
    .ok()?;
    let child = Command::new("cupsd")
        .arg("-f")
        .arg("-c")
        .arg(dir.join("cupsd.conf"))
        .arg("-s")
        .arg(dir.join("cups-files.conf"))
        .spawn()
        .ok()?;
    let cups = Cups {
        child,
        port,
        dir: dir.to_path_buf(),
        conf,
    };
    let started = Instant::now();
    loop {
        let added = Command::new("lpadmin")
            .args(["-h", &format!("127.0.0.1:{port}"), "-p", "Laudos", "-E"])
            .args(["-v", &format!("cups-pdf:/vt{port}")])
            .args(["-P", "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"])
            // Poppler keeps the embedded fonts text-extractable through the PostScript step.
            .args(["-o", "pdftops-renderer-default=pdftops"])
            .output()
            .ok()?;
        if added.status.success() {
            return Some(cups);
        }
        if started.elapsed() > Duration::from_secs(15) {
            eprintln!("lpadmin: {}", String::from_utf8_lossy(&added.stderr));
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn laudo_prints_on_cups_pdf_as_a4_at_600_dpi() {
    let ppd = Path::new("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd");
    if !have("cupsd") || !have("lpadmin") || !ppd.exists() || !have("pdftoppm") {
        eprintln!("SKIP: cups, cups-pdf or poppler-utils not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cups_dir = dir.path().join("cups");
    let Some(cups) = start_cups(&cups_dir) else {
        eprintln!("SKIP: cannot start a private cupsd here (needs root for cups-pdf)");
        return;
    };
    let queue = format!("http://127.0.0.1:{}/printers/Laudos", cups.port);
    let pdf = dir.path().join("laudo.pdf");
    let out = vistoria(
        &[
            "laudo",
            "print",
            "--printer",
            &queue,
            "--timeout",
            "120",
            pdf.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(pdf.exists(), "the laudo is kept");

    let printed = std::fs::read_dir(cups.dir.join("out"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .expect("cups-pdf wrote the printed PDF");
    assert_a4_600dpi(&printed, dir.path());
    // The laudo's text is in the PDF sent (checked by the sample test); the copy cups-pdf makes
    // went through PostScript, which renumbers the glyphs, so compare what the pages look like.
    assert_eq!(pages(&printed), pages(&pdf));
    let a = render_gray(&pdf, dir.path(), "enviado");
    let b = render_gray(&printed, dir.path(), "impresso");
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let diff: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| f64::from(p.0[0].abs_diff(q.0[0])))
        .sum::<f64>()
        / f64::from(a.width() * a.height());
    assert!(
        diff < 6.0,
        "printed page 1 differs from the laudo: {diff:.1}/255 on average"
    );

    // A queue that does not exist: clear message, laudo kept.
    let missing = format!("http://127.0.0.1:{}/printers/NaoExiste", cups.port);
    let out = vistoria(
        &[
            "laudo",
            "print",
            "--printer",
            &missing,
            pdf.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("não encontrada"), "{stderr}");
    assert!(pdf.exists());

    // §10: a queue whose filter fails. CUPS stops the job and the printer; the print must say
    // so at once (not wait out its two minutes) and keep the laudo for a reprint.
    let broken_ppd = cups.dir.join("quebrada.ppd");
    let ppd_text = std::fs::read_to_string(ppd).unwrap().replacen(
        "*ModelName:",
        "*cupsFilter: \"application/pdf 0 /bin/false\"\n*ModelName:",
        1,
    );
    std::fs::write(&broken_ppd, ppd_text).unwrap();
    let added = Command::new("lpadmin")
        .args([
            "-h",
            &format!("127.0.0.1:{}", cups.port),
            "-p",
            "Quebrada",
            "-E",
        ])
        .args(["-v", &format!("cups-pdf:/vt{}", cups.port)])
        .arg("-P")
        .arg(&broken_ppd)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let broken = format!("http://127.0.0.1:{}/printers/Quebrada", cups.port);
    let started = Instant::now();
    let out = vistoria(
        &[
            "laudo",
            "print",
            "--printer",
            &broken,
            "--timeout",
            "120",
            pdf.to_str().unwrap(),
        ],
        &[],
    );
    let took = started.elapsed();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("impressora parada") || stderr.contains("a impressão falhou"),
        "{stderr}"
    );
    assert!(stderr.contains("reimpr"), "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}: {stderr}");
    assert!(pdf.exists(), "the laudo is kept for a reprint");
    // A queue stopped by the technician (`cupsdisable`, as CUPS's stop-printer error policy
    // leaves it): refused at once, before anything is sent.
    let disabled = Command::new("cupsdisable")
        .args(["-h", &format!("127.0.0.1:{}", cups.port), "Quebrada"])
        .status()
        .unwrap();
    assert!(disabled.success());
    let out = vistoria(
        &[
            "laudo",
            "print",
            "--printer",
            &broken,
            pdf.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("impressora parada"), "{stderr}");
    assert!(pdf.exists());
}
