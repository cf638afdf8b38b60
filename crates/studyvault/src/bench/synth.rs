//! Synthetic images for the load bench, explicit VR little endian Part 10 files: CT slices
//! (512×512 signed 16-bit, a body-like phantom with noise) and digital radiographs
//! (2500×3000, 12 bits stored, a chest-like gradient with noise), so previews and JPEG
//! encoding do real work. Names and ids are invented (`Bench^Synthetic`); no real patient
//! data.

/// A study of synthetic slices: one study and series UID, fresh SOP UIDs per call.
#[derive(Debug, Clone)]
pub struct CtSeries {
    pub study_uid: String,
    pub series_uid: String,
    root: String,
    next: u32,
}

const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const DX_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.1.1";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const SIZE: usize = 512;

impl CtSeries {
    /// A new series under a random UID root (2.25.<random>), so reruns never collide.
    pub fn new() -> anyhow::Result<CtSeries> {
        let mut r = [0u8; 12];
        getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let n = r.iter().fold(0u128, |acc, b| (acc << 8) | *b as u128);
        let root = format!("2.25.{n}");
        Ok(CtSeries {
            study_uid: format!("{root}.1"),
            series_uid: format!("{root}.2"),
            root,
            next: 0,
        })
    }

    /// The next slice's SOP Instance UID and Part 10 bytes.
    pub fn next_slice(&mut self) -> (String, Vec<u8>) {
        self.next += 1;
        let sop = format!("{}.3.{}", self.root, self.next);
        let bytes = ct_slice(&self.study_uid, &self.series_uid, &sop, self.next);
        (sop, bytes)
    }

    /// The next radiograph of the series (a DX image, 2500 columns × 3000 rows): its SOP
    /// Instance UID and Part 10 bytes (about 15 MB).
    pub fn next_radiograph(&mut self) -> (String, Vec<u8>) {
        self.next += 1;
        let sop = format!("{}.3.{}", self.root, self.next);
        let image = Image {
            sop_class: DX_IMAGE_STORAGE,
            modality: "DX",
            rows: RADIOGRAPH_ROWS,
            columns: RADIOGRAPH_COLUMNS,
            bits_stored: 12,
            signed: false,
            window: ("2048", "4096"),
            rescale_intercept: "0",
            pixels: radiograph_pixels(self.next),
        };
        let bytes = part10(&image, &self.study_uid, &self.series_uid, &sop, self.next);
        (sop, bytes)
    }
}

pub const RADIOGRAPH_ROWS: usize = 3000;
pub const RADIOGRAPH_COLUMNS: usize = 2500;

/// One slice as a Part 10 file.
pub fn ct_slice(study: &str, series: &str, sop: &str, number: u32) -> Vec<u8> {
    let image = Image {
        sop_class: CT_IMAGE_STORAGE,
        modality: "CT",
        rows: SIZE,
        columns: SIZE,
        bits_stored: 16,
        signed: true,
        window: ("40", "400"),
        rescale_intercept: "-1024",
        pixels: pixels(number),
    };
    part10(&image, study, series, sop, number)
}

/// What differs between the synthetic modalities.
struct Image {
    sop_class: &'static str,
    modality: &'static str,
    rows: usize,
    columns: usize,
    bits_stored: u16,
    signed: bool,
    /// Window center and width.
    window: (&'static str, &'static str),
    rescale_intercept: &'static str,
    /// 16 bits per pixel, little endian.
    pixels: Vec<u8>,
}

