//! How `fieldctl` draws a sync's progress, and what it tells the field worker is left to send.

use indicatif::{ProgressBar, ProgressStyle};
use mobile_shared::{Left, SyncEvent, SyncProgress};

/// Draws a sync's progress on standard error.
pub(crate) struct Bar {
    /// The bar itself.
    pub(crate) bar: ProgressBar,
    push_style: ProgressStyle,
    pull_style: ProgressStyle,
    upload_style: ProgressStyle,
}

impl Bar {
    /// A spinner, until a sync says what it is doing.
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            bar: ProgressBar::new_spinner(),
            push_style: ProgressStyle::with_template("push {bar:30} {pos}/{len} {msg}")?,
            pull_style: ProgressStyle::with_template("pull {spinner} {msg}")?,
            upload_style: ProgressStyle::with_template(
                "发送 {bar:30} {bytes}/{total_bytes} {msg}",
            )?,
        })
    }
}

impl SyncProgress for Bar {
    fn event(&mut self, event: SyncEvent) {
        match event {
            SyncEvent::Pushing { total } if total > 0 => {
                self.bar.set_style(self.push_style.clone());
                self.bar.set_length(total as u64);
            }
            SyncEvent::Pushing { .. } => {}
            SyncEvent::Pushed { done, total } => {
                self.bar.set_length(total as u64);
                self.bar.set_position(done as u64);
            }
            SyncEvent::Pulled { records, .. } => {
                self.bar.set_style(self.pull_style.clone());
                self.bar.set_message(format!("{records} records"));
                self.bar.tick();
            }
            SyncEvent::Preparing { file_name } => {
                self.bar.set_message(format!("正在压缩照片 {file_name}"));
                self.bar.tick();
            }
            SyncEvent::Uploading(p) => {
                self.bar.set_style(self.upload_style.clone());
                self.bar.set_length(p.total_size);
                self.bar.set_position(p.total_sent);
                let left = p.time_left.map_or(String::new(), |t| {
                    format!("，剩余约 {}", minutes_seconds(t))
                });
                self.bar.set_message(format!(
                    "文件 {}/{} {} {}/{}{left}",
                    p.file,
                    p.files,
                    p.file_name,
                    indicatif::HumanBytes(p.sent),
                    indicatif::HumanBytes(p.size),
                ));
            }
            SyncEvent::Retrying {
                delay,
                cause,
                error,
                ..
            } => {
                self.bar.set_message(format!(
                    "{}（{:.0} 秒后）[{}: {error}]",
                    cause.message_zh(),
                    delay.as_secs_f64().ceil(),
                    cause.code()
                ));
                self.bar.tick();
            }
            SyncEvent::Waiting { delay, left } => {
                self.bar.set_message(format!(
                    "连不上服务器，{:.0} 秒后再试；{}",
                    delay.as_secs_f64().ceil(),
                    describe_left(&left)
                ));
                self.bar.tick();
            }
        }
    }
}

/// `m:ss`.
fn minutes_seconds(t: std::time::Duration) -> String {
    let s = t.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

/// What is still on the phone to send, for the field worker.
pub(crate) fn describe_left(left: &Left) -> String {
    format!(
        "还有 {} 条记录、{} 个文件（{}）未发送，已保存在手机上，不会丢失",
        left.mutations,
        left.files,
        indicatif::HumanBytes(left.bytes)
    )
}
