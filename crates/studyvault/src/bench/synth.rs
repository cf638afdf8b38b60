//! Synthetic CT slices for the load bench: 512×512 signed 16-bit, explicit VR little endian
//! Part 10 files with a body-like phantom and noise, so previews and JPEG encoding do real
//! work. Names and ids are invented (`Bench^Synthetic`); no real patient data.

/// A study of synthetic slices: one study and series UID, fresh SOP UIDs per call.
#[derive(Debug, Clone)]
pub struct CtSeries {
    pub study_uid: String,
    pub series_uid: String,
    root: String,
    next: u32,
}

const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
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
}

/// One slice as a Part 10 file.
pub fn ct_slice(study: &str, series: &str, sop: &str, number: u32) -> Vec<u8> {
    let mut ds = Vec::with_capacity(SIZE * SIZE * 2 + 2048);
    let n = number.to_string();
    short(&mut ds, 0x0008, 0x0016, b"UI", CT_IMAGE_STORAGE.as_bytes());
    short(&mut ds, 0x0008, 0x0018, b"UI", sop.as_bytes());
    short(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    short(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    short(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    short(&mut ds, 0x0008, 0x1030, b"LO", b"Synthetic bench study");
    short(&mut ds, 0x0010, 0x0010, b"PN", b"Bench^Synthetic");
    short(&mut ds, 0x0010, 0x0020, b"LO", b"BENCH-0001");
    short(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    short(&mut ds, 0x0020, 0x000E, b"UI", series.as_bytes());
    short(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    short(&mut ds, 0x0020, 0x0013, b"IS", n.as_bytes());
    short(&mut ds, 0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    short(&mut ds, 0x0028, 0x0010, b"US", &(SIZE as u16).to_le_bytes());
    short(&mut ds, 0x0028, 0x0011, b"US", &(SIZE as u16).to_le_bytes());
    short(&mut ds, 0x0028, 0x0030, b"DS", b"0.7\\0.7");
    short(&mut ds, 0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x0101, b"US", &16u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x0102, b"US", &15u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x0103, b"US", &1u16.to_le_bytes());
    short(&mut ds, 0x0028, 0x1050, b"DS", b"40");
    short(&mut ds, 0x0028, 0x1051, b"DS", b"400");
    short(&mut ds, 0x0028, 0x1052, b"DS", b"-1024");
    short(&mut ds, 0x0028, 0x1053, b"DS", b"1");
    long(&mut ds, 0x7FE0, 0x0010, b"OW", &pixels(number));

    let mut meta = Vec::new();
    long(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    short(
        &mut meta,
        0x0002,
        0x0002,
        b"UI",
        CT_IMAGE_STORAGE.as_bytes(),
    );
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
}
