//! Files the tests and the benchmark upload: noise, real JPEGs (with or without EXIF) and real
//! WAV recordings, made in memory.

use chrono::NaiveDateTime;

/// `len` pseudo-random bytes from `seed` (xorshift: fast, and incompressible enough).
pub fn blob(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(7);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A real `width`×`height` JPEG of one colour.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(width, height, image::Rgb([200, 120, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding a JPEG in memory cannot fail");
    out.into_inner()
}

/// A real `width`×`height` JPEG that compresses like a camera's photo (a scene of gradients with
/// sensor noise from `seed`), not like a flat colour: about 0.3 bytes a pixel.
pub fn camera_photo(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let noise = blob((width * height) as usize, seed);
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let n = noise[(y * width + x) as usize] / 8;
        let shade = |v: u32, span: u32| (v * 200 / span.max(1)) as u8;
        image::Rgb([
            shade(x, width).wrapping_add(n),
            shade(y, height).wrapping_add(n),
            shade(x + y, width + height).wrapping_add(n),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding a JPEG in memory cannot fail");
    out.into_inner()
}

/// Where and when a camera says a photo was taken.
#[derive(Debug, Clone, Copy)]
pub struct CameraTags {
    /// `DateTimeOriginal`, the camera's local time.
    pub taken: NaiveDateTime,
    /// `OffsetTimeOriginal`, e.g. `+08:00`; none leaves the local time without a zone.
    pub offset: Option<&'static str>,
    /// Latitude and longitude in degrees (south and west negative).
    pub position: (f64, f64),
}

/// `jpeg` with an EXIF segment (APP1) carrying `tags`, as a phone camera writes it.
pub fn with_exif(jpeg: &[u8], tags: CameraTags) -> Vec<u8> {
    let tiff = tiff_with(tags);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let length = u16::try_from(app1.len() + 2).expect("an EXIF segment under 64 KiB");
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// One IFD entry: tag, type (2 ASCII, 4 LONG, 5 RATIONAL), count and value bytes.
type Entry = (u16, u16, u32, Vec<u8>);

/// An IFD placed at `start` (from the TIFF header), values over four bytes after it.
fn ifd(entries: &[Entry], start: u32) -> Vec<u8> {
    let count = u16::try_from(entries.len()).expect("a few entries");
    let table_len = 2 + 12 * u32::from(count) + 4;
    let mut table = count.to_le_bytes().to_vec();
    let mut data = Vec::new();
    for (tag, kind, n, value) in entries {
        table.extend(tag.to_le_bytes());
        table.extend(kind.to_le_bytes());
        table.extend(n.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            table.extend(inline);
        } else {
            let offset = start + table_len + u32::try_from(data.len()).expect("small");
            table.extend(offset.to_le_bytes());
            data.extend(value);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    table.extend(0u32.to_le_bytes()); // no next IFD
    table.extend(data);
    table
}

fn ascii(text: &str) -> (u32, Vec<u8>) {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    (u32::try_from(bytes.len()).expect("short"), bytes)
}

/// Degrees as three rationals: degrees, minutes, seconds (in 1/1000).
fn dms(degrees: f64) -> Vec<u8> {
    let degrees = degrees.abs();
    let whole = degrees.trunc();
    let minutes = ((degrees - whole) * 60.0).trunc();
    let seconds = ((degrees - whole) * 60.0 - minutes) * 60.0;
    let mut out = Vec::new();
    for (numerator, denominator) in [
        (whole as u32, 1u32),
        (minutes as u32, 1),
        ((seconds * 1000.0).round() as u32, 1000),
    ] {
        out.extend(numerator.to_le_bytes());
        out.extend(denominator.to_le_bytes());
    }
    out
}

/// A little-endian TIFF structure: IFD0 pointing to an Exif IFD and a GPS IFD.
fn tiff_with(tags: CameraTags) -> Vec<u8> {
    const IFD0_AT: u32 = 8;
    const IFD0_LEN: u32 = 2 + 12 * 2 + 4; // two inline entries, no data area
    let exif_at = IFD0_AT + IFD0_LEN;
    let mut exif_entries = Vec::new();
    let (n, taken) = ascii(&tags.taken.format("%Y:%m:%d %H:%M:%S").to_string());
    exif_entries.push((0x9003, 2, n, taken));
    if let Some(offset) = tags.offset {
        let (n, offset) = ascii(offset);
        exif_entries.push((0x9011, 2, n, offset));
    }
    let exif = ifd(&exif_entries, exif_at);
    let gps_at = exif_at + u32::try_from(exif.len()).expect("small");
    let (lat, lon) = tags.position;
    let gps = ifd(
        &[
            (1, 2, 2, ascii(if lat < 0.0 { "S" } else { "N" }).1),
            (2, 5, 3, dms(lat)),
            (3, 2, 2, ascii(if lon < 0.0 { "W" } else { "E" }).1),
            (4, 5, 3, dms(lon)),
        ],
        gps_at,
    );
    let ifd0 = ifd(
        &[
            (0x8769, 4, 1, exif_at.to_le_bytes().to_vec()),
            (0x8825, 4, 1, gps_at.to_le_bytes().to_vec()),
        ],
        IFD0_AT,
    );
    let mut out = b"II*\0".to_vec();
    out.extend(IFD0_AT.to_le_bytes());
    out.extend(ifd0);
    out.extend(exif);
    out.extend(gps);
    out
}

/// A PCM WAV recording of `millis` of a quiet tone at 8 kHz, mono, 16-bit.
pub fn wav(millis: u32) -> Vec<u8> {
    let samples = 8 * millis;
    let data_len = samples * 2;
    let mut out = b"RIFF".to_vec();
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes()); // PCM
    out.extend(1u16.to_le_bytes()); // mono
    out.extend(8000u32.to_le_bytes());
    out.extend(16000u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    for i in 0..samples {
        let sample: i16 = if (i / 10) % 2 == 0 { 300 } else { -300 };
        out.extend(sample.to_le_bytes());
    }
    out
}
