//! Writing and reading a 1,000-image study (10 series of 100 images, previews named).
//!
//! `cargo bench -p sv-hvxml --bench write_study` (target: writing well under a few ms).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sv_hvxml::{XmlLimits, read_medical_image_study_with, write_medical_image_study};
use sv_model::NonBlank;
use sv_model::study::{
    CodableValue, HvDate, HvDateTime, HvTime, MedicalImageStudy, NonEmpty, Series, SeriesImage,
};

fn nb(text: String) -> NonBlank {
    NonBlank::new(text).expect("non-blank")
}

fn study(series_count: usize, per_series: usize) -> MedicalImageStudy {
    let when = HvDateTime {
        date: HvDate::new(2024, 2, 29).expect("date"),
        time: Some(HvTime::new(11, 4, Some(9), Some(97)).expect("time")),
        tz: None,
    };
    let series = (0..series_count)
        .map(|s| {
            let uid = format!("1.2.826.0.1.3680043.8.498.{s}");
            let images = (0..per_series)
                .map(|i| SeriesImage {
                    image_blob_name: nb(format!("{uid}.{i}")),
                    image_preview_blob_name: Some(nb(format!("{uid}.{i}.preview.jpg"))),
                })
                .collect();
            let mut series =
                Series::new(NonEmpty::from_vec(images, "series", "image").expect("images"));
            series.modality = Some(CodableValue::dicom_modality("CT"));
            series.series_instance_uid = Some(nb(uid));
            series
        })
        .collect();
    let mut study = MedicalImageStudy::new(
        when,
        NonEmpty::from_vec(series, "study", "series").expect("series"),
    );
    study.study_instance_uid = Some(nb("1.2.826.0.1.3680043.8.498".into()));
    study
}

fn bench(c: &mut Criterion) {
    let study = study(10, 100);
    let xml = write_medical_image_study(&study);
    let limits = XmlLimits {
        max_bytes: 16 << 20,
        ..XmlLimits::default()
    };
    println!("1,000-image study: {} bytes of XML", xml.len());
    c.bench_function("write 1,000-image study", |b| {
        b.iter(|| write_medical_image_study(black_box(&study)))
    });
    c.bench_function("read 1,000-image study", |b| {
        b.iter(|| read_medical_image_study_with(black_box(xml.as_bytes()), &limits).expect("reads"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
