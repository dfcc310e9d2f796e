//! Streaming the ledger as CSV or .xlsx: a producer reads it a page of cases at a time, a writer
//! turns each page into bytes, and the bytes go out as they are made. Memory stays flat whatever
//! the size of the district: the .xlsx sheet is written in constant-memory mode (each row goes to
//! a temporary file as it is finished) and the finished file is sent through a small buffer.

use std::io::Write;

use axum::body::Body;
use bytes::Bytes;
use chrono::Datelike as _;
use rust_xlsxwriter::{
    ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};
use tokio::sync::mpsc;

use super::ledger::{COLUMNS, Cell, LedgerFilter, WIDTHS, case_page, rows};
use crate::db::Scope;
use crate::state::AppState;

/// The formats the ledger exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// UTF-8 CSV with a byte-order mark (so that Excel reads the Chinese right).
    Csv,
    /// An Excel workbook with one sheet, 台账, under its [`Heading`].
    Xlsx,
}

/// The two title rows above the workbook's header: what a bureau files needs to say whose
/// ledger it is, of which period, and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// E.g. "某某区控辍保学台账".
    pub title: String,
    /// E.g. "统计期间：2026-09-01 至 2026-09-30　生成时间：2026-10-08 09:30".
    pub subtitle: String,
}

impl ExportFormat {
    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

type Page = Result<Vec<Vec<Cell>>, String>;
type Chunk = Result<Bytes, std::io::Error>;

/// Bytes handed to the response in pieces of this size.
const CHUNK: usize = 64 * 1024;

/// The ledger for `filter` in `scope` as a streamed body of `format`, the workbook under
/// `heading` (the CSV has no title rows). A failure after the first
/// bytes ends the body with an error (the client sees a broken download), and is logged.
pub fn ledger_body(
    state: AppState,
    scope: Scope,
    filter: LedgerFilter,
    format: ExportFormat,
    heading: Heading,
) -> Body {
    let (pages_tx, pages_rx) = mpsc::channel::<Page>(2);
    let (bytes_tx, bytes_rx) = mpsc::channel::<Chunk>(4);
    tokio::spawn(produce(state, scope, filter, pages_tx));
    match format {
        ExportFormat::Csv => {
            tokio::spawn(write_csv(pages_rx, bytes_tx));
        }
        ExportFormat::Xlsx => {
            tokio::task::spawn_blocking(move || write_xlsx(&heading, pages_rx, bytes_tx));
        }
    }
    Body::from_stream(futures::stream::unfold(bytes_rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// Reads the ledger a page at a time into `pages`, stopping early if nobody listens.
async fn produce(state: AppState, scope: Scope, filter: LedgerFilter, pages: mpsc::Sender<Page>) {
    let db = &state.db.read;
    let (mut after, mut next) = (None, 1u32);
    loop {
        let page = async {
            let cases = case_page(db, scope, &filter, after).await?;
            let last = cases.last().map(|c| c.id);
            let full = cases.len() as u64 == super::ledger::PAGE;
            let rows = rows(&state, db, &filter, &cases, next).await?;
            Ok::<_, sea_orm::DbErr>((rows, last, full))
        }
        .await;
        match page {
            Ok((rows, last, full)) => {
                next += u32::try_from(rows.len()).unwrap_or(u32::MAX);
                after = last;
                if pages.send(Ok(rows)).await.is_err() || !full {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger export failed");
                let _ = pages.send(Err(e.to_string())).await;
                return;
            }
        }
    }
}

fn failed(reason: String) -> Chunk {
    Err(std::io::Error::other(format!(
        "the export failed: {reason}"
    )))
}

async fn write_csv(mut pages: mpsc::Receiver<Page>, out: mpsc::Sender<Chunk>) {
    let mut header = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    if header.write_record(COLUMNS).is_err() {
        return;
    }
    let Ok(bytes) = header.into_inner() else {
        return;
    };
    if out.send(Ok(Bytes::from(bytes))).await.is_err() {
        return;
    }
    while let Some(page) = pages.recv().await {
        let chunk = page.and_then(|rows| {
            let mut writer = csv::Writer::from_writer(Vec::with_capacity(CHUNK));
            for row in rows {
                writer
                    .write_record(row.iter().map(ToString::to_string))
                    .map_err(|e| e.to_string())?;
            }
            writer
                .into_inner()
                .map(Bytes::from)
                .map_err(|e| e.to_string())
        });
        let stop = chunk.is_err();
        if out.send(chunk.or_else(failed)).await.is_err() || stop {
            return;
        }
    }
}

/// The sheet's name, title rows, header, column widths and frozen panes.
fn write_heading(sheet: &mut Worksheet, heading: &Heading) -> Result<(), XlsxError> {
    sheet.set_name("台账")?;
    let last = u16::try_from(COLUMNS.len() - 1).unwrap_or(0);
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    sheet.merge_range(0, 0, 0, last, &heading.title, &title)?;
    sheet.merge_range(1, 0, 1, last, &heading.subtitle, &Format::new())?;
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7");
    for (col, (name, width)) in (0u16..).zip(COLUMNS.iter().zip(WIDTHS)) {
        sheet.set_column_width(col, width)?;
        sheet.write_string_with_format(HEADER_ROW, col, *name, &header)?;
    }
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    Ok(())
}

/// One cell: text, a count, or a real date (an empty cell for no date).
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: Cell,
    date: &Format,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(text) => sheet.write_string(row, col, text).map(|_| ()),
        Cell::Number(n) => sheet.write_number(row, col, f64::from(n)).map(|_| ()),
        Cell::Date(None) => Ok(()),
        Cell::Date(Some(day)) => {
            let (y, m, d) = (day.year(), day.month(), day.day());
            let excel = ExcelDateTime::from_ymd(
                u16::try_from(y).unwrap_or(1900),
                u8::try_from(m).unwrap_or(1),
                u8::try_from(d).unwrap_or(1),
            )?;
            sheet
                .write_date_with_format(row, col, &excel, date)
                .map(|_| ())
        }
    }
}

/// Sends what is written to it down `tx` in pieces of [`CHUNK`] bytes (from a blocking thread).
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The workbook's layout: two title rows, the header, then a row per case; the header stays in
/// view as one scrolls (frozen panes).
const HEADER_ROW: u32 = 2;

fn write_xlsx(heading: &Heading, mut pages: mpsc::Receiver<Page>, out: mpsc::Sender<Chunk>) {
    let result = (|| -> Result<(), String> {
        let mut workbook = Workbook::new();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(|e| e.to_string())?;
        write_heading(sheet, heading).map_err(|e| e.to_string())?;
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let mut row = HEADER_ROW;
        while let Some(page) = pages.blocking_recv() {
            for cells in page? {
                row += 1;
                for (col, cell) in (0u16..).zip(cells) {
                    write_cell(sheet, row, col, cell, &date).map_err(|e| e.to_string())?;
                }
            }
        }
        let mut writer = ChannelWriter {
            tx: out.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        workbook
            .save_to_writer(&mut writer)
            .map_err(|e| e.to_string())?;
        writer.flush().map_err(|e| e.to_string())
    })();
    if let Err(reason) = result {
        tracing::error!(%reason, "ledger export failed");
        let _ = out.blocking_send(failed(reason));
    }
}
