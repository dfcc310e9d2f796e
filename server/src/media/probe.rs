//! What a stored file's bytes say about it: a photo's capture time and place (EXIF) and a
//! recording's duration. Neither decodes pixels or samples: EXIF is read from the header bytes
//! already in hand, and a duration comes from the container's own figures or, failing those, from
//! the packets' durations summed as the file is read through (streamed from the store, never held
//! whole). Probing runs in `spawn_blocking` behind the state's semaphore.

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone as _, Utc};
use exif::{In, Reader, Tag, Value};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::media::MediaState;
use crate::storage::Storage;

/// When and where a file was made: as a photo's EXIF says, or as the phone declares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Origin {
    /// For EXIF: `DateTimeOriginal` with `OffsetTimeOriginal` (China time, UTC+8, when no
    /// offset is given).
    pub captured_at: Option<DateTime<Utc>>,
    /// GPS latitude and longitude in degrees.
    pub location: Option<(f64, f64)>,
}

/// Reads capture time and GPS position from the EXIF in `head` (the first bytes of a JPEG, PNG,
/// WebP or HEIF file); a file without EXIF, or with a malformed one, yields nothing.
pub fn exif(head: &[u8]) -> Origin {
    let Ok(data) = Reader::new().read_from_container(&mut Cursor::new(head)) else {
        return Origin::default();
    };
    let ascii = |tag: Tag| match data.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(parts)) => parts
            .first()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        _ => None,
    };
    let captured_at = ascii(Tag::DateTimeOriginal)
        .or_else(|| ascii(Tag::DateTime))
        .and_then(|local| local_time(&local, ascii(Tag::OffsetTimeOriginal).as_deref()));
    let degrees = |tag: Tag, reference: Tag, negative: &str| {
        let Some(Value::Rational(parts)) = data.get_field(tag, In::PRIMARY).map(|f| &f.value)
        else {
            return None;
        };
        let [d, m, s] = parts.as_slice() else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = if ascii(reference).as_deref() == Some(negative) {
            -1.0
        } else {
            1.0
        };
        value.is_finite().then_some(sign * value)
    };
    let location = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S")
        .zip(degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W"))
        .filter(|(lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0);
    Origin {
        captured_at,
        location,
    }
}

/// EXIF local time `YYYY:MM:DD HH:MM:SS` at `offset` (`+08:00`), or China time.
fn local_time(local: &str, offset: Option<&str>) -> Option<DateTime<Utc>> {
    let naive = chrono::NaiveDateTime::parse_from_str(local.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    // Cameras with an unset clock write 0000:00:00 or 1970; neither is a visit.
    if naive.date() < NaiveDate::from_ymd_opt(2000, 1, 1)? {
        return None;
    }
    let offset = offset
        .and_then(|o| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok())
        .map(|d| *d.offset())
        .or_else(|| FixedOffset::east_opt(crate::calendar::CHINA_OFFSET_SECS))?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Bytes fetched from the store per read while probing a recording.
const PROBE_READ: u64 = 256 * 1024;

/// A stored original read as a seekable file, range by range, from a blocking thread.
struct StoredSource {
    runtime: tokio::runtime::Handle,
    storage: Storage,
    sha256: String,
    len: u64,
    pos: u64,
    window_start: u64,
    window: Bytes,
}

impl Read for StoredSource {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.pos < self.window_start || self.pos >= window_end {
            let end = (self.pos + PROBE_READ).min(self.len);
            self.window = self
                .runtime
                .block_on(self.storage.read_range(&self.sha256, self.pos..end))
                .map_err(io::Error::other)?;
            self.window_start = self.pos;
        }
        let from = usize::try_from(self.pos - self.window_start).map_err(io::Error::other)?;
        let n = out.len().min(self.window.len() - from);
        out[..n].copy_from_slice(&self.window[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for StoredSource {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for StoredSource {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// The duration in milliseconds of the recording in `source`: the container's figure, else the
/// sum of its packets' durations. `None` for a format the prober does not know (AMR) or a file
/// it cannot read.
pub fn duration_ms(source: Box<dyn MediaSource>) -> Option<u64> {
    let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .ok()?;
    let track = format.default_track(TrackType::Audio)?;
    let (id, time_base) = (track.id, track.time_base?);
    let total = match track.duration {
        Some(d) => d.get(),
        None => {
            let mut sum = 0u64;
            while let Ok(Some(packet)) = format.next_packet() {
                if packet.track_id == id {
                    sum = sum.saturating_add(packet.dur.get());
                }
            }
            sum
        }
    };
    let millis = time_base
        .calc_duration(symphonia::core::units::Duration::new(total))?
        .as_millis();
    u64::try_from(millis).ok()
}

/// Probes the duration of the stored recording `sha256` of `len` bytes off the async threads.
pub async fn stored_duration_ms(state: &MediaState, sha256: &str, len: u64) -> Option<u64> {
    let _permit = state.heavy.acquire().await.ok()?;
    let source = StoredSource {
        runtime: tokio::runtime::Handle::current(),
        storage: state.storage.clone(),
        sha256: sha256.to_owned(),
        len,
        pos: 0,
        window_start: 0,
        window: Bytes::new(),
    };
    let probed = tokio::task::spawn_blocking(move || duration_ms(Box::new(source))).await;
    probed.unwrap_or_else(|e| {
        tracing::warn!(sha256, error = %e, "probing a recording's duration failed");
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_no_recording_have_no_duration() {
        assert_eq!(duration_ms(Box::new(Cursor::new(vec![7u8; 4096]))), None);
    }

    #[test]
    fn exif_local_time_is_china_time_unless_an_offset_is_given() {
        let china = local_time("2026:03:02 09:30:00", None);
        assert_eq!(
            china.map(|t| t.to_rfc3339()),
            Some("2026-03-02T01:30:00+00:00".into())
        );
        let utc = local_time("2026:03:02 09:30:00", Some("+00:00"));
        assert_eq!(
            utc.map(|t| t.to_rfc3339()),
            Some("2026-03-02T09:30:00+00:00".into())
        );
        assert_eq!(local_time("0000:00:00 00:00:00", None), None);
    }

    #[test]
    fn a_file_without_exif_says_nothing() {
        assert_eq!(exif(b"\xFF\xD8\xFF\xDB not really"), Origin::default());
    }
}
