//! Prints parse and render outcomes for DICOM files: `cargo run --example svdicom_probe -- FILES…`.

use sv_dicom::{Limits, PreviewFormat, PreviewOptions};

fn main() {
    for path in std::env::args().skip(1) {
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                println!("{name}\tread-error\t{e}");
                continue;
            }
        };
        let t = std::time::Instant::now();
        match sv_dicom::parse_for_preview(&bytes, &Limits::default()) {
            Err(e) => println!("{name}\tparse:{}\t{e}", e.code()),
            Ok(p) => {
                let s = p.summary();
                let opts = PreviewOptions {
                    format: PreviewFormat::Png,
                    ..PreviewOptions::default()
                };
                match p.render_preview(&opts) {
                    Ok(pv) => {
                        println!(
                            "{name}\trendered\t{}x{} {} {}B {:?} {:.1}ms",
                            pv.width,
                            pv.height,
                            s.photometric_interpretation.as_deref().unwrap_or("-"),
                            pv.bytes.len(),
                            s.transfer_syntax_uid,
                            t.elapsed().as_secs_f64() * 1e3
                        );
                        if let Ok(dir) = std::env::var("PROBE_OUT") {
                            let _ = std::fs::write(format!("{dir}/{name}.png"), &pv.bytes);
                        }
                    }
                    Err(e) => println!("{name}\trender:{}\t{e}", e.code()),
                }
            }
        }
    }
}
