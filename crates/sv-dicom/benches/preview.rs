//! Per-instance cost of parse + render + encode for a synthetic CT slice and radiograph.
//!
//! `cargo bench -p sv-dicom --bench preview` (release profile); prints ms per instance.

use sv_dicom::synthetic as synth;

use std::time::{Duration, Instant};

use sv_dicom::{Limits, PreviewFormat, PreviewOptions, parse, parse_header};

fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    std::hint::black_box(f()); // warm-up
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    t.elapsed() / runs
}

fn ms(d: Duration) -> String {
    format!("{:7.2} ms", d.as_secs_f64() * 1e3)
}

fn bench(name: &str, bytes: &[u8], runs: u32) {
    let limits = Limits::default();
    let jpeg = PreviewOptions::default();
    let png = PreviewOptions {
        format: PreviewFormat::Png,
        ..PreviewOptions::default()
    };
    let parsed = parse(bytes, &limits).expect("parse");
    let header = time(runs, || parse_header(bytes, &limits).unwrap());
    let full = time(runs, || parse(bytes, &limits).unwrap());
    let render = time(runs, || parsed.render_image().unwrap());
    let jpeg_only = time(runs, || parsed.render_preview(&jpeg).unwrap());
    let total_jpeg = time(runs, || {
        parse(bytes, &limits)
            .unwrap()
            .render_preview(&jpeg)
            .unwrap()
    });
    let total_png = time(runs, || {
        parse(bytes, &limits).unwrap().render_preview(&png).unwrap()
    });
    let pv = parsed.render_preview(&jpeg).unwrap();
    println!(
        "{name} ({} MB, preview {}x{}, {} KB):",
        bytes.len() >> 20,
        pv.width,
        pv.height,
        pv.bytes.len() >> 10
    );
    println!("  parse_header                 {}", ms(header));
    println!("  parse                        {}", ms(full));
    println!("  render_image (native 8-bit)  {}", ms(render));
    println!("  render_preview JPEG          {}", ms(jpeg_only));
    println!("  parse + preview JPEG (total) {}", ms(total_jpeg));
    println!("  parse + preview PNG  (total) {}", ms(total_png));
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep it quick there.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { 40 };
    bench("CT 512x512 16-bit", &synth::ct_slice(), runs);
    bench(
        "radiograph 2500x3000 16-bit",
        &synth::radiograph(),
        runs.div_ceil(4),
    );
}