fn part10(image: &Image, study: &str, series: &str, sop: &str, number: u32) -> Vec<u8> {
    let mut ds = Vec::with_capacity(image.pixels.len() + 2048);
    let n = number.to_string();
    short(&mut ds, 0x0008, 0x0016, b"UI", image.sop_class.as_bytes());
    short(&mut ds, 0x0008, 0x0018, b"UI", sop.as_bytes());
    short(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    short(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    short(&mut ds, 0x0008, 0x0060, b"CS", image.modality.as_bytes());
    short(&mut ds, 0x0008, 0x1030, b"LO", b"Synthetic bench study");
    short(&mut ds, 0x0010, 0x0010, b"PN", b"Bench^Synthetic");
    short(&mut ds, 0x0010, 0x0020, b"LO", b"BENCH-0001");
    short(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    short(&mut ds, 0x0020, 0x000E, b"UI", series.as_bytes());
    short(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    short(&mut ds, 0x0020, 0x0013, b"IS", n.as_bytes());
    short(&mut ds, 0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    short(
        &mut ds,
        0x0028,
        0x0010,
        b"US",
        &(image.rows as u16).to_le_bytes(),
    );
    short(
        &mut ds,
        0x0028,
        0x0011,
        b"US",
        &(image.columns as u16).to_le_bytes(),
    );
    short(&mut ds, 0x0028, 0x0030, b"DS", b"0.7\\0.7");
    short(&mut ds, 0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    short(
        &mut ds,
        0x0028,
        0x0101,
        b"US",
        &image.bits_stored.to_le_bytes(),
    );
    short(
        &mut ds,
        0x0028,
        0x0102,
        b"US",
        &(image.bits_stored - 1).to_le_bytes(),
    );
    short(
        &mut ds,
        0x0028,
        0x0103,
        b"US",
        &u16::from(image.signed).to_le_bytes(),
    );
    short(&mut ds, 0x0028, 0x1050, b"DS", image.window.0.as_bytes());
    short(&mut ds, 0x0028, 0x1051, b"DS", image.window.1.as_bytes());
    short(
        &mut ds,
        0x0028,
        0x1052,
        b"DS",
        image.rescale_intercept.as_bytes(),
    );
    short(&mut ds, 0x0028, 0x1053, b"DS", b"1");
    long(&mut ds, 0x7FE0, 0x0010, b"OW", &image.pixels);

    let mut meta = Vec::new();
    long(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    short(&mut meta, 0x0002, 0x0002, b"UI", image.sop_class.as_bytes());
    short(&mut meta, 0x0002, 0x0003, b"UI", sop.as_bytes());
    short(&mut meta, 0x0002, 0x0010, b"UI", EXPLICIT_LE.as_bytes());
    short(&mut meta, 0x0002, 0x0012, b"UI", b"2.25.1234567890");
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    short(
        &mut out,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    out.extend_from_slice(&meta);
    out.extend_from_slice(&ds);
    out
}

/// Stored values (HU + 1024): air outside an elliptic body, soft tissue, a bright spine,
/// darker lungs, and noise; the shapes drift a little with the slice number.
fn pixels(number: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE * SIZE * 2);
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(number);
    let c = SIZE as f32 / 2.0;
    let drift = (number % 20) as f32;
    for y in 0..SIZE {
        for x in 0..SIZE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 41) as i32 - 20;
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let body = (dx / 220.0).powi(2) + (dy / (160.0 + drift)).powi(2) <= 1.0;
            let lung = ((dx.abs() - 90.0) / 60.0).powi(2) + ((dy + 20.0) / 80.0).powi(2) <= 1.0;
            let spine = (dx / 25.0).powi(2) + ((dy - 100.0) / 25.0).powi(2) <= 1.0;
            let hu = match (body, lung, spine) {
                (false, _, _) => -1000,
                (true, _, true) => 700,
                (true, true, _) => -850,
                _ => 40,
            };
            let v = (hu + noise + 1024) as i16;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// 12-bit values: brighter towards the middle (a mediastinum), two darker lung fields,
/// horizontal rib bands, and noise; shifted a little with the image number.
fn radiograph_pixels(number: u32) -> Vec<u8> {
    let (rows, cols) = (RADIOGRAPH_ROWS, RADIOGRAPH_COLUMNS);
    let mut out = Vec::with_capacity(rows * cols * 2);
    let mut state = 0xD1B5_4A32_D192_ED03u64 ^ u64::from(number);
    let shift = (number % 16) as usize * 8;
    for y in 0..rows {
        let rib = if ((y + shift) / 90).is_multiple_of(2) {
            180
        } else {
            0
        };
        for x in 0..cols {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 97) as i32 - 48;
            let from_middle = (x as i32 - cols as i32 / 2).abs();
            let lung = (400..1000).contains(&from_middle) && (500..2400).contains(&y);
            let base = if lung { 900 + rib } else { 2600 - from_middle };
            let v = (base + noise).clamp(0, 4095) as u16;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn padded(vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == b"UI" || vr == b"OB" { 0 } else { b' ' });
    }
    v
}

fn short(out: &mut Vec<u8>, group: u16, element: u16, vr: &[u8; 2], value: &[u8]) {
    let v = padded(vr, value);
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&(v.len() as u16).to_le_bytes());
    out.extend_from_slice(&v);
}

fn long(out: &mut Vec<u8>, group: u16, element: u16, vr: &[u8; 2], value: &[u8]) {
    let v = padded(vr, value);
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend_from_slice(&v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_parse_and_render_as_512_square_ct() {
        let mut series = CtSeries::new().unwrap();
        let (sop, bytes) = series.next_slice();
        let parsed = sv_dicom::parse(&bytes, &sv_dicom::Limits::default()).unwrap();
        let summary = parsed.summary();
        assert_eq!(summary.sop_instance_uid, sop);
        assert!(summary.is_image());
        let preview = parsed
            .render_preview(&sv_dicom::PreviewOptions::default())
            .unwrap();
        assert_eq!(preview.format, sv_dicom::PreviewFormat::Jpeg);
        let (_, second) = series.next_slice();
        assert_ne!(bytes, second);
    }

    #[test]
    fn radiographs_parse_and_render_as_dx() {
        let mut series = CtSeries::new().unwrap();
        let (sop, bytes) = series.next_radiograph();
        let parsed = sv_dicom::parse(&bytes, &sv_dicom::Limits::default()).unwrap();
        let summary = parsed.summary();
        assert_eq!(summary.sop_instance_uid, sop);
        assert_eq!(summary.modality.as_deref(), Some("DX"));
        assert_eq!(summary.rows, Some(RADIOGRAPH_ROWS as u16));
        assert_eq!(summary.columns, Some(RADIOGRAPH_COLUMNS as u16));
        let preview = parsed
            .render_preview(&sv_dicom::PreviewOptions::default())
            .unwrap();
        assert!(preview.width.min(preview.height) >= 500);
    }
}
