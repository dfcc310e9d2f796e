//! The statistics of a period as the workbook a school or bureau files (统计表, R22): the counts
//! as they stood at the period's end, dropouts and the rate, by reason, grade and class, the
//! special groups apart, and the cases by status; in Chinese, under the same title rows as the
//! ledger. Small (aggregates only), so written in memory.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use sync_protocol::cases::{CaseStatus, ReasonCategory};
use sync_protocol::reports::Statistics;

use super::export::Heading;
use super::labels;

/// The columns a section's table uses at most.
const WIDTH: u16 = 4;

/// The statistics `stats` as an .xlsx workbook under `heading`.
pub fn workbook(stats: &Statistics, heading: &Heading) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("统计表")?;
    for (col, width) in [(0u16, 28.0), (1, 12.0), (2, 10.0), (3, 10.0)] {
        sheet.set_column_width(col, width)?;
    }
    let mut w = Writer {
        sheet,
        row: 0,
        bold: Format::new().set_bold().set_border(FormatBorder::Thin),
        cell: Format::new().set_border(FormatBorder::Thin),
    };
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    w.sheet
        .merge_range(0, 0, 0, WIDTH - 1, &heading.title, &title)?;
    w.sheet
        .merge_range(1, 0, 1, WIDTH - 1, &heading.subtitle, &Format::new())?;
    w.row = 3;
    w.section("一、总体情况（期末）", &["项目", "数量"])?;
    for (name, n) in [
        ("在籍学生数", stats.enrolled),
        ("期内在册案件数", stats.open_cases),
        ("其中：本期新增", stats.new_cases),
        ("期末辍学人数", stats.dropouts),
        ("本期复学人数", stats.returned),
        ("本期销号数", stats.closed),
    ] {
        w.line(&[name], &[n as f64])?;
    }
    w.line(&["辍学率（%）"], &[stats.dropout_rate_percent])?;
    w.section("二、辍学原因", &["原因", "人数"])?;
    for (reason, n) in &stats.by_reason {
        let name = reason
            .parse::<ReasonCategory>()
            .map_or("待核实", labels::reason);
        w.line(&[name], &[*n as f64])?;
    }
    w.section("三、分年级", &["年级", "人数"])?;
    for (grade, n) in &stats.by_grade {
        w.line(&[&format!("{grade}年级")], &[*n as f64])?;
    }
    w.section("四、分班级", &["学校", "年级", "班级", "人数"])?;
    for c in &stats.by_class {
        let grade = format!("{}年级", c.grade);
        w.line(&[&c.school, &grade, &c.class_name], &[c.dropouts as f64])?;
    }
    w.section("五、特殊群体（单列）", &["群体", "人数"])?;
    let g = &stats.special_groups;
    for (name, n) in [
        ("留守儿童", g.left_behind),
        ("孤儿", g.orphan),
        ("残疾", g.disabled),
        ("脱贫户", g.poor_household),
        ("随迁子女", g.migrant),
    ] {
        w.line(&[name], &[n as f64])?;
    }
    w.section("六、案件状态（期末）", &["状态", "件数"])?;
    for (status, n) in &stats.by_status {
        let name = status.parse::<CaseStatus>().map_or("", labels::status);
        w.line(&[name], &[*n as f64])?;
    }
    book.save_to_buffer()
}

/// Writes the sheet a row at a time.
struct Writer<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    bold: Format,
    cell: Format,
}

impl Writer<'_> {
    /// A section's title and its table's header, after a blank row.
    fn section(&mut self, title: &str, header: &[&str]) -> Result<(), XlsxError> {
        self.row += 1;
        self.sheet
            .write_string_with_format(self.row, 0, title, &Format::new().set_bold())?;
        self.row += 1;
        for (col, name) in (0u16..).zip(header) {
            self.sheet
                .write_string_with_format(self.row, col, *name, &self.bold)?;
        }
        self.row += 1;
        Ok(())
    }

    /// One line of a table: its text cells, then its numbers.
    fn line(&mut self, text: &[&str], numbers: &[f64]) -> Result<(), XlsxError> {
        let mut col = 0u16;
        for t in text {
            self.sheet
                .write_string_with_format(self.row, col, *t, &self.cell)?;
            col += 1;
        }
        for n in numbers {
            self.sheet
                .write_number_with_format(self.row, col, *n, &self.cell)?;
            col += 1;
        }
        self.row += 1;
        Ok(())
    }
}
